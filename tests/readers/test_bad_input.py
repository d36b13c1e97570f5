"""The README's "Bad input" table, row by row: each row is a case here, and each case a row.

Every input is made in tmp_path: most are binary, links, FIFOs or unreadable files, which a
repository does not carry well. A case returns its outcome written as in the table.
"""

from __future__ import annotations

import codecs
import gzip
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

import pytest
import zstandard
from helpers.collect import read_all

from corpuskit.errors import CorpuskitError

README = Path(__file__).resolve().parents[2] / "README.md"
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
CASES: dict[str, Callable[[Path], str]] = {}


def case(row: str):
    def register(fn):
        assert row not in CASES, row
        CASES[row] = fn
        return fn
    return register


def table_rows() -> dict[str, str]:
    """input -> outcome, from the first table of README's "## Bad input" section."""
    section = README.read_text(encoding="utf-8").split("\n## Bad input\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        if not line.startswith("| ") or line.startswith(("| input |", "|---")):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        assert cells[0] not in rows, f"two rows for {cells[0]}"
        rows[cells[0]] = cells[1]
    return rows


def outcome(docs, rejected) -> str:
    return summary(len(docs), [(doc.source, reason) for doc, reason, _ in rejected])


def summary(kept: int, rejects: list) -> str:
    parts = [f"kept {kept}"] if kept else []
    parts += [f"`{reason}` at `{where}`" for where, reason in rejects]
    return "; ".join(parts) or "nothing"


def read(folder: Path, **options) -> str:
    return outcome(*read_all(folder, **options))


def folder(tmp_path: Path, files: dict[str, bytes | str]) -> Path:
    inp = tmp_path / "in"
    inp.mkdir(exist_ok=True)
    for name, data in files.items():
        (inp / name).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return inp


def jsonl(*records) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def cut_after(compress, whole: bytes, tail: bytes) -> bytes:
    """`whole` compressed whole, then `tail` in a member or frame of its own cut in its middle:
    the cut lands in the line that `tail` starts, wherever the compressor puts its blocks."""
    last = compress(tail)
    return compress(whole) + last[: len(last) // 2]


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def zst(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


# --- bytes and encodings -------------------------------------------------------------

@case("`empty.txt`: an empty file")
def _(tmp_path):
    return read(folder(tmp_path, {"empty.txt": b""}))


@case("`bad.txt`: invalid UTF-8 on line 2, `encoding: utf-8`")
def _(tmp_path):
    return read(folder(tmp_path, {"bad.txt": b"line one\nline \xff two\n"}), encoding="utf-8")


@case("`latin1.txt`: Latin-1 text, `café` as the byte `e9`")
def _(tmp_path):
    inp = folder(tmp_path, {"latin1.txt": "café au lait\n".encode("latin-1")})
    docs, _ = read_all(inp)
    assert docs[0].text == "café au lait" and docs[0].metadata == {"decoded_as": "latin-1"}
    strict, _ = read_all(inp, encoding="utf-8", encoding_errors="replace")
    assert strict[0].text == "caf\ufffd au lait"
    return read(inp)


@case("`stray.txt`: UTF-8 text with two stray Latin-1 bytes `e9`")
def _(tmp_path):
    docs, rejected = read_all(folder(tmp_path, {"stray.txt": "“Café” — déjà vu, ".encode() + b"\xe9t\xe9\n"}))
    assert docs[0].text == "“Café” — déjà vu, \ufffdt\ufffd" and docs[0].metadata == {"replaced_chars": 2}
    return outcome(docs, rejected)


@case("`cp1252.txt`: Windows-1252 curly quotes, the bytes `93` and `94`")
def _(tmp_path):
    inp = folder(tmp_path, {"cp1252.txt": "“Well—I said,” she wrote.\n".encode("cp1252")})
    docs, _ = read_all(inp)
    assert docs[0].text == "“Well—I said,” she wrote." and docs[0].metadata == {"decoded_as": "cp1252"}
    return read(inp)


@case("`two.txt`: two Project Gutenberg books, one after the other")
def _(tmp_path):
    from helpers.samples import GUTENBERG_BOOK

    docs, rejected = read_all(folder(tmp_path, {"two.txt": GUTENBERG_BOOK * 2}), text_mode="file")
    assert [d.id for d in docs] == ["two.txt#0", "two.txt#1"] and docs[0].text == docs[1].text
    return outcome(docs, rejected)


@case("`more.txt`: a Gutenberg book, then 50,000 characters without markers")
def _(tmp_path):
    from helpers.samples import GUTENBERG_BOOK

    return read(folder(tmp_path, {"more.txt": GUTENBERG_BOOK + "A story of its own.\n\n" * 2500}), text_mode="file")


@case("`nul.txt`: NUL bytes in the first 8 KB")
def _(tmp_path):
    return read(folder(tmp_path, {"nul.txt": b"text\x00\x00\x00more\n"}))


@case("`log.txt`: a NUL byte after the first 8 KB")
def _(tmp_path):
    docs, rejected = read_all(folder(tmp_path, {"log.txt": b"a" * 9000 + b"\x00 end\n"}))
    assert "\x00" in docs[0].text
    return outcome(docs, rejected)


@case("`bom.txt`: a UTF-8 byte-order mark")
def _(tmp_path):
    docs, rejected = read_all(folder(tmp_path, {"bom.txt": codecs.BOM_UTF8 + b"hello\n"}))
    assert docs[0].text == "hello"
    return outcome(docs, rejected)


@case("`bom.jsonl`: a UTF-8 byte-order mark")
def _(tmp_path):
    return read(folder(tmp_path, {"bom.jsonl": codecs.BOM_UTF8 + jsonl({"text": "a"}, {"text": "b"}).encode()}))


@case("`bom.csv`: a UTF-8 byte-order mark")
def _(tmp_path):
    docs, rejected = read_all(folder(tmp_path, {"bom.csv": codecs.BOM_UTF8 + b"text,id\nhello,1\n"}))
    assert (docs[0].text, docs[0].id) == ("hello", "1")
    return outcome(docs, rejected)


@case("`crlf.txt`: CRLF line endings")
def _(tmp_path):
    docs, rejected = read_all(folder(tmp_path, {"crlf.txt": b"one\r\ntwo\rthree\r\n"}))
    assert docs[0].text == "one\ntwo\nthree"
    return outcome(docs, rejected)


@case("`crlf.csv`: CRLF line endings")
def _(tmp_path):
    docs, rejected = read_all(folder(tmp_path, {"crlf.csv": b'id,text\r\n1,"a\r\nb"\r\n2,c\r\n'}))
    assert [d.text for d in docs] == ["a\r\nb", "c"]
    return outcome(docs, rejected)


@case("`wide.txt`: UTF-16 with a byte-order mark")
def _(tmp_path):
    docs, rejected = read_all(folder(tmp_path, {"wide.txt": "naïve text\n".encode("utf-16")}))
    assert docs[0].text == "naïve text"
    return outcome(docs, rejected)


@case("`wide.jsonl`: UTF-16 JSON Lines")
def _(tmp_path):
    return read(folder(tmp_path, {"wide.jsonl": jsonl({"text": "a"}).encode("utf-16")}))


@case("`wide.csv`: UTF-16 CSV (as spreadsheets export it)")
def _(tmp_path):
    return read(folder(tmp_path, {"wide.csv": "text\nhello\n".encode("utf-16")}))


@case("`marks.txt`: control and zero-width characters (U+0007, U+200B, U+2060)")
def _(tmp_path):
    text = "bell\u0007 zero\u200bwidth word\u2060joiner"
    docs, rejected = read_all(folder(tmp_path, {"marks.txt": text + "\n"}))
    assert docs[0].text == text
    return outcome(docs, rejected)


# --- records ---------------------------------------------------------------------------

def _jsonl_second_line(tmp_path, line) -> str:
    return read(folder(tmp_path, {"d.jsonl": jsonl({"text": "good"}, line)}))


@case("`d.jsonl`: a line that is not JSON")
def _(tmp_path):
    return _jsonl_second_line(tmp_path, '{"text": "unterminated')


@case("`d.jsonl`: a line that is JSON but not an object (`[1, 2]`)")
def _(tmp_path):
    return _jsonl_second_line(tmp_path, "[1, 2]")


@case("`d.jsonl`: an object without the text field")
def _(tmp_path):
    return _jsonl_second_line(tmp_path, {"body": "elsewhere"})


@case("`d.jsonl`: a text that is a number")
def _(tmp_path):
    return _jsonl_second_line(tmp_path, {"text": 42})


@case("`d.jsonl`: a text that is `null`")
def _(tmp_path):
    docs, rejected = read_all(folder(tmp_path, {"d.jsonl": jsonl({"text": "good"}, {"text": None})}))
    assert "is null" in rejected[0][2]
    return outcome(docs, rejected)


@case("`d.jsonl`: invalid UTF-8 on line 2")
def _(tmp_path):
    data = b'{"text": "good"}\n{"text": "caf\xe9"}\n{"text": "also good"}\n'
    return read(folder(tmp_path, {"d.jsonl": data}))


@case("`d.jsonl`: a lone surrogate, the JSON escape `\\ud800`, in a text, an id or a key")
def _(tmp_path):
    line = '{"id": "x\\udc80", "text": "a \\ud800 b", "\\ud83d": "pair \\ud83d\\ude00"}'
    docs, rejected = read_all(folder(tmp_path, {"d.jsonl": jsonl({"text": "good"}, line)}))
    assert (docs[1].id, docs[1].text) == ("x\ufffd", "a \ufffd b")
    assert docs[1].metadata == {"\ufffd": "pair \U0001F600", "replaced_chars": 3}
    return outcome(docs, rejected)


@case("`d.jsonl`: a line nested 100,000 levels deep")
def _(tmp_path):
    return _jsonl_second_line(tmp_path, '{"text": "x", "a": ' + "[" * 100_000)


@case("`bad.csv`: invalid UTF-8 on line 4, ten rows")
def _(tmp_path):
    lines = [b"id,text"] + [b"%d,row %d" % (i, i) for i in range(1, 11)]
    lines[3] = b"3,row \xff 3"
    return read(folder(tmp_path, {"bad.csv": b"\n".join(lines) + b"\n"}))


@case("`bad.csv`: a quote opened on line 3 and never closed")
def _(tmp_path):
    return read(folder(tmp_path, {"bad.csv": 'id,text\n1,first\n2,"never closed\n3,third\n4,fourth\n'}))


@case("`bad.csv`: a row with more fields than the header")
def _(tmp_path):
    return read(folder(tmp_path, {"bad.csv": "id,text\n1,one\n2,two,extra\n3,three\n"}))


@case("`dup.csv`: the header `id,text,text`")
def _(tmp_path):
    return read(folder(tmp_path, {"dup.csv": "id,text,text\n1,one,two\n"}))


@case("`a.parquet`: a string that is not UTF-8 in its second row")
def _(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from helpers.samples import unchecked_strings

    column = unchecked_strings([b"one", b"t\x80wo", b"three"])
    inp = folder(tmp_path, {})
    pq.write_table(pa.table([column], names=["text"]), inp / "a.parquet")
    return read(inp)


@case("`deep.html`: 200,000 nested `<div>`s")
def _(tmp_path):
    pytest.importorskip("resiliparse")
    page = "<html><body>" + "<div>" * 200_000 + "text" + "</div>" * 200_000 + "</body></html>"
    return read(folder(tmp_path, {"deep.html": page}))


# --- archives --------------------------------------------------------------------------

def _cut_text(tmp_path, name, compress) -> str:
    text = " ".join(f"word{i}" for i in range(200_000))
    packed = compress(text.encode())
    docs, rejected = read_all(folder(tmp_path, {name: packed[: len(packed) // 2]}))
    assert rejected[0][0].text and text.startswith(rejected[0][0].text)
    return outcome(docs, rejected)


@case("`cut.txt.gz`: cut in the middle")
def _(tmp_path):
    return _cut_text(tmp_path, "cut.txt.gz", gz)


@case("`cut.txt.zst`: cut in the middle")
def _(tmp_path):
    return _cut_text(tmp_path, "cut.txt.zst", zst)


def _cut_records(tmp_path, name, compress, head: str, rows: list[str]) -> str:
    data = cut_after(compress, (head + "".join(rows[:3])).encode(), rows[3].encode())
    return read(folder(tmp_path, {name: data}))


@case("`cut.jsonl.gz`: cut in the 4th line")
def _(tmp_path):
    return _cut_records(tmp_path, "cut.jsonl.gz", gz, "", [jsonl({"text": f"doc {i}"}) for i in range(4)])


@case("`cut.jsonl.zst`: cut in the 4th line")
def _(tmp_path):
    return _cut_records(tmp_path, "cut.jsonl.zst", zst, "", [jsonl({"text": f"doc {i}"}) for i in range(4)])


@case("`cut.csv.zst`: cut in the 5th line")
def _(tmp_path):
    return _cut_records(tmp_path, "cut.csv.zst", zst, "id,text\n", [f"{i},doc {i}\n" for i in range(4)])


@case("`frames.jsonl.zst`: two zstd frames, one after the other")
def _(tmp_path):
    data = zst(jsonl({"text": "first"}).encode()) + zst(jsonl({"text": "second"}).encode())
    return read(folder(tmp_path, {"frames.jsonl.zst": data}))


@case("`flip.jsonl.gz`: one byte flipped in the middle")
def _(tmp_path):
    rows = jsonl(*({"text": f"document {i} " + " ".join(str(i * j) for j in range(50))} for i in range(3000)))
    packed = bytearray(gz(rows.encode()))
    packed[len(packed) // 2] ^= 0x10
    docs, rejected = read_all(folder(tmp_path, {"flip.jsonl.gz": bytes(packed)}))
    assert rejected[0][0].text.startswith(rows[:1000])
    return outcome(docs, rejected)


@case("`fake.txt.gz`: not gzip data")
def _(tmp_path):
    return read(folder(tmp_path, {"fake.txt.gz": b"just text with a .gz name\n"}))


# --- size ------------------------------------------------------------------------------

LINE_BYTES = 50_000_000
_MEASURE = """
import json, os, resource, sys
# Linux keeps ru_maxrss across exec: this process starts with the peak of the one it replaced
# (pytest's). A forked child counts afresh, so the child reads, and measures.
r, w = os.pipe()
if os.fork():
    os.close(w)
    with os.fdopen(r) as fh:
        sys.stdout.write(fh.read())
    sys.exit(os.wait()[1])
os.close(r)
from helpers.collect import read_all
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
docs, rejected = read_all(sys.argv[1])
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KiB on Linux
with os.fdopen(w, "w") as fh:
    json.dump({"docs": [len(d.text) for d in docs], "rejected": [[d.source, r] for d, r, _ in rejected],
               "grown_mb": grown / 1024, "before_mb": before / 1024}, fh)
os._exit(0)
"""


def _long_line(tmp_path, name: str, data: bytes, max_factor: float) -> str:
    """Read in a fresh process, so that its peak memory is the reading's own."""
    inp = folder(tmp_path, {name: data})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(README.parent / "tests"), *sys.path])}
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(inp)], capture_output=True, text=True, env=env,
                          check=True, timeout=120)
    got = json.loads(proc.stdout)
    print(f"{name}: peak memory {got['before_mb']:.0f} MB before reading, {got['grown_mb']:.0f} MB more "
          f"for a {len(data) / 1e6:.0f} MB line")
    assert got["grown_mb"] < max_factor * len(data) / 2**20
    assert got["docs"] == [LINE_BYTES]
    return summary(len(got["docs"]), got["rejected"])


@case("`long.txt`: a 50 MB single line")
def _(tmp_path):
    return _long_line(tmp_path, "long.txt", b"x" * LINE_BYTES, max_factor=3)


@case("`long.jsonl`: a 50 MB single line")
def _(tmp_path):
    return _long_line(tmp_path, "long.jsonl", b'{"text": "' + b"x" * LINE_BYTES + b'"}\n', max_factor=4)


# --- what the system refuses, and where a file lies --------------------------------------

@case("`secret.txt`: no read permission")
def _(tmp_path):
    if AS_ROOT:
        pytest.skip("runs as root, which reads files whatever their permissions")
    inp = folder(tmp_path, {"secret.txt": "private\n"})
    (inp / "secret.txt").chmod(0)
    try:
        return read(inp)
    finally:
        (inp / "secret.txt").chmod(0o600)


@case("`locked/`: a folder without read permission")
def _(tmp_path):
    if AS_ROOT:
        pytest.skip("runs as root, which lists folders whatever their permissions")
    inp = folder(tmp_path, {"ok.txt": "fine\n"})
    (inp / "locked").mkdir()
    (inp / "locked" / "inside.txt").write_text("hidden\n")
    (inp / "locked").chmod(0)
    try:
        docs, rejected = read_all(inp, glob="**/*.txt")
    finally:
        (inp / "locked").chmod(0o700)
    assert [d.text for d in docs] == ["fine"]
    return outcome([], rejected)


@case("`pipe.txt`: a named pipe (FIFO)")
def _(tmp_path):
    inp = folder(tmp_path, {})
    os.mkfifo(inp / "pipe.txt")
    stop = threading.Event()

    def unblock():  # should a reader open the FIFO after all, give it an end of file instead of a hang
        while not stop.wait(0.05):
            try:
                os.close(os.open(inp / "pipe.txt", os.O_WRONLY | os.O_NONBLOCK))
                return
            except OSError:
                pass

    helper = threading.Thread(target=unblock, daemon=True)
    helper.start()
    try:
        return read(inp)
    finally:
        stop.set()
        helper.join()


def _linked(tmp_path, name: str, target: str, outside: bool = False, ok: bool = False) -> str:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "secret.txt").write_text("not ours\n")
    inp = folder(tmp_path, {"ok.txt": "fine\n"} if ok else {})
    (inp / name).symlink_to(target)
    docs, rejected = read_all(inp)
    assert "not ours" not in [d.text for d in docs]
    return outcome(docs, rejected)


@case("`loop.txt`: a symbolic link to itself")
def _(tmp_path):
    return _linked(tmp_path, "loop.txt", "loop.txt")


@case("`secret.txt`: a symbolic link to a file outside the input folder")
def _(tmp_path):
    return _linked(tmp_path, "secret.txt", "../out/secret.txt")


@case("`elsewhere/`: a symbolic link to a folder outside the input folder")
def _(tmp_path):
    return _linked(tmp_path, "elsewhere", "../out")


@case("`again.txt`: a symbolic link to a file inside the input folder")
def _(tmp_path):
    return _linked(tmp_path, "again.txt", "ok.txt", ok=True)


@case("`gone.txt`: a dangling symbolic link")
def _(tmp_path):
    return _linked(tmp_path, "gone.txt", "nowhere.txt")


@case("`image.bmp`: an unknown file type")
def _(tmp_path):
    return read(folder(tmp_path, {"image.bmp": b"BM\x00\x00"}))


# --- input that cannot be read as asked ---------------------------------------------------

def _error(fn) -> str:
    try:
        fn()
    except CorpuskitError as err:
        assert "\n" not in str(err)
        return f"error: {err}"
    return "no error"


@case('`glob: "/etc/*"`')
def _(tmp_path):
    return _error(lambda: read_all(folder(tmp_path, {"ok.txt": "fine\n"}), glob="/etc/*"))


@case('`glob: "../other/*"`')
def _(tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "secret.txt").write_text("not ours\n")
    return _error(lambda: read_all(folder(tmp_path, {"ok.txt": "fine\n"}), glob="../other/*"))


@case("`input: hf:corpuskit-test/absent`, offline")
def _(tmp_path):
    """In a fresh process, so that the hub libraries see the offline switch when they are imported."""
    code = ("from helpers.collect import read_all\nfrom corpuskit.errors import CorpuskitError\n"
            "try:\n    read_all('hf:corpuskit-test/absent')\nexcept CorpuskitError as err:\n    print(err)\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(README.parent / "tests"), *sys.path])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout + proc.stderr
    return f"error: {lines[0]}"


# --- the table -------------------------------------------------------------------------

ROWS = table_rows()


@pytest.mark.parametrize("row", sorted(set(ROWS) | set(CASES)))
def test_bad_input_behaves_as_the_readme_says(tmp_path, row):
    assert row in ROWS, f"a case without a row in README.md's Bad input table: {row}"
    assert row in CASES, f"a README.md Bad input row without a case here: {row}"
    expected, got = ROWS[row], CASES[row](tmp_path)
    if expected.endswith("…"):
        assert got.startswith(expected[:-1].rstrip()), (expected, got)
    else:
        assert got == expected
