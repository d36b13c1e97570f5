"""Plain-text files and Project Gutenberg books.

Line endings are normalized to LF and a UTF-8 byte-order mark is removed; a file that
starts with a UTF-16 or UTF-32 byte-order mark is decoded as such. Gutenberg
books lose everything outside the `*** START OF` / `*** END OF` markers (header and
licence footer). In "paragraphs" mode a file is cut at blank lines into groups of
whole paragraphs of about `target_chars`; no paragraph is ever split.
"""

from __future__ import annotations

import re
from typing import Iterator

from corpuskit.document import Document
from corpuskit.readers.base import READ_STAGE, ReaderConfig, RejectFn, Source, read_whole, wide_codec

_START = re.compile(r"^\*\*\*\s*START OF (THE|THIS) PROJECT GUTENBERG EBOOK.*$", re.MULTILINE | re.IGNORECASE)
_END = re.compile(r"^\*\*\*\s*END OF (THE|THIS) PROJECT GUTENBERG EBOOK.*$", re.MULTILINE | re.IGNORECASE)
# Many books end their body with a paragraph "End of the Project Gutenberg EBook of ..."
# (sometimes wrapped over two lines) just before the END marker.
_END_LINE = re.compile(r"(?:^|\n)[ \t]*End of (the )?Project Gutenberg[^\n]*(?:\n[^\n]+)*\s*$", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)*")


def strip_gutenberg(text: str) -> str | None:
    """The book body between the PG markers, or None when the markers are not both there."""
    start, end = _START.search(text), _END.search(text)
    if not start or not end or end.start() < start.end():
        return None
    body = text[start.end() : end.start()]
    # Only the tail can hold the closing line: scanning a whole book for it costs ~10 ms.
    cut = body.rfind("\n", 0, max(0, len(body) - 1000)) + 1  # a line start, or 0
    return (body[:cut] + _END_LINE.sub("", body[cut:])).strip("\n")


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
        if cfg.encoding == "auto":
            codec = single_byte_codec(data)
            return data.decode(codec), codec
        if cfg.encoding_errors == "replace":
            return data.decode("utf-8-sig", errors="replace"), None
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
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if cfg.gutenberg != "off":
        body = strip_gutenberg(text)
        if body is not None:
            text = body
        elif cfg.gutenberg == "on":
            reject(Document(text=text, id=whole_id, source=src.rel), "gutenberg_markers_missing", READ_STAGE)
            return
    if cfg.text_mode == "file":
        if text.strip():
            yield Document(text=text, id=whole_id, source=src.rel, metadata=dict(meta))
        return
    for i, chunk in enumerate(paragraph_groups(text, cfg.target_chars)):
        yield Document(text=chunk, id=f"{src.rel}#{i}", source=src.rel, metadata=dict(meta))
