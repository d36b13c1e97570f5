"""The HTML reader's main-text extraction: one page per signal, the extractor choice, metadata, bad pages."""

import importlib.util
from io import BytesIO

import pytest

from helpers.collect import read_all as _read_all

pytest.importorskip("resiliparse")
from corpuskit.readers import ReaderConfig  # noqa: E402
from corpuskit.readers import html as html_reader  # noqa: E402
from corpuskit.readers.extract import classify, root  # noqa: E402
from corpuskit.readers.html import MissingExtra, extract_page  # noqa: E402

S1 = "The harbour reopened on Tuesday after the storm, and the first boats came in with the tide before noon."
S2 = "Fishermen said the damage to the pier was less than feared, though two of the cranes will need repairs."
S3 = "The council expects the last road into the town to open again by the end of the week, weather allowing."
S4 = "Insurance assessors arrived on Wednesday morning and began with the warehouses closest to the water."
STORY = f"<h1>The storm has passed</h1><p>{S1}</p><p>{S2}</p><p>{S3}</p><p>{S4}</p>"


def page(body: str, head: str = "") -> bytes:
    return f"<html><head>{head}</head><body>{body}</body></html>".encode()


def text(body: str, **kw) -> str:
    return extract_page(page(body), **kw).text


def write_warc(path, records):
    """`records`: (url, content type, body) of 200 responses."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        for url, ctype, body in records:
            http = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=BytesIO(body), http_headers=http))
    return path


def read_all(path, **options):
    docs, rejected = _read_all(path, **options)
    return docs, [(reason, doc.source, detail) for doc, reason, detail in rejected]


# ---- one page per signal: each test fails when its signal is switched off (checked by hand, see docs/HTML.md)

def test_a_navigation_block_before_the_title_is_left_out():
    # no <nav> tag, no telling class: only its link density says it is navigation
    nav = "<div><a href='/'>Home page</a></div><div><a href='/world'>World news today</a></div>"
    out = text(nav + STORY)
    assert out.startswith("The storm has passed\n\n" + S1) and "Home page" not in out and "World news" not in out


def test_a_comment_section_is_left_out():
    comments = ("<div class='comments'><h3>3 Comments</h3>"
                "<p>I was there too and the boats were fine, thanks to the crew working through the night.</p>"
                "<p>Great reporting as always, the photos of the pier after the storm were really something.</p></div>")
    out = text(STORY + comments)
    assert S4 in out and "crew working" not in out and "Great reporting" not in out and "Comments" not in out


def test_a_related_list_of_teasers_after_the_article_is_left_out():
    # teasers read like text (long, few links): what sets them apart is their small run of text
    # after a strip of boilerplate, beside the article's long one
    share = "".join(f"<div><a href='/s{i}'>{w}</a></div>" for i, w in enumerate(["Share", "Tweet", "Email", "Print"]))
    teaser = ("<div><a href='/t'>Ferries</a><p>Ferry services to the islands resume after a week of delays "
              "caused by high winds and damaged moorings in the bay.</p></div>")
    out = text(STORY + STORY.replace("<h1>", "<h2>").replace("</h1>", "</h2>") + share + teaser)
    assert S4 in out and "Ferry services" not in out and "Tweet" not in out


def test_a_table_inside_the_article_is_kept_as_text():
    table = ("<table><tr><th>Port</th><th>Boats back</th></tr><tr><td>Kinsale</td><td>12</td></tr>"
             "<tr><td>Cobh</td><td>7</td></tr></table>")
    out = text(f"<h1>The storm has passed</h1><p>{S1}</p><p>{S2}</p>{table}<p>{S3}</p><p>{S4}</p>")
    assert f"{S2}\n\nPort Boats back\n\nKinsale 12\n\nCobh 7\n\n{S3}" in out


def test_the_article_element_is_taken_over_a_long_sidebar():
    sidebar = ("<div><p>Our newsletter brings you the best of the week's stories from the coast, every Friday "
               "morning, with photographs from readers and a weather outlook for the weekend ahead.</p>"
               "<p>Sign-ups are free and you can leave at any time from the link at the foot of each letter, "
               "no questions asked, and we never share your address with anyone else.</p></div>")
    out = text(f"{sidebar}<article>{STORY}</article>")
    assert out.startswith("The storm has passed") and S4 in out and "newsletter" not in out


def test_a_body_class_name_is_taken_over_a_long_sidebar():
    # no `<article>`: the class name the content system gives the article's body singles it out
    sidebar = ("<div><p>Our newsletter brings you the best of the week's stories from the coast, every Friday "
               "morning, with photographs from readers and a weather outlook for the weekend ahead.</p>"
               "<p>Sign-ups are free and you can leave at any time from the link at the foot of each letter, "
               "no questions asked, and we never share your address with anyone else.</p></div>")
    out = text(f"<div class='post entry-content clearfix'>{STORY}</div>{sidebar}")
    assert out.startswith("The storm has passed") and out.endswith(S4) and "newsletter" not in out


def test_a_listing_of_article_teasers_is_not_taken_for_one_article():
    from resiliparse.parse.html import HTMLTree

    teasers = "".join(f"<article><h2>Story {i}</h2><p>{S1} {S2} {S3} {S4}</p></article>" for i in range(4))
    assert root.article_root(HTMLTree.parse(page(teasers).decode())) is None
    story = page(f"<article>{STORY}</article><aside>{S1}</aside>").decode()
    assert root.article_root(HTMLTree.parse(story)) is not None


def test_paragraph_breaks_headings_and_list_items_are_kept():
    # resiliparse alone drops a <ul> (corpuskit renames it <ol> first: html._UL)
    out = text(f"<h1>The storm has passed</h1><p>{S1}</p><h2>What broke</h2><ul><li>The pier</li>"
               f"<li>Two cranes</li></ul><p>{S2}</p><p>{S3}</p>")
    assert out == f"The storm has passed\n\n{S1}\n\nWhat broke\n\n- The pier\n\n- Two cranes\n\n{S2}\n\n{S3}"


def test_a_url_shown_as_text_is_not_taken_for_a_paragraph_without_spaces():
    # a block of one long "word" is article text in Chinese or Japanese, not when it is a path
    cards = "".join(f"<div><p>/luggage/carry-on/spinner-{i}/78255XXXX.html?dwvar_78255XXXX_color=7</p>"
                    f"<p>Now $174.99, discount of 30%</p></div>" for i in range(6))
    assert text(cards) == ""
    cjk = "港口在暴风雨过后于星期二重新开放，第一批渔船在中午之前随着潮水驶入港口，渔民们说码头的损坏没有预想的那么严重。"
    assert text(f"<h1>港口重新开放</h1><p>{cjk}</p>") == f"港口重新开放\n\n{cjk}"


def test_an_article_the_main_content_rules_hide_is_found_in_all_the_text():
    # resiliparse's class-name rules drop `hidden-xs` (Bootstrap: hidden on phones only), which
    # leaves a rendering with no article text: then all the text is rendered and classified
    out = text(f"<div><p>Welcome to the site</p></div><div class='hidden-xs'>{STORY}</div>")
    assert f"The storm has passed\n\n{S1}\n\n{S2}" in out and out.endswith(S4)


def test_a_page_inside_a_noscript_left_open_is_read():
    # the `</noscript>` closes nothing while the `<div>` is open: the whole page ends up inside it
    assert text(f"<noscript><div id='nojs'></noscript>{STORY}").startswith("The storm has passed\n\n" + S1)


def test_the_block_rules_are_what_the_signal_tests_rely_on(monkeypatch):
    # the navigation test's page, with link density switched off, keeps the menu: that test can fail
    monkeypatch.setattr(classify, "MAX_LINK_DENSITY", 1.0)
    nav = "<div><a href='/'>Home page</a></div><div><a href='/world'>World news today</a></div>"
    assert "Home page" in text(nav + STORY)



def test_blocks_keep_link_text_line_breaks_and_preformatted_text_apart():
    # resiliparse's minimal HTML as blocks.py reads it: link characters per block, a line break
    # ends a block, an `<a>` left open ends with its block, a named anchor is not a link
    from corpuskit.readers.extract.blocks import blocks

    rendered = ('<h2><a href="/x">The storm</a></h2>\n\n<p>Some <a href="/a">linked words</a> here<br>\n'
                'second &amp; last line</p>\n\n<li>open <a href="/b">teaser never closed</li>\n\n'
                '<p><a href="">anchor</a> not a link</p>\n\n<pre>a &lt;b&gt;\n  c</pre>\n\n<p>plain</p>')
    assert [(b.text, b.kind, b.link_chars) for b in blocks(rendered)] == [
        ("The storm", "h", 9), ("Some linked words here", "p", 12), ("second & last line", "p", 0),
        ("open teaser never closed", "li", 19), ("anchor not a link", "p", 0), ("a <b>\n  c", "pre", 0),
        ("plain", "p", 0)]


# ---- the extractor choice

def test_the_extractor_is_the_readers_choice_and_recorded(tmp_path):
    (tmp_path / "in").mkdir()
    nav = "<div><a href='/'>Home page</a></div><div><a href='/world'>World news today</a></div>"
    (tmp_path / "in" / "a.html").write_bytes(page(nav + STORY))
    [ours], _ = read_all(tmp_path / "in")
    [theirs], _ = read_all(tmp_path / "in", html_extractor="resiliparse")
    assert ours.metadata["extractor"] == "corpuskit" and theirs.metadata["extractor"] == "resiliparse"
    assert "Home page" not in ours.text and "Home page" in theirs.text  # resiliparse alone keeps this menu
    assert S4 in ours.text and S4 in theirs.text


def test_an_unknown_extractor_is_refused_when_the_pipeline_loads(tmp_path):
    from corpuskit.pipeline import PipelineError, parse_pipeline

    with pytest.raises(PipelineError, match="html_extractor must be one of corpuskit, resiliparse, trafilatura"):
        parse_pipeline({"input": str(tmp_path), "reader": {"html_extractor": "readability"}, "stages": []})


def test_trafilatura_missing_is_a_clear_error_at_load(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "trafilatura" else real(name, *a))
    with pytest.raises(MissingExtra, match=r"pip install 'corpuskit\[trafilatura\]'"):
        ReaderConfig(html_extractor="trafilatura")


def test_trafilatura_extracts_when_installed(tmp_path):
    pytest.importorskip("trafilatura")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.html").write_bytes(page(f"<article>{STORY}</article>"))
    [doc], _ = read_all(tmp_path / "in", html_extractor="trafilatura")
    assert doc.metadata["extractor"] == "trafilatura" and S1 in doc.text and S4 in doc.text


# ---- metadata

HEAD = ('<title>Storm | Coast News</title><link rel="canonical" href="https://news.example/storm">'
        '<meta property="article:published_time" content="2024-03-05T10:00:00Z">')


def test_an_html_file_gives_url_title_date_language_and_extractor(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.html").write_bytes(page(STORY, HEAD).replace(b"<html>", b'<html lang="en-GB">'))
    (tmp_path / "in" / "b.html").write_bytes(page(STORY))
    a, b = read_all(tmp_path / "in")[0]
    assert a.metadata == {"format": "html", "url": "https://news.example/storm", "title": "Storm | Coast News",
                          "date": "2024-03-05T10:00:00Z", "lang": "en-GB", "extractor": "corpuskit"}
    assert b.metadata == {"format": "html", "url": None, "title": None, "date": None, "lang": None,
                          "extractor": "corpuskit"}


def test_a_date_that_is_not_a_date_is_left_out():
    head = '<meta property="article:published_time" content="3 hours ago">'
    assert extract_page(page(STORY + "<time datetime='2023-11-02'>Nov 2</time>", head)).metadata["date"] == "2023-11-02"


def test_a_warc_page_keeps_the_record_url_and_the_canonical_one_beside_it(tmp_path):
    pytest.importorskip("warcio")
    warc = write_warc(tmp_path / "a.warc.gz", [("http://news.example/storm?utm=x", "text/html", page(STORY, HEAD))])
    [doc], _ = read_all(warc)
    m = doc.metadata
    assert (m["url"], m["canonical_url"], m["title"], m["date"], m["extractor"]) == (
        "http://news.example/storm?utm=x", "https://news.example/storm", "Storm | Coast News",
        "2024-03-05T10:00:00Z", "corpuskit")


# ---- bad pages: text or a reason, never a crash

def test_a_wrong_declared_charset_does_not_garble_utf8(tmp_path):
    pytest.importorskip("warcio")
    body = page(f"<p>{S1} Caf\u00e9 cr\u00e8me.</p><p>{S2}</p>").decode().encode("utf-8")
    warc = write_warc(tmp_path / "a.warc.gz", [("http://x.example/", "text/html; charset=iso-8859-1", body)])
    [doc], _ = read_all(warc)
    assert "Caf\u00e9 cr\u00e8me." in doc.text  # iso-8859-1 would read "CafÃ©"


def test_a_utf8_page_declaring_a_legacy_charset_in_a_meta_tag_is_read_as_utf8():
    body = page(f"<p>{S1} \u4e2d\u6587.</p><p>{S2}</p>", '<meta charset="gb2312">').decode().encode("utf-8")
    assert "\u4e2d\u6587." in extract_page(body).text


@pytest.mark.parametrize("head", ['<meta charset="windows-1252">', ""])
def test_a_legacy_page_without_a_header_charset_is_detected(head):
    body = page(f"<p>{S1} Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, na\u00efve fa\u00e7ade.</p><p>{S2}</p>", head)
    legacy = body.decode().encode("cp1252")
    assert "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, na\u00efve fa\u00e7ade." in extract_page(legacy).text



def test_a_list_in_a_legacy_charset_page_is_kept():
    # not UTF-8: the `<ul>` is renamed on the decoded text, not on the bytes
    body = page(f"<h1>The storm has passed</h1><p>{S1} Caf\u00e9.</p><ul><li>The pier</li><li>Two cranes</li></ul>"
                f"<p>{S2}</p>").decode().encode("cp1252")
    assert "- The pier\n\n- Two cranes" in extract_page(body, charset="windows-1252").text


def test_the_bytes_of_a_ul_tag_inside_iso_2022_jp_text_are_left_alone():
    # in ISO-2022-JP the characters 受貍 are the bytes `<ul>`: renaming them on the bytes would garble them
    jp = "嵐が過ぎた後、火曜日に港が再び開かれ、最初の漁船が正午前に潮に乗って戻ってきた。漁師たちは桟橋の被害は思ったより小さかったと話した。受貍"
    body = page(f"<p>{jp}</p>").decode().encode("iso2022_jp")
    assert b"<ul>" in body
    assert extract_page(body, charset="iso-2022-jp").text == jp


@pytest.mark.parametrize("divs", [30, 100])
def test_the_depth_check_is_exact_on_both_sides_of_its_quick_first_step(divs):
    # html > body > divs: a page `divs + 2` deep, checked below and above the SHALLOW pre-check
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse("<div>" * divs + "x")
    assert not html_reader.deeper_than(tree, divs + 2) and html_reader.deeper_than(tree, divs + 1)
    assert not html_reader.deeper_than(tree, 1000)


def test_a_huge_page_is_rejected_before_it_is_parsed(tmp_path):
    (tmp_path / "in").mkdir()
    filler = b"<p>" + S1.encode() + b"</p>"
    (tmp_path / "in" / "huge.html").write_bytes(filler * (html_reader.MAX_PAGE_BYTES // len(filler) + 1))
    (tmp_path / "in" / "ok.html").write_bytes(page(STORY))
    docs, rejects = read_all(tmp_path / "in")
    assert [d.id for d in docs] == ["ok.html#0"]
    [(reason, source, detail)] = rejects
    assert (reason, source) == ("html_too_large", "huge.html") and "16,777,216" in detail


def test_a_huge_page_in_a_warc_is_rejected_and_the_next_one_read(tmp_path, monkeypatch):
    pytest.importorskip("warcio")
    monkeypatch.setattr(html_reader, "MAX_PAGE_BYTES", 1000)
    warc = write_warc(tmp_path / "a.warc.gz", [("http://x.example/big", "text/html", page(STORY * 5)),
                                               ("http://x.example/ok", "text/html", page("<p>" + S1 + "</p>"))])
    docs, rejects = read_all(warc)
    assert [d.metadata["url"] for d in docs] == ["http://x.example/ok"]
    assert [r[0] for r in rejects] == ["html_too_large"] and rejects[0][1].endswith(" http://x.example/big")


@pytest.mark.parametrize("body", [
    "<ul>" + "".join(f"<li><a href='/{i}'>Section {i}</a></li>" for i in range(30)) + "</ul>",  # only links
    "<div><button>Accept cookies</button></div><script>render()</script>",  # rendered by a script
    "",
])
def test_a_page_with_no_main_content_is_rejected_as_no_text(tmp_path, body):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "p.html").write_bytes(page(body))
    docs, rejects = read_all(tmp_path / "in")
    assert docs == [] and [r[0] for r in rejects] == ["no_text"]


def test_bytes_that_are_not_html_do_not_crash(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "p.html").write_bytes(bytes(range(256)) * 50)
    docs, rejects = read_all(tmp_path / "in")
    assert len(docs) + len(rejects) == 1
