"""Web archives: WARC files (HTTP responses with HTML bodies) and WET files (Common Crawl's extracted text).

    .warc, .warc.gz   `response` records: the HTML body's main text (readers/html.py)
    .wet, .wet.gz     `conversion` records: the text as Common Crawl extracted it (CC-MAIN-*.warc.wet.gz)

Each document's id is its `WARC-Record-ID` (`urn:uuid:...`), stable and unique; metadata
keeps `url` (`WARC-Target-URI`), `warc_record_id`, `warc_date` and, for WARC, `content_type`.
Records that are not pages (`warcinfo`, `request`, `metadata`, `revisit`) are not documents
and are passed over, as every WARC tool does. A record that is a page but gives no text is
rejected with a reason:

    not_html           a response whose Content-Type is not HTML (an image, a PDF, JSON, ...)
    http_status        a response whose status is not 2xx (redirects, 404s, server errors)
    no_text            HTML (or a WET record) without main text
    html_too_deep      HTML nested deeper than `html_max_depth` (readers/html.py): not extracted
    html_too_large     an HTML body over readers/html.py's MAX_PAGE_BYTES: not extracted
    read_error         anything else that fails on one record (its detail names the error)
    truncated_archive  the file ends inside a record, or a gzip member is cut or corrupt:
                       the records before it are kept

Reading uses warcio (the `[web]` extra), imported only when an archive is read.
"""

from __future__ import annotations

from typing import Iterator

from corpuskit.document import Document
from corpuskit.errors import CorpuskitError
from corpuskit.io import is_compressed, open_binary, open_raw
from corpuskit.readers.base import READ_STAGE, ReaderConfig, RejectFn, Source
from corpuskit.readers.html import HTML_TYPES, MissingExtra, TooDeep, TooLarge, extract_page

PAGE_RECORDS = {"warc": "response", "wet": "conversion"}


def _archive_iterator(fh):
    try:
        from warcio.archiveiterator import ArchiveIterator
    except ImportError:
        raise MissingExtra("reading WARC/WET files needs warcio: pip install 'corpuskit[web]'") from None
    return ArchiveIterator(fh)  # WARC only: an old ARC file is refused as corrupt, not guessed at


def _open(src: Source):
    # warcio reads gzip members itself (one per record, as Common Crawl writes them); other
    # compressions are undone by corpuskit's reader, which notices a cut .zst as well.
    return open_raw(src.path) if src.path.lower().endswith(".gz") else open_binary(src.path)


def read_warc(src: Source, cfg: ReaderConfig, reject: RejectFn) -> Iterator[Document]:
    """Documents of a WARC (kind "warc") or WET (kind "wet") file, in record order."""
    wanted = PAGE_RECORDS[src.kind]
    pos = end = 0
    with _open(src) as fh:
        records = _archive_iterator(fh)
        pages = iter(records)
        while True:
            try:  # only reading the archive: a failure here is the file's, not a bug in what follows
                record = next(pages, None)
                if record is None:
                    break
                if record.format != "warc":  # warcio reads any line of words as an old ARC header
                    raise ValueError(f"not a WARC record (read as {record.format.upper()}: garbage or an ARC file)")
                body = record.content_stream().read() if record.rec_type == wanted else None
                if body is not None and getattr(record.raw_stream, "limit", 0):
                    raise EOFError(f"the record ends {record.raw_stream.limit:,} bytes before its Content-Length")
                # warcio's offset and length read the record to its end: asked for after its content
                offset = records.get_record_offset()
                end = offset + records.get_record_length()
            except Exception as err:  # zlib, EOF, ValueError and warcio's own errors for a cut or corrupt file
                _cut(src, pos, end, reject, f"{type(err).__name__}: {err}")
                return
            if body is None:
                continue
            try:
                doc = _document(record, body, src, pos, f"{src.rel}@{offset}", reject, cfg)
            except CorpuskitError:  # a missing extra: every page would meet it
                raise
            except Exception as err:  # this record's headers or page, not the archive: the next one is read
                where = f"{src.rel}@{offset}"
                reject(Document(text="", id=f"{src.rel}#{pos}", source=where), "read_error", READ_STAGE,
                       detail=f"{where}: {type(err).__name__}: {err}")
                doc = None
            pos += 1
            if doc is not None:
                yield doc
    # warcio ends quietly at a record cut short: what lies after the last whole record says so.
    tail = _tail(src, end)
    if tail.strip():
        _cut(src, pos, end, reject, f"{len(tail):,}+ bytes after the last whole record are not a record", tail)


def _tail(src: Source, end: int) -> bytes:
    """Up to 64 KB of the file after byte `end` (offsets are in the file as stored: .gz or plain)."""
    if is_compressed(src.path) and not src.path.lower().endswith(".gz"):
        return b""  # .zst: corpuskit's reader raises at a cut itself, and offsets are not the file's
    with open_raw(src.path) as fh:
        fh.seek(end)
        return fh.read(1 << 16)


def _cut(src: Source, pos: int, end: int, reject: RejectFn, why: str, tail: bytes = b"") -> None:
    where = f"{src.rel}@{end}"
    text = tail.decode("utf-8", errors="replace") if not src.path.lower().endswith(".gz") else ""
    reject(Document(text=text, id=f"{src.rel}#{pos}", source=where), "truncated_archive", READ_STAGE,
           detail=f"{where}: the archive is cut or corrupt after {pos} page record(s): {why}")


def _document(record, body: bytes, src: Source, pos: int, where: str, reject: RejectFn,
              cfg: ReaderConfig) -> Document | None:
    headers = record.rec_headers
    record_id = (headers.get_header("WARC-Record-ID") or "").strip("<>") or f"{src.rel}#{pos}"
    url = headers.get_header("WARC-Target-URI")
    meta = {"url": url, "warc_record_id": record_id, "warc_date": headers.get_header("WARC-Date")}
    where = f"{where} {url}" if url else where

    def drop(reason: str, why: str, text: str = "") -> None:
        reject(Document(text=text, id=record_id, source=where, metadata=meta), reason, READ_STAGE,
               detail=f"{where}: {why}")

    if record.rec_type == "conversion":  # WET: the text itself
        text = body.decode("utf-8", errors="replace").strip()
        if not text:
            drop("no_text", "an empty conversion record")
            return None
        return Document(text=text, id=record_id, source=src.rel, metadata=meta)
    http = record.http_headers
    status = http.get_statuscode() if http is not None else None
    content_type = (http.get_header("Content-Type") if http is not None else None) or ""
    mime, _, params = content_type.partition(";")
    meta["content_type"] = mime.strip().lower() or None
    if status is not None and not str(status).startswith("2"):
        drop("http_status", f"HTTP status {status}, not a page")
        return None
    if meta["content_type"] not in HTML_TYPES:
        drop("not_html", f"Content-Type {content_type or 'missing'}, not HTML")
        return None
    charset = next((p.split("=", 1)[1].strip().strip('"\'') for p in params.split(";")
                    if p.strip().lower().startswith("charset=")), None)
    try:
        page = extract_page(body, charset, cfg.html_max_depth, cfg.html_extractor)
    except (TooDeep, TooLarge) as err:
        drop("html_too_deep" if isinstance(err, TooDeep) else "html_too_large", str(err))
        return None
    # the record's own URL is the one fetched; the page's canonical one is kept beside it
    meta.update({("canonical_url" if k == "url" else k): v for k, v in page.metadata.items()})
    text = page.text
    if not text:
        drop("no_text", "the page has no main text (only markup, scripts or navigation)")
        return None
    return Document(text=text, id=record_id, source=src.rel, metadata=meta)
