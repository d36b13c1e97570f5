import gzip

import pytest
import zstandard
from helpers.collect import read_all

from corpuskit.readers import paragraph_groups, strip_gutenberg
from helpers.samples import GUTENBERG_BOOK


def test_gutenberg_header_and_footer_are_stripped_with_bom_and_crlf(tmp_path):
    p = tmp_path / "book.txt"
    p.write_bytes(GUTENBERG_BOOK.encode("utf-8"))
    docs, rejected = read_all(p, text_mode="file")
    assert rejected == []
    [doc] = docs
    assert doc.text.startswith("Chapter 1\n\nIt was a bright cold day")
    assert doc.text.endswith("the world looked cold.")
    assert "\r" not in doc.text and "\ufeff" not in doc.text
    assert "Gutenberg" not in doc.text
    assert doc.id == "book.txt#0" and doc.source == "book.txt"


def test_strip_gutenberg_returns_none_without_markers():
    assert strip_gutenberg("just some text\n") is None


def test_gutenberg_on_rejects_a_file_without_markers(tmp_path):
    (tmp_path / "plain.txt").write_text("no markers here\n")
    docs, rejected = read_all(tmp_path, gutenberg="on")
    assert docs == []
    assert [r[1] for r in rejected] == ["gutenberg_markers_missing"]


def test_paragraph_groups_respect_target_and_never_split_a_paragraph():
    paras = ["a" * 30, "b" * 30, "c" * 30, "d" * 100]
    groups = list(paragraph_groups("\n\n".join(paras), target_chars=70))
    assert groups == [paras[0] + "\n\n" + paras[1], paras[2], paras[3]]


def test_paragraph_mode_gives_stable_position_ids(tmp_path):
    (tmp_path / "t.txt").write_text("one one one\n\n\n\ntwo two two\n   \nthree three\n")
    docs, _ = read_all(tmp_path, target_chars=5)
    assert [(d.id, d.text) for d in docs] == [
        ("t.txt#0", "one one one"), ("t.txt#1", "two two two"), ("t.txt#2", "three three"),
    ]


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_compressed_text_reads_like_plain(tmp_path, suffix):
    data = GUTENBERG_BOOK.encode("utf-8")
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "book.txt").write_bytes(data)
    packed = gzip.compress(data) if suffix == ".gz" else zstandard.ZstdCompressor().compress(data)
    (tmp_path / "packed").mkdir()
    (tmp_path / "packed" / f"book.txt{suffix}").write_bytes(packed)
    plain, _ = read_all(tmp_path / "plain")
    packed_docs, rejected = read_all(tmp_path / "packed")
    assert rejected == []
    assert [d.text for d in packed_docs] == [d.text for d in plain]
    assert packed_docs[0].id == f"book.txt{suffix}#0"


def test_binary_file_is_quarantined_and_the_rest_is_read(tmp_path):
    (tmp_path / "a.txt").write_text("good text here\n")
    (tmp_path / "b.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    docs, rejected = read_all(tmp_path)
    assert [d.text for d in docs] == ["good text here"]
    [(doc, reason, detail)] = rejected
    assert reason == "binary_file" and doc.source == "b.txt" and "b.txt" in detail


def test_invalid_utf8_quarantines_the_file_naming_the_line(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"line one\nline two \xff\xfe here\n")
    docs, rejected = read_all(tmp_path, encoding="utf-8")
    assert docs == []
    [(doc, reason, detail)] = rejected
    assert reason == "invalid_utf8"
    assert doc.source == "bad.txt:2" and "bad.txt:2" in detail
    assert "line one" in doc.text  # the content is kept in the rejected record


def test_invalid_utf8_replace_keeps_the_text(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9 au lait\n")
    docs, rejected = read_all(tmp_path, encoding="utf-8", encoding_errors="replace")
    assert rejected == []
    assert docs[0].text == "caf\ufffd au lait"


def test_truncated_gzip_is_reported_not_lost(tmp_path):
    packed = gzip.compress(("word " * 20000).encode())
    (tmp_path / "cut.txt.gz").write_bytes(packed[: len(packed) // 2])
    (tmp_path / "ok.txt").write_text("fine\n")
    docs, rejected = read_all(tmp_path)
    assert [d.text for d in docs] == ["fine"]
    assert [(r[0].source, r[1]) for r in rejected] == [("cut.txt.gz", "truncated_archive")]


def test_unknown_format_is_recorded(tmp_path):
    (tmp_path / "image.bmp").write_bytes(b"BM....")
    (tmp_path / "ok.txt").write_text("fine\n")
    docs, rejected = read_all(tmp_path)
    assert [d.text for d in docs] == ["fine"]
    assert [r[1] for r in rejected] == ["unsupported_format"]


def test_embedded_corpus_reads_every_book_without_rejects(repo):
    docs, rejected = read_all(repo / "corpus", glob="*.txt.gz")
    assert rejected == []
    sources = {d.source for d in docs}
    assert len(sources) == 19
    assert not any("START OF THIS PROJECT GUTENBERG" in d.text.upper() for d in docs)
    assert not any("Project Gutenberg-tm" in d.text for d in docs)  # the licence footer
    assert not any("End of the Project Gutenberg" in d.text for d in docs)
    assert len({d.id for d in docs}) == len(docs)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_a_bom_are_decoded(tmp_path, codec):
    bom = {"utf-16": b"", "utf-16-be": b"\xfe\xff", "utf-32": b""}[codec]
    (tmp_path / "wide.txt").write_bytes(bom + "café\r\nau lait\n".encode(codec))
    docs, rejected = read_all(tmp_path)
    assert rejected == [] and [d.text for d in docs] == ["café\nau lait"]


def test_utf16_that_does_not_decode_is_quarantined_as_utf16(tmp_path):
    (tmp_path / "wide.txt").write_bytes("ok".encode("utf-16") + b"\x00\xd8")  # a lone high surrogate
    docs, rejected = read_all(tmp_path)
    assert docs == [] and [(r[0].source, r[1]) for r in rejected] == [("wide.txt", "invalid_utf16")]


def test_empty_and_blank_files_are_recorded(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_text("\n  \n\t\n")
    docs, rejected = read_all(tmp_path)
    assert docs == []
    assert [(r[0].source, r[1]) for r in rejected] == [("blank.txt", "empty_file"), ("empty.txt", "empty_file")]


def test_nul_after_the_first_8_kb_is_text(tmp_path):
    (tmp_path / "log.txt").write_bytes(b"x" * 9000 + b"\x00\x00 end\n")
    docs, rejected = read_all(tmp_path, text_mode="file")
    assert rejected == [] and docs[0].text == "x" * 9000 + "\x00\x00 end\n"


def test_text_that_is_not_utf8_falls_back_to_a_stated_single_byte_encoding(tmp_path):
    from corpuskit.readers.text import single_byte_codec

    (tmp_path / "old-8.txt").write_bytes("Caf\u00e9 na\u00efve\r\n\r\nSecond para\u00adgraph.".encode("latin-1"))
    docs, rejected = read_all(tmp_path, target_chars=10)
    assert rejected == [] and [d.text for d in docs] == ["Caf\u00e9 na\u00efve", "Second para\u00adgraph."]
    assert all(d.metadata == {"decoded_as": "latin-1"} for d in docs)
    assert single_byte_codec("\u201cquoted\u201d \u20ac5".encode("cp1252")) == "cp1252"
    assert single_byte_codec(b"\x81 undefined in cp1252 \x93") == "latin-1"
    assert single_byte_codec("plain caf\u00e9".encode("latin-1")) == "latin-1"


def test_the_fallback_is_counted_in_the_read_stats(tmp_path):
    import json

    from corpuskit.pipeline import parse_pipeline
    from corpuskit.runner import run_pipeline

    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "a.txt").write_bytes("d\u00e9j\u00e0 vu\n\nencore".encode("latin-1"))
    (inp / "b.txt").write_text("plain UTF-8 text\n", encoding="utf-8")
    out = tmp_path / "out"
    run_pipeline(parse_pipeline({"input": str(inp), "output": str(out), "stages": [],
                                 "reader": {"target_chars": 5}}), workers=1, quiet=True)
    read = json.loads((out / "stats.json").read_text())["stages"]["read"]
    assert read["decoded_as_latin-1"] == 2 and read["docs_out"] == 3


def test_two_gutenberg_books_in_one_file_are_both_read(tmp_path, repo):
    # as `cat pg11.txt pg12.txt`: the first book's licence and the second's header stand between them
    books = [gzip.decompress((repo / "corpus" / name).read_bytes())
             for name in ("pg11-alice-in-wonderland.txt.gz", "pg12-through-the-looking-glass.txt.gz")]
    (tmp_path / "two.txt").write_bytes(b"".join(books))
    docs, rejected = read_all(tmp_path, text_mode="file")
    assert rejected == []
    assert [d.id for d in docs] == ["two.txt#0", "two.txt#1"]
    assert docs[0].text.startswith("ALICE\u2019S ADVENTURES") and docs[1].text.startswith("THROUGH THE LOOKING-GLASS")
    assert docs[1].text.endswith("Life, what is it but a dream?\n\n\n              THE END")
    assert len(docs[1].text) > 150_000
    assert not any("Project Gutenberg" in d.text for d in docs)
    paragraphs, _ = read_all(tmp_path)
    assert paragraphs[0].text.startswith("ALICE") and paragraphs[-1].text.endswith("a dream?\n\n              THE END")


def test_text_outside_the_markers_that_is_not_a_licence_is_rejected_not_dropped(tmp_path):
    extra = "An appended story that has no markers of its own.\n\n" * 1000  # 50,000 characters, and the licence
    (tmp_path / "book.txt").write_text(GUTENBERG_BOOK + extra)
    docs, rejected = read_all(tmp_path, text_mode="file")
    assert [d.text for d in docs] == [strip_gutenberg(GUTENBERG_BOOK.replace("\r\n", "\n").lstrip("\ufeff"))]
    [(doc, reason, detail)] = rejected
    assert (reason, doc.source) == ("gutenberg_outside_text", "book.txt:18")
    assert detail == ("book.txt:18: 51,070 characters outside the START/END markers, more than a Gutenberg header "
                      "or licence: not read as a book")
    assert doc.text.endswith(extra.strip("\n")) and "Section 1. General Terms" in doc.text


def test_a_start_without_an_end_before_the_next_book_is_rejected_not_dropped(tmp_path):
    body = "A chapter of a book whose end marker was lost.\n\n" * 1000
    first = GUTENBERG_BOOK.split("End of the Project")[0].replace("A TEST BOOK", "A LOST BOOK") + body
    (tmp_path / "book.txt").write_text(first + GUTENBERG_BOOK)
    docs, rejected = read_all(tmp_path, text_mode="file")
    assert [d.text.split("\n")[0] for d in docs] == ["Chapter 1"]
    assert [r[1] for r in rejected] == ["gutenberg_outside_text"] and body.strip() in rejected[0][0].text


def test_utf8_with_one_stray_byte_stays_utf8_and_the_byte_is_counted(tmp_path):
    text = "\u201cCaf\u00e9\u201d d\u00e9j\u00e0 vu \u2014 na\u00efve.\n\nSecond paragraph, then a stray byte: "
    (tmp_path / "a.txt").write_bytes(text.encode("utf-8") + b"\xe9 here.\n")
    docs, rejected = read_all(tmp_path)
    assert rejected == []
    assert [d.text for d in docs] == [text.split("\n\n")[0] + "\n\n" + text.split("\n\n")[1] + "\ufffd here."]
    assert docs[0].metadata == {"replaced_chars": 1}
    # Latin-1 text that happens to hold one valid UTF-8 pair is still Latin-1.
    (tmp_path / "a.txt").write_bytes("Caf\u00e9 na\u00efve d\u00e9j\u00e0 \u00c3\u00a9".encode("latin-1"))
    docs, _ = read_all(tmp_path)
    assert docs[0].text == "Caf\u00e9 na\u00efve d\u00e9j\u00e0 \u00c3\u00a9" and docs[0].metadata == {"decoded_as": "latin-1"}


def test_replaced_bytes_are_counted_in_the_read_stats(tmp_path):
    import json

    from corpuskit.pipeline import parse_pipeline
    from corpuskit.runner import run_pipeline

    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "a.txt").write_bytes("d\u00e9j\u00e0 vu \u2014 ".encode("utf-8") + b"\xff\xfe stray\n")
    out = tmp_path / "out"
    run_pipeline(parse_pipeline({"input": str(inp), "output": str(out), "stages": []}), workers=1, quiet=True)
    read = json.loads((out / "stats.json").read_text())["stages"]["read"]
    assert read["replaced_chars"] == 2 and "decoded_as_cp1252" not in read and "decoded_as_latin-1" not in read
