"""What every reader shares: options, the unit of input, and record-to-document rules.

A reader turns one input source into documents. Bad input is never dropped silently:
a record that cannot be read becomes a rejected document with a reason and the reader
goes on with the rest. The reasons, by what is wrong:

- the bytes: `invalid_utf8`, `invalid_utf16`, `utf16` (UTF-16 JSON Lines or CSV, not
  decoded), `binary_file` (NUL bytes in the first 8 KB);
- a record: `malformed_json`, `malformed_csv`, `missing_field`, `bad_field_type`, `invalid_utf8` (a
  Parquet string that is not UTF-8), `read_error` (a WARC record that fails otherwise);
- the file: `truncated_archive` (a cut or corrupt .gz, .zst or .parquet; what came before
  the cut is kept), `unreadable` (the system refuses it: permissions, a folder that cannot
  be listed, a FIFO or device, a dangling link), `empty_file`, `unsupported_format`,
  `gutenberg_markers_missing`, `gutenberg_outside_text`, `html_too_deep`;
- where it is: `outside_input` (a symbolic link that leads out of the input folder),
  `symlink_loop`.

Text that is not Unicode never leaves a reader: a lone surrogate (a JSON `\\ud800` escape
without its pair) and the stray bytes of a text file that is otherwise UTF-8 become
U+FFFD, counted on the document as `metadata.replaced_chars` and in the `read` row of
stats.json as `replaced_chars`. UTF-8 cannot encode a surrogate: one would stop the run
at the first stage or writer that encodes the text.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Callable, Iterator

from corpuskit.document import Document
from corpuskit.errors import CorpuskitError
from corpuskit.io import ArchiveError, read_bytes

RejectFn = Callable[..., None]
READ_STAGE = "read"
# (position, where, record, error): what a tabular reader yields for each record; see records_to_docs.
Record = tuple[int, str, dict | None, str | None]
# What stops a reader in the middle of a file: a cut or corrupt archive, or the system refusing to read.
READ_ERRORS = (ArchiveError, OSError)
# On a document: how many characters the reader replaced by U+FFFD (see the module docstring).
REPLACED = "replaced_chars"
_SURROGATE = re.compile("[\ud800-\udfff]")


class InputError(CorpuskitError, ValueError):
    """The input path does not exist, holds nothing to read, or cannot be read as asked."""


def check_glob(glob: str) -> None:
    """A glob picks files inside the input folder: refuse one that is absolute or climbs out with `..`."""
    if not glob or glob.startswith(("/", "\\")) or ".." in PurePosixPath(glob.replace("\\", "/")).parts:
        raise InputError(f"glob {glob!r} must be a pattern relative to the input folder, without '..' "
                         "(for files elsewhere, make that folder the input)")


@dataclass
class ReaderConfig:
    text_field: str = "text"  # column or JSON key holding the text
    id_field: str = "id"  # column or key holding the id; missing ids are derived from path and position
    text_mode: str = "paragraphs"  # text files: "file" = one document per file; "paragraphs" = blank-line groups
    target_chars: int = 2000  # "paragraphs" mode: group paragraphs up to about this many characters
    gutenberg: str = "auto"  # strip Project Gutenberg header/footer: "auto" (when markers are found), "on", "off"
    glob: str = "**/*"  # which files of a folder to read
    csv_delimiter: str = ","
    csv_max_record_lines: int = 10_000  # a CSV record still open after this many lines is an unclosed quote
    # text files: "auto" = UTF-8 (with or without BOM), else the single-byte fallback below,
    # counted per document as `decoded_as_cp1252` / `decoded_as_latin-1`; "utf-8" = UTF-8 only
    encoding: str = "auto"
    encoding_errors: str = "quarantine"  # encoding "utf-8", invalid bytes: "quarantine" the file, or "replace" them
    hf_split: str = "train"  # split to read from a hub dataset ("hf:NAME")
    hf_streaming: bool = True  # stream hub datasets instead of downloading them whole
    # HTML: a page whose elements nest deeper than this is rejected as `html_too_deep` before
    # extraction, whose time grows with the square of the depth (2,000 levels: 0.1 s; 8,000: 2 s)
    html_max_depth: int = 1000
    # HTML main-text extractor: "corpuskit", "resiliparse" or "trafilatura" (readers/html.py; the
    # last needs the [trafilatura] extra, checked here)
    html_extractor: str = "corpuskit"

    def __post_init__(self) -> None:
        _choice("text_mode", self.text_mode, ("file", "paragraphs"))
        _choice("gutenberg", self.gutenberg, ("auto", "on", "off"))
        _choice("encoding_errors", self.encoding_errors, ("quarantine", "replace"))
        _choice("encoding", self.encoding, ("auto", "utf-8"))
        for key in ("text_field", "id_field", "hf_split"):  # "" names no field: every record would be rejected
            if not getattr(self, key).strip():
                raise ValueError(f"{key} must not be empty")
        if self.target_chars < 1:
            raise ValueError("target_chars must be positive")
        if self.csv_max_record_lines < 1:
            raise ValueError("csv_max_record_lines must be positive")
        if self.html_max_depth < 1:
            raise ValueError("html_max_depth must be positive")
        if self.html_extractor != "corpuskit":  # the default needs only the [web] extra, checked when a page is read
            from corpuskit.readers.html import check_extractor

            check_extractor(self.html_extractor)
        # Python's csv module takes one character, and refuses a quote or line end only when the first file is read.
        if len(self.csv_delimiter) != 1 or self.csv_delimiter in '"\r\n':
            raise ValueError("csv_delimiter must be one character, not a quote or line end; "
                             f"got {self.csv_delimiter!r}")
        check_glob(self.glob)


def _choice(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{key} must be one of {', '.join(allowed)}; got {value!r}")


@dataclass(frozen=True)
class Source:
    """One unit of input: a file (or a saved/hub dataset) and its name relative to the input root,
    or one part of a large one (`readers.units.plan_units` cuts it; `chunk` is not None then)."""

    path: str
    rel: str
    kind: str  # text | jsonl | parquet | csv | hf_disk | hf_hub; or why it is not read (see readers.REFUSED)
    file: int = 0  # the file's index among the run's inputs
    chunk: int | None = None  # this unit's index within its file; None: the whole file
    # What this unit reads: JSONL bytes, Parquet row groups or saved-dataset rows [start, end).
    start: int = 0
    end: int | None = None
    line: int = 0  # lines before `start`: line numbers in messages stay the file's
    pos: int = 0  # records before `start`: derived document ids (`rel#pos`) stay the file's

    @property
    def name(self) -> str:
        """The unit's stable name in output file names: file index, and chunk index if cut."""
        return f"{self.file:05d}" if self.chunk is None else f"{self.file:05d}-{self.chunk:05d}"

    def record(self) -> dict:
        """The unit as config.json records it; a whole file as before units inside files existed."""
        rec = {"path": self.path, "rel": self.rel, "kind": self.kind}
        if self.chunk is not None:
            rec.update(file=self.file, chunk=self.chunk, start=self.start, end=self.end, line=self.line, pos=self.pos)
        return rec


# UTF-32 first: its little-endian mark starts with UTF-16's.
_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
              (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def wide_codec(head: bytes) -> str | None:
    """"utf-16" or "utf-32" when `head` starts with that encoding's byte-order mark."""
    return next((codec for bom, codec in _WIDE_BOMS if head.startswith(bom)), None)


def replace_surrogates(text: str) -> tuple[str, int]:
    """`text` with every lone surrogate (or byte kept by `surrogateescape`) replaced by U+FFFD, and how many."""
    if text.isascii():  # O(1) in CPython: most text needs no scan
        return text, 0
    return _SURROGATE.subn("\ufffd", text)


def bad_record(pos: int, where: str, reason: str, raw: str, why: str) -> Record:
    """A record rejected with `reason`: its text as read, and a detail `where: why`."""
    return pos, where, {"_raw": raw, "_detail": f"{where}: {why}"}, reason


def utf16_record(src: Source, codec: str) -> Record:
    """The one record of a JSON Lines or CSV file in UTF-16: its lines cannot be cut at b"\\n"."""
    name = codec.upper()
    why = f"{name} text (byte-order mark); convert it to UTF-8: iconv -f {name} -t UTF-8"
    return bad_record(0, src.rel, "utf16", "", why)


def read_failure(err: Exception) -> tuple[str, str, str]:
    """(reason, text read before the failure, why) for one of READ_ERRORS."""
    if isinstance(err, ArchiveError):
        return "truncated_archive", err.partial.decode("utf-8", errors="replace"), str(err)
    return "unreadable", "", getattr(err, "strerror", None) or str(err)


def read_whole(src: Source, doc_id: str, reject: RejectFn) -> bytes | None:
    """The decoded bytes of a file read whole (text, HTML), or None after rejecting it.

    A cut archive keeps no document (its end is cut), but all it held is the rejected record's text.
    """
    try:
        return read_bytes(src.path)
    except READ_ERRORS as err:
        reason, before, why = read_failure(err)
        reject(Document(text=before, id=doc_id, source=src.rel), reason, READ_STAGE, detail=f"{src.rel}: {why}")
        return None


def failure_record(err: Exception, src: Source, pos: int, line: int) -> Record:
    """The last record of a file that could not be read to its end.

    A cut archive is named at the line of the cut; a refusal by the system is about the
    whole file, so it is named by the file alone.
    """
    reason, raw, why = read_failure(err)
    return bad_record(pos, f"{src.rel}:{line}" if isinstance(err, ArchiveError) else src.rel, reason, raw, why)


def records_to_docs(
    records: Iterator[Record],
    cfg: ReaderConfig,
    src: Source,
    reject: RejectFn,
) -> Iterator[Document]:
    """Turn (position, where, record, error) tuples from a tabular reader into documents.

    `where` names the record for humans (`file.jsonl:17`). A tuple with an error carries
    the raw text in `record["_raw"]` (and optionally a `_detail`) and is rejected with that reason.
    """
    for pos, where, rec, error in records:
        doc_id = f"{src.rel}#{pos}"
        if error is not None:
            rec = rec or {}
            reject(Document(text=rec.get("_raw", ""), id=doc_id, source=where), error, READ_STAGE,
                   detail=rec.get("_detail") or where)
            continue
        assert rec is not None
        replaced = rec.pop("_" + REPLACED, 0)  # set by the JSON Lines reader
        text = rec.get(cfg.text_field)
        if text is None:
            raw = json.dumps(rec, ensure_ascii=False, default=str)
            why = "is null" if cfg.text_field in rec else "is missing"
            reject(Document(text=raw, id=doc_id, source=where), "missing_field", READ_STAGE,
                   detail=f"{where}: field {cfg.text_field!r} {why}")
            continue
        if not isinstance(text, str):
            raw = json.dumps(rec, ensure_ascii=False, default=str)
            reject(Document(text=raw, id=doc_id, source=where), "bad_field_type", READ_STAGE,
                   detail=f"{where}: field {cfg.text_field!r} is {type(text).__name__}, not a string")
            continue
        given_id = rec.get(cfg.id_field)
        metadata = {k: v for k, v in rec.items() if k not in (cfg.text_field, cfg.id_field, "source", "metadata")}
        # corpuskit's own outputs carry `source` and a `metadata` object (a JSON string in Parquet).
        inner = rec.get("metadata")
        if isinstance(inner, str):
            try:
                inner = json.loads(inner)
            except json.JSONDecodeError:
                pass
        if isinstance(inner, dict):
            metadata = {**inner, **metadata}
        elif inner is not None:
            metadata["metadata"] = inner
        if replaced:
            metadata[REPLACED] = replaced
        source = rec.get("source")
        yield Document(
            text=text,
            id=str(given_id) if given_id not in (None, "") else doc_id,
            source=source if isinstance(source, str) and source else where,
            metadata=metadata,
        )
