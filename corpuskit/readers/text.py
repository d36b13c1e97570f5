"""Plain-text files and Project Gutenberg books.

Line endings are normalized to LF and a UTF-8 byte-order mark is removed; a file that
starts with a UTF-16 or UTF-32 byte-order mark is decoded as such. A file that is UTF-8
but for a few stray bytes is read as UTF-8, those bytes as U+FFFD (counted: `replaced_chars`);
one that is not UTF-8 at all falls back to a single-byte encoding (`single_byte_codec`).

Gutenberg books lose everything outside the `*** START OF` / `*** END OF` markers (header
and licence footer). A file may hold several books, one after another: each body between
a START and its END is read. Text outside the bodies that is more than a header or a
licence is rejected as `gutenberg_outside_text`, never dropped unseen.

In "paragraphs" mode a file (each book of it) is cut at blank lines into groups of whole
paragraphs of about `target_chars`; no paragraph is ever split.
"""

from __future__ import annotations

import re
from typing import Iterator

from corpuskit.document import Document
from corpuskit.readers.base import (
    READ_STAGE, REPLACED, ReaderConfig, RejectFn, Source, read_whole, replace_surrogates, wide_codec,
)

_START = re.compile(r"^\*\*\*\s*START OF (THE|THIS) PROJECT GUTENBERG EBOOK.*$", re.MULTILINE | re.IGNORECASE)
_END = re.compile(r"^\*\*\*\s*END OF (THE|THIS) PROJECT GUTENBERG EBOOK.*$", re.MULTILINE | re.IGNORECASE)
# Many books end their body with a paragraph "End of the Project Gutenberg EBook of ..."
# (sometimes wrapped over two lines) just before the END marker.
_END_LINE = re.compile(r"(?:^|\n)[ \t]*End of (the )?Project Gutenberg[^\n]*(?:\n[^\n]+)*\s*$", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)*")


# Text outside the bodies that is boilerplate: a few lines, or at most this much text that
# names Project Gutenberg. A header is ~500 characters (an old "small print" one ~12,000), the
# licence ~18,700; between two books stand a licence and a header.
_TRIVIAL_CHARS = 1_000
_BOILERPLATE_CHARS = 40_000


def gutenberg_parts(text: str) -> tuple[list[str], list[tuple[int, str]]] | None:
    """The book bodies between START and END markers, in order, and the stretches of text
    outside them with their offsets; None when no START is followed by an END.

    A START while a body is open starts the body again: the text before it had no END, so
    it is outside (and, being a book, more than boilerplate).
    """
    marks = sorted([(m.start(), m.end(), True) for m in _START.finditer(text)]
                   + [(m.start(), m.end(), False) for m in _END.finditer(text)])
    bodies: list[str] = []
    outside: list[tuple[int, str]] = []
    begin: int | None = None  # where the open body starts
    last = 0  # where the text outside the bodies resumes
    for start, end, is_start in marks:
        if is_start:
            outside.append((last, text[last:start]))
            begin = last = end
        elif begin is not None:
            bodies.append(_trim_body(text[begin:start]))
            begin, last = None, end
    if not bodies:
        return None
    outside.append((last, text[last:]))
    return bodies, [(offset, stretch) for offset, stretch in outside if stretch.strip()]


def _trim_body(body: str) -> str:
    # Only the tail can hold the closing line: scanning a whole book for it costs ~10 ms.
    cut = body.rfind("\n", 0, max(0, len(body) - 1000)) + 1  # a line start, or 0
    return (body[:cut] + _END_LINE.sub("", body[cut:])).strip("\n")


def is_boilerplate(stretch: str) -> bool:
    """Whether text outside the bodies is no more than a Gutenberg header or licence."""
    size = len(stretch.strip())
    return size <= _TRIVIAL_CHARS or (size <= _BOILERPLATE_CHARS and "gutenberg" in stretch.lower())


def strip_gutenberg(text: str) -> str | None:
    """The book bodies between the PG markers (several books: blank-line separated), or None without markers."""
    parts = gutenberg_parts(text)
    return None if parts is None else "\n\n".join(parts[0])


def paragraph_groups(text: str, target_chars: int) -> Iterator[str]:
    """Group blank-line separated paragraphs into chunks of about `target_chars`."""
    group: list[str] = []
    size = 0
    for para in _BLANK_LINES.split(text):
        para = para.strip("\n")
        if not para.strip():
            continue
        if group and size + len(para) + 2 > target_chars:
            yield "\n\n".join(group)
            group, size = [], 0
        group.append(para)
        size += len(para) + 2
    if group:
        yield "\n\n".join(group)


def _first_bad_line(data: bytes, err: UnicodeDecodeError) -> int:
    return data.count(b"\n", 0, err.start) + 1


_HIGH_BYTES = bytes(range(0x80, 0x100))
_STRAY = re.compile("[\udc80-\udcff]")  # a byte that `surrogateescape` could not decode


def mostly_utf8(data: bytes, text: str) -> bool:
    """Whether bytes that are not valid UTF-8 are strays in UTF-8 text, not a single-byte encoding.

    `text` is `data` decoded with `surrogateescape`: each byte that is not part of a valid
    sequence is a surrogate there. Latin-1 or cp1252 text is almost never valid UTF-8 by
    chance, so bytes in valid multi-byte sequences outnumbering the strays mean UTF-8.
    """
    stray = sum(1 for _ in _STRAY.finditer(text))
    in_sequences = len(data) - len(data.translate(None, _HIGH_BYTES)) - stray
    return in_sequences > stray


# cp1252 leaves these five bytes undefined; a file using them is not cp1252.
_CP1252_UNDEFINED = re.compile(b"[\x81\x8d\x8f\x90\x9d]")
_C1_BYTES = re.compile(b"[\x80-\x9f]")


def single_byte_codec(data: bytes) -> str:
    """The fallback for a text file that is not UTF-8 (`encoding: auto`).

    ISO-8859-1 maps every byte, so it never fails; but its bytes 0x80-0x9F are C1 control
    characters, which real text does not contain. Windows-1252 puts the curly quotes,
    dashes, the euro sign and a few letters there. So: bytes in 0x80-0x9F, all of them
    defined in cp1252 -> cp1252; otherwise ISO-8859-1 (what old Project Gutenberg `-8.txt`
    files are). Other single-byte encodings (cp1251, MacRoman, ...) cannot be told apart
    reliably from the bytes alone: they decode as Latin-1 letters, and the `repair` stage
    (ftfy) is where such text is fixed.
    """
    if _C1_BYTES.search(data) and not _CP1252_UNDEFINED.search(data):
        return "cp1252"
    return "latin-1"


def _decode(data: bytes, src: Source, cfg: ReaderConfig, reject: RejectFn) -> tuple[str | None, str | None]:
    """The file's text and the fallback codec it was decoded with (None for UTF-8);
    text None when the file was rejected."""
    whole_id = f"{src.rel}#0"
    codec = wide_codec(data[:4])
    if codec:  # checked before NUL bytes: UTF-16 text is full of them
        try:
            return data.decode(codec), None
        except UnicodeDecodeError as err:
            reject(Document(text=data.decode(codec, errors="replace"), id=whole_id, source=src.rel), "invalid_utf16",
                   READ_STAGE, detail=f"{src.rel}: invalid {codec.upper()} at byte {err.start}")
            return None, None
    # Like git and grep, only the start decides: a stray NUL later on is a character of a text file.
    if b"\x00" in data[:8192]:
        reject(Document(text="", id=whole_id, source=src.rel), "binary_file", READ_STAGE,
               detail=f"{src.rel}: NUL bytes in the first 8 KB, not a text file")
        return None, None
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as err:
        # Bad bytes become surrogates here and U+FFFD in each document, which counts them.
        replace = cfg.encoding == "utf-8" and cfg.encoding_errors == "replace"
        if cfg.encoding == "auto" or replace:
            text = data.decode("utf-8-sig", errors="surrogateescape")
            if replace or mostly_utf8(data, text):
                return text, None
            del text
        if cfg.encoding == "auto":
            codec = single_byte_codec(data)
            return data.decode(codec), codec
        line = _first_bad_line(data, err)
        reject(Document(text=data.decode("utf-8", errors="replace"), id=whole_id, source=f"{src.rel}:{line}"),
               "invalid_utf8", READ_STAGE, detail=f"{src.rel}:{line}: invalid UTF-8 at byte {err.start}")
        return None, None


def read_text(src: Source, cfg: ReaderConfig, reject: RejectFn) -> Iterator[Document]:
    whole_id = f"{src.rel}#0"
    data = read_whole(src, whole_id, reject)
    if data is None:
        return
    text, codec = _decode(data, src, cfg, reject)
    if text is None:
        return
    meta = {"decoded_as": codec} if codec else {}  # counted by the runner; stays on the document
    del data  # a large file: do not hold its bytes and its text at once

    def document(text: str, doc_id: str, source: str = src.rel) -> Document:
        text, replaced = replace_surrogates(text)  # the stray bytes of a file that is otherwise UTF-8
        metadata = {**meta, REPLACED: replaced} if replaced else {**meta}
        return Document(text=text, id=doc_id, source=source, metadata=metadata)

    text = text.replace("\r\n", "\n").replace("\r", "\n")
    books = [text]
    if cfg.gutenberg != "off":
        parts = gutenberg_parts(text)
        if parts is not None:
            books, outside = parts
            for offset, stretch in outside:
                if not is_boilerplate(stretch):
                    first = offset + len(stretch) - len(stretch.lstrip())  # its first line that is not blank
                    line = text.count("\n", 0, first) + 1
                    where = f"{src.rel}:{line}"
                    reject(document(stretch.strip("\n"), where, where), "gutenberg_outside_text", READ_STAGE,
                           detail=f"{where}: {len(stretch.strip()):,} characters outside the START/END markers, "
                                  "more than a Gutenberg header or licence: not read as a book")
        elif cfg.gutenberg == "on":
            reject(document(text, whole_id), "gutenberg_markers_missing", READ_STAGE)
            return
    del text
    if cfg.text_mode == "file":  # one document per book
        for i, book in enumerate(b for b in books if b.strip()):
            yield document(book, f"{src.rel}#{i}")
        return
    chunks = (chunk for book in books for chunk in paragraph_groups(book, cfg.target_chars))
    for i, chunk in enumerate(chunks):
        yield document(chunk, f"{src.rel}#{i}")
