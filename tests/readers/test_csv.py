"""CSV: a bad row is quarantined alone, with its line number, and the rows after it are read."""

import codecs

import pytest
from helpers.collect import read_all


def _csv(tmp_path, lines: list[bytes], name: str = "bad.csv"):
    (tmp_path / name).write_bytes(b"".join(line + b"\n" for line in lines))
    docs, rejected = read_all(tmp_path)
    return docs, [(doc.source, reason) for doc, reason, _ in rejected], rejected


def test_invalid_utf8_rejects_only_its_row(tmp_path):
    lines = [b"id,text"] + [b"%d,row number %d" % (i, i) for i in range(1, 11)]
    lines[3] = b"3,row \xff number 3"  # line 4 of the file
    docs, reasons, rejected = _csv(tmp_path, lines)
    assert [d.id for d in docs] == ["1", "2", "4", "5", "6", "7", "8", "9", "10"]
    assert reasons == [("bad.csv:4", "invalid_utf8")]
    assert "row \ufffd number 3" in rejected[0][0].text and "bad.csv:4" in rejected[0][2]


def test_unclosed_quote_rejects_its_row_and_reading_resumes_on_the_next_line(tmp_path):
    docs, reasons, rejected = _csv(tmp_path, [b"id,text", b"1,first", b'2,"never closed', b"3,third", b"4,fourth"])
    assert [(d.id, d.text) for d in docs] == [("1", "first"), ("3", "third"), ("4", "fourth")]
    assert reasons == [("bad.csv:3", "malformed_csv")]
    assert rejected[0][0].text.startswith('2,"never closed')


def test_a_stray_quote_closed_rows_later_does_not_swallow_them(tmp_path):
    lines = [b"id,text", b"1,first", b'2,"opens here', b"3,third", b'4,"fourth"', b"5,fifth"]
    docs, reasons, _ = _csv(tmp_path, lines)
    assert [(d.id, d.text) for d in docs] == [("1", "first"), ("3", "third"), ("4", "fourth"), ("5", "fifth")]
    assert reasons == [("bad.csv:3", "malformed_csv")]


def test_quoted_newlines_within_the_limit_are_one_row(tmp_path):
    (tmp_path / "d.csv").write_text('id,text\n1,"a\nb\nc"\n2,"d\ne\nf\ng"\n3,h\n')
    docs, rejected = read_all(tmp_path, csv_max_record_lines=3)
    assert [(d.id, d.text) for d in docs] == [("1", "a\nb\nc"), ("3", "h")]
    # Row 2 runs over 4 lines, past the limit: it is rejected where it starts, and reading resumes
    # on its second line, whose pieces are then rows of one field each, without a text.
    assert [(r[0].source, r[1]) for r in rejected] == [
        ("d.csv:5", "malformed_csv"), ("d.csv:6", "missing_field"), ("d.csv:7", "missing_field"),
        ("d.csv:8", "missing_field"),
    ]
    assert "still open after 3 lines" in rejected[0][2]
    assert docs[0].source == "d.csv:2"  # where the row starts


def test_row_with_more_fields_than_the_header_is_rejected(tmp_path):
    docs, reasons, rejected = _csv(tmp_path, [b"id,text", b"1,one", b"2,two,extra", b"3,three"])
    assert [d.id for d in docs] == ["1", "3"]
    assert reasons == [("bad.csv:3", "malformed_csv")]
    assert "3 fields" in rejected[0][2]


def test_bom_and_crlf(tmp_path):
    (tmp_path / "d.csv").write_bytes(codecs.BOM_UTF8 + b'id,text\r\n1,"a\r\nb"\r\n2,c\r\n')
    docs, rejected = read_all(tmp_path)
    assert rejected == [] and [(d.id, d.text) for d in docs] == [("1", "a\r\nb"), ("2", "c")]


def test_utf16_csv_is_rejected_as_utf16_not_as_broken_rows(tmp_path):
    (tmp_path / "d.csv").write_bytes("id,text\n1,one\n".encode("utf-16"))
    docs, rejected = read_all(tmp_path)
    assert docs == [] and [(r[0].source, r[1]) for r in rejected] == [("d.csv", "utf16")]


def test_a_header_that_names_a_column_twice_rejects_the_file_naming_the_column(tmp_path):
    docs, reasons, rejected = _csv(tmp_path, [b"id,text,text", b"1,first,second"], name="dup.csv")
    assert docs == [] and reasons == [("dup.csv:1", "malformed_csv")]
    assert rejected[0][2] == "dup.csv:1: header names the column 'text' more than once; rename one and read the file again"


def test_unnamed_columns_keep_their_one_value_and_two_values_reject_the_row(tmp_path):
    docs, reasons, _ = _csv(tmp_path, [b"id,text,,", b"1,first,x,", b"2,second,,y", b"3,third,x,y"])
    assert [(d.id, d.metadata) for d in docs] == [("1", {"": "x"}), ("2", {"": "y"})]
    assert reasons == [("bad.csv:4", "malformed_csv")]


@pytest.mark.parametrize("delimiter", ["ab", "", '"', "\n"])
def test_a_delimiter_that_is_not_one_plain_character_is_refused_when_the_pipeline_loads(tmp_path, delimiter):
    from corpuskit.pipeline import PipelineError, parse_pipeline

    with pytest.raises(PipelineError, match="reader: csv_delimiter must be one character"):
        parse_pipeline({"input": str(tmp_path), "reader": {"csv_delimiter": delimiter}, "stages": []})
