"""Small file helpers: transparent decompression that notices a cut file, remote inputs
through fsspec, and atomic writes."""

from __future__ import annotations

import hashlib
import io
import os
import zlib
from collections import deque
from pathlib import Path
from typing import BinaryIO, Iterator

COMPRESSED_SUFFIXES = (".gz", ".zst", ".zstd")
_BLOCK = 1 << 16  # compressed bytes decoded at a time
_CHUNK = 1 << 20  # decoded bytes handed on at a time
# A gzip member or zstd frame's output is held back until its checksum (CRC-32, or zstd's
# optional one) is checked at its end, up to this much of it: corrupt bytes decode to garbage
# for a while before the decoder notices. A larger member is handed on as it decodes.
_VERIFY_BYTES = 64 << 20


class ArchiveError(EOFError):
    """A compressed file ends before its end-of-stream marker, or holds data that does not decode.

    `partial` holds the decoded bytes that the reading function had not handed on yet:
    the whole prefix for `read_bytes`, the unfinished last line for `iter_lines`.
    """

    def __init__(self, message: str, partial: bytes = b""):
        super().__init__(message)
        self.partial = partial


class _Decoded(io.RawIOBase):
    """The decoded bytes of a .gz or .zst file, every gzip member or zstd frame of it.

    gzip.open raises at a cut too, but zstandard's stream reader ends quietly there, so
    both go through this one loop: a decoder still in the middle of a member or frame
    when the file ends means the file was cut. What a cut member decoded is right (only
    its end is missing) and is all handed on before the error. A member whose data does
    not decode, or whose checksum fails, is corrupt: what it decoded and was held back
    (`_VERIFY_BYTES`) goes in the error's `partial`, not on as if it were good.
    """

    def __init__(self, path: str, gzip: bool):
        self._file = open_raw(path)  # an OSError here is the file's, not the archive's
        self._gzip = gzip
        if not gzip:
            import zstandard  # optional dependency, imported when a .zst file is read

            self._zstd = zstandard.ZstdDecompressor()
            self._errors: tuple[type[Exception], ...] = (zstandard.ZstdError,)
        else:
            self._errors = (zlib.error,)
        self._decoder = None  # the member or frame in progress
        self._started = False  # a member or frame was decoded before: trailing zeros are padding
        self._unused = b""  # input after the end of the last member or frame
        self._out = memoryview(b"")  # decoded and not returned yet
        self._held: list[bytes] = []  # decoded from the member in progress, its checksum not checked yet
        self._held_size = 0
        self._ready: deque[bytes] = deque()  # released from `_held`, to become `_out` in turn
        self._read = 0  # compressed bytes read, for messages

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        while not self._out:
            if self._ready:
                self._out = memoryview(self._ready.popleft())
            elif not self._decode_block():
                return 0
        n = min(len(buf), len(self._out))
        buf[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def _decode_block(self) -> bool:
        """Decode the next block of input; False at a clean end of the file."""
        if self._unused:
            data, self._unused = self._unused, b""
        else:
            data = self._file.read(_BLOCK)
            self._read += len(data)
        if not data:
            if self._held:  # a cut member: what it decoded is right, and goes on before the error
                self._release()
                return True
            if self._decoder is not None:
                raise ArchiveError(f"{self._kind} data ends before its end-of-stream marker "
                                   f"(file cut short after {self._read} bytes)")
            return False
        if self._decoder is None:
            if self._gzip and self._started:
                data = data.lstrip(b"\0")  # gzip allows zero padding after a member, as gzip.open does
                if not data:
                    return True
            self._decoder = zlib.decompressobj(wbits=31) if self._gzip else self._zstd.decompressobj()
            self._started = True
        try:
            out = self._decoder.decompress(data)
        except self._errors as err:
            held = b"".join(self._held)
            self._held, self._held_size = [], 0
            kept = f"; the {len(held):,} bytes it decoded from this {self._member} are not read" if held else ""
            raise ArchiveError(f"not valid {self._kind} data (within its first {self._read} bytes): {err}{kept}",
                               partial=held) from None
        if out:
            self._held.append(out)
            self._held_size += len(out)
        if self._decoder.eof:  # the checksum was checked
            self._unused, self._decoder = self._decoder.unused_data, None
        if self._decoder is None or self._held_size >= _VERIFY_BYTES:
            self._release()
        return True

    def _release(self) -> None:
        self._ready.extend(self._held)  # not joined: no second copy of up to _VERIFY_BYTES
        self._held, self._held_size = [], 0

    @property
    def _kind(self) -> str:
        return "gzip" if self._gzip else "zstd"

    @property
    def _member(self) -> str:
        return "member" if self._gzip else "frame"

    def close(self) -> None:
        self._file.close()
        super().close()


def is_url(path: str | Path) -> bool:
    """Whether `path` names remote storage (`s3://`, `gs://`, `memory://`, ...), read through fsspec."""
    return isinstance(path, str) and "://" in path and not path.startswith("file://")


def open_raw(path: str | Path) -> BinaryIO:
    """Open a local file or a URL for reading bytes as stored (seekable; no decompression).

    URLs go through fsspec (imported only then), with credentials from the usual
    environment (for S3: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, ...).
    """
    if not is_url(path):
        return open(path, "rb")
    import fsspec

    return fsspec.open(str(path), "rb").open()


def url_info(path: str) -> dict:
    """Size and version (ETag, else modification time) of a remote file: to notice an edited input."""
    import fsspec

    fs, key = fsspec.core.url_to_fs(path)
    info = fs.info(key)
    return {"size": info.get("size"), "version": str(info.get("ETag") or info.get("mtime") or info.get("LastModified"))}


def is_compressed(path: str | Path) -> bool:
    return str(path).lower().endswith(COMPRESSED_SUFFIXES)


def open_binary(path: str | Path) -> BinaryIO:
    """Open a file for reading bytes, decompressing .gz and .zst transparently.

    A compressed file that is cut short or corrupt raises `ArchiveError` where the bad
    data is reached, never a quiet end of file.
    """
    path = str(path)
    if not is_compressed(path):
        return open_raw(path)
    return io.BufferedReader(_Decoded(path, gzip=path.lower().endswith(".gz")), buffer_size=_CHUNK)


def _chunks(fh: BinaryIO, limit: int | None = None) -> Iterator[bytes]:
    # read1 makes at most one call to the decoder: a chunk is handed on before any error after it.
    read = getattr(fh, "read1", fh.read)  # fsspec's remote files have read() only
    while limit is None or limit > 0:
        chunk = read(_CHUNK if limit is None else min(_CHUNK, limit))
        if not chunk:
            return
        if limit is not None:
            limit -= len(chunk)
        yield chunk


def read_bytes(path: str | Path) -> bytes:
    """The decoded bytes of a whole file; a cut archive raises `ArchiveError` with the bytes before the cut."""
    with open_binary(path) as fh:
        if not is_compressed(path):
            return fh.read()
        parts: list[bytes] = []
        try:
            for chunk in _chunks(fh):
                parts.append(chunk)
        except ArchiveError as err:
            err.partial = b"".join(parts) + err.partial
            raise
        return b"".join(parts)


def iter_lines(path: str | Path, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The lines of a file, each ending with b"\\n" but perhaps the last.

    `start` and `end` read only the bytes [start, end) of an uncompressed file (a unit
    inside a large file; both on line starts). A cut archive raises `ArchiveError` after
    the last whole line, with the unfinished line in `partial` (and, for a corrupt member,
    what it decoded, held back: `_Decoded`). A line longer than a
    chunk is put together once, not re-copied.
    """
    if (start or end is not None) and is_compressed(path):
        raise ValueError(f"{path}: a compressed file is read whole, not by byte range")
    with open_binary(path) as fh:
        if start:
            fh.seek(start)
        head: list[bytes] = []  # the pieces of a line that started in an earlier chunk
        try:
            for chunk in _chunks(fh, None if end is None else end - start):
                lines = chunk.split(b"\n")
                if len(lines) == 1:
                    head.append(chunk)
                    continue
                head += (lines[0], b"\n")
                line = b"".join(head)
                head.clear()  # a long line is not kept twice, in pieces and whole, while it is used
                yield line
                for line in lines[1:-1]:
                    yield line + b"\n"
                head = [lines[-1]] if lines[-1] else []
        except ArchiveError as err:
            err.partial = b"".join(head) + err.partial
            raise
        if head:
            yield b"".join(head)


def base_suffix(path: str | Path) -> str:
    """The format suffix under any compression suffix: `a.jsonl.gz` -> `.jsonl`."""
    name = Path(path).name.lower()
    for comp in COMPRESSED_SUFFIXES:
        if name.endswith(comp):
            name = name[: -len(comp)]
            break
    return Path(name).suffix


def tmp_path(path: Path) -> Path:
    """The temporary name a file is written under before its atomic rename."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(path)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in 1 MiB blocks (hashlib.file_digest is Python 3.11+)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
