"""WARC, WET and HTML inputs, built here with warcio as a crawler would write them."""

import gzip
from io import BytesIO

import pytest
from click.testing import CliRunner

from helpers.collect import read_all as _read_all

warcio = pytest.importorskip("warcio")
pytest.importorskip("resiliparse")
from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402

ARTICLE = ("<html><head><title>News</title></head><body><nav><a href='/'>Home page link</a> "
           "<a href='/about'>About this site</a></nav><article><h1>{title}</h1><p>{body}</p></article>"
           "<footer>Copyright notice for every page</footer></body></html>")
SENTENCE = "The harbour reopened on Tuesday after the storm, and the first boats came in with the tide."


def read_all(path):
    """(documents, rejects as dicts: reason, detail, source)."""
    docs, rejected = _read_all(path)
    return docs, [{"reason": reason, "detail": detail, "source": doc.source} for doc, reason, detail in rejected]


def page(i: int) -> bytes:
    return ARTICLE.format(title=f"Story {i}", body=f"{SENTENCE} Story number {i}, café.").encode()


def write_warc(path, records, gz=True):
    """`records`: (url, status, content type, body) responses, each preceded by its request record."""
    buf = BytesIO()
    w = WARCWriter(buf, gzip=gz)
    w.write_record(w.create_warcinfo_record(path.name, {"software": "corpuskit-test"}))
    for url, status, ctype, body in records:
        req = StatusAndHeaders("GET / HTTP/1.1", [("Host", "example.com")], is_http_request=True)
        w.write_record(w.create_warc_record(url, "request", http_headers=req))
        http = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record(url, "response", payload=BytesIO(body), http_headers=http))
    path.write_bytes(buf.getvalue())
    return path


def write_wet(path, texts):
    buf = BytesIO()
    w = WARCWriter(buf, gzip=True)
    for url, text in texts:
        w.write_record(w.create_warc_record(url, "conversion", payload=BytesIO(text.encode()),
                                            warc_content_type="text/plain"))
    path.write_bytes(buf.getvalue())
    return path


@pytest.fixture()
def warc(tmp_path):
    return write_warc(tmp_path / "crawl.warc.gz", [
        ("http://example.com/a", "200 OK", "text/html; charset=utf-8", page(1)),
        ("http://example.com/logo.png", "200 OK", "image/png", b"\x89PNG\r\n\x1a\n..."),
        ("http://example.com/old", "301 Moved Permanently", "text/html", b"<a href='/new'>moved</a>"),
        ("http://example.com/empty", "200 OK", "text/html", b"<html><body><script>go()</script></body></html>"),
        ("http://example.com/b", "200 OK", "application/xhtml+xml", page(2)),
    ])


def test_html_responses_become_documents_with_url_and_record_id(warc):
    docs, rejects = read_all(warc)
    assert [d.metadata["url"] for d in docs] == ["http://example.com/a", "http://example.com/b"]
    a = docs[0]
    assert SENTENCE in a.text and "café" in a.text
    assert "Home page link" not in a.text and "Copyright notice" not in a.text  # boilerplate left out
    assert a.id.startswith("urn:uuid:") and a.metadata["warc_record_id"] == a.id
    assert a.metadata["content_type"] == "text/html" and a.metadata["warc_date"]
    assert {r["reason"] for r in rejects} == {"not_html", "http_status", "no_text"}
    why = {r["reason"]: r["detail"] for r in rejects}
    assert "image/png" in why["not_html"] and "301" in why["http_status"] and "logo.png" in why["not_html"]


def test_a_truncated_warc_keeps_the_records_before_the_cut(tmp_path, warc):
    data = warc.read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: int(len(data) * 0.9)])
    docs, rejects = read_all(cut)
    assert [d.metadata["url"] for d in docs] == ["http://example.com/a"]
    assert rejects[-1]["reason"] == "truncated_archive" and "cut" in rejects[-1]["detail"]


def test_an_uncompressed_truncated_warc_is_noticed_too(tmp_path):
    full = write_warc(tmp_path / "plain.warc", [(f"http://example.com/{i}", "200 OK", "text/html", page(i))
                                                for i in range(3)], gz=False)
    data = full.read_bytes()
    assert [d.metadata["url"] for d in read_all(full)[0]] == [f"http://example.com/{i}" for i in range(3)]
    full.write_bytes(data[:-200])
    docs, rejects = read_all(full)
    assert len(docs) == 2 and [r["reason"] for r in rejects] == ["truncated_archive"]


def test_garbage_is_a_corrupt_archive(tmp_path):
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(gzip.compress(b"this is not a WARC record at all\r\n\r\n"))
    docs, rejects = read_all(bad)
    assert docs == [] and [r["reason"] for r in rejects] == ["truncated_archive"]


def test_wet_conversion_records_are_read_as_text(tmp_path):
    wet = write_wet(tmp_path / "CC-MAIN-0001.warc.wet.gz", [("http://example.com/x", "Plain text of a page.\nSecond line."),
                                                            ("http://example.com/y", "   ")])
    docs, rejects = read_all(wet)
    assert [(d.text, d.metadata["url"]) for d in docs] == [("Plain text of a page.\nSecond line.", "http://example.com/x")]
    assert [r["reason"] for r in rejects] == ["no_text"]


def test_html_files_are_read_for_their_main_text(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "story.html").write_bytes(page(7))
    (tmp_path / "in" / "blank.htm").write_bytes(b"<html><body><nav><a>x</a></nav></body></html>")
    docs, rejects = read_all(tmp_path / "in")
    assert len(docs) == 1 and SENTENCE in docs[0].text and docs[0].id == "story.html#0"
    assert [(r["reason"], r["source"]) for r in rejects] == [("no_text", "blank.htm")]


def test_corpuskit_clean_reads_a_warc_like_any_input(tmp_path, warc):
    from corpuskit.cli import cli

    result = CliRunner().invoke(cli, ["clean", str(warc), str(tmp_path / "out"), "-w", "1", "-q", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    import json

    kept = [json.loads(line) for f in (tmp_path / "out").glob("part-*.jsonl") for line in f.open()]
    assert [d["metadata"]["url"] for d in kept] == ["http://example.com/a", "http://example.com/b"]
    assert all(SENTENCE in d["text"] for d in kept)
    rejected = [json.loads(line) for f in (tmp_path / "out" / "rejected").glob("*.jsonl") for line in f.open()]
    assert {"not_html", "http_status", "no_text"} <= {r["reason"] for r in rejected}


def _nested(depth: int) -> bytes:
    return ("<html><body>" + "<div>" * depth + f"<p>{SENTENCE}</p>" + "</div>" * depth + "</body></html>").encode()


def test_a_page_nested_too_deep_is_rejected_before_extraction(tmp_path):
    import time

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "deep.html").write_bytes(_nested(200_000))  # extraction did not end in 300 s
    (tmp_path / "in" / "fine.html").write_bytes(_nested(900))
    t0 = time.perf_counter()
    docs, rejects = read_all(tmp_path / "in")
    assert time.perf_counter() - t0 < 60  # a guard against a hang, not a benchmark: ~0.1 s
    assert [(d.id, d.text) for d in docs] == [("fine.html#0", SENTENCE)]
    assert rejects == [{"reason": "html_too_deep", "source": "deep.html",
                        "detail": "deep.html: elements nested more than 1,000 deep (html_max_depth); not extracted"}]


def test_a_deep_page_in_a_warc_is_rejected_and_the_next_one_read(tmp_path):
    warc = write_warc(tmp_path / "deep.warc.gz", [
        ("http://example.com/deep", "200 OK", "text/html", _nested(50_000)),
        ("http://example.com/a", "200 OK", "text/html", page(1)),
    ])
    docs, rejects = read_all(warc)
    assert [d.metadata["url"] for d in docs] == ["http://example.com/a"]
    [reject] = rejects
    assert reject["reason"] == "html_too_deep" and reject["source"].endswith(" http://example.com/deep")


def test_nesting_depth_counts_as_the_parser_builds_the_tree():
    from corpuskit.readers.html import nesting_depth

    # unclosed <p> and <li> end at the next one; an end tag closes what was left open inside it
    assert nesting_depth(b"<div><div><p>x<p>y<ul><li>z<li>w</ul></div></div>" * 600, 10) == 3
    assert nesting_depth(b"<html><body>" + b"<div><span>" * 400 + b"</div>" * 400, 1000) == 802
    # tags inside a script or a comment-like string are not elements
    assert nesting_depth(b"<script>" + b"'<div>'" * 5000 + b"</script><div></div>", 1000) == 1
    assert nesting_depth(b"<br/><img src=x><hr>" * 2000, 1000) == 0


def test_a_charset_that_decodes_to_a_lone_surrogate_gives_a_replacement_character(tmp_path):
    body = b"<html><body><article><p>" + SENTENCE.encode() + b" +2AA- end.</p></article></body></html>"
    warc = write_warc(tmp_path / "u7.warc.gz", [("http://example.com/u7", "200 OK", "text/html; charset=utf-7", body)])
    docs, rejects = read_all(warc)
    assert rejects == [] and docs[0].text == f"{SENTENCE} \ufffd end."


def test_html_max_depth_is_checked_when_the_pipeline_loads(tmp_path):
    from corpuskit.pipeline import PipelineError, parse_pipeline

    with pytest.raises(PipelineError, match="reader: html_max_depth must be positive"):
        parse_pipeline({"input": str(tmp_path), "reader": {"html_max_depth": 0}, "stages": []})


@pytest.mark.parametrize("charset", ["idna", "punycode", "undefined"])
def test_a_charset_that_cannot_decode_a_page_falls_back_to_detection(tmp_path, charset):
    warc = write_warc(tmp_path / "cs.warc.gz", [
        ("http://example.com/cs", "200 OK", f"text/html; charset={charset}", page(3)),
        ("http://example.com/a", "200 OK", "text/html", page(1)),
    ])
    docs, rejects = read_all(warc)
    assert rejects == [] and [d.metadata["url"] for d in docs] == ["http://example.com/cs", "http://example.com/a"]
    assert "café" in docs[0].text
