"""What every exporter shares: the output folder, atomic output files, dtype checks."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from corpuskit.errors import CorpuskitError
from corpuskit.io import atomic_write_bytes, atomic_write_text, tmp_path
from corpuskit.layout import claim_folder, folder_lock, remove_temporaries
from corpuskit.tokenize.manifest import TOKENIZER_FILE, load_manifest, read_tokenizer

FORMATS = {
    "nanogpt": "corpuskit.export.nanogpt",
    "llmc": "corpuskit.export.llmc",
    "megatron": "corpuskit.export.megatron",
    "datatrove": "corpuskit.export.datatrove",
}
# The files corpuskit's exports wrote into the folder: the only ones they delete. It is also
# the folder's ownership marker (layout.claim_folder): an export writes only into a folder it
# created, found empty, or finds this file in.
RECORD = ".corpuskit-export.json"


class ExportError(CorpuskitError, ValueError):
    """The shard directory cannot be exported in the asked format."""


class OutputFolder:
    """An export's output folder: every path it hands out lies inside it, and of the files already
    there it deletes only those an earlier export recorded as its own.

    The folder is claimed when the first path is handed out (after the exporter checked its
    options, so a refused export leaves nothing behind): created, or taken if empty, and marked;
    a non-empty folder without the marker is someone else's and is refused. Then its lock is held
    until the export ends (use it as a context manager), and a killed export's temporaries go.
    The manifest's names are checked when it is loaded; `path` checks again after resolving
    symbolic links, so neither a name nor a link inside the folder can lead a write elsewhere.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self._resolved: Path | None = None
        self._ours: set[str] = set()
        self._held = contextlib.ExitStack()

    def __enter__(self) -> "OutputFolder":
        return self

    def __exit__(self, *exc) -> None:
        self._held.close()  # the folder's lock, once claimed

    def _claim(self) -> None:
        claim_folder(self.root, RECORD, "export")
        self._held.enter_context(folder_lock(self.root, "export"))  # two exports into one folder: refused
        remove_temporaries(self.root, _export_name)  # a killed export's half-written files
        self._resolved = self.root.resolve()
        try:
            self._ours = set(json.loads((self.root / RECORD).read_text(encoding="utf-8"))["files"])
        except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError):
            self._ours = set()  # a new folder, or no (readable) record: nothing here is known to be ours

    def path(self, *parts: str) -> Path:
        """`root/parts...`, or ExportError if it resolves outside the folder."""
        if self._resolved is None:
            self._claim()
        path = self.root.joinpath(*parts)
        if not path.resolve().is_relative_to(self._resolved):
            raise ExportError(f"{path} lies outside the output folder {self.root}; refusing to write it")
        return path

    def _name(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def remove_stale(self, candidates: Iterable[Path], written: Iterable[Path]) -> None:
        """Delete those `candidates` (files named like this export's) that an earlier export wrote
        and this one did not, such as the extra shards of a larger earlier export."""
        keep = set(written)
        for p in candidates:
            if p not in keep and self._name(p) in self._ours:
                self.path(self._name(p)).unlink(missing_ok=True)

    def record(self, written: Iterable[Path]) -> None:
        """Remember `written` (and what earlier exports wrote that is still there) as ours."""
        ours = {self._name(p) for p in written} | {n for n in self._ours if (self.root / n).is_file()}
        atomic_write_text(self.root / RECORD, json.dumps({"corpuskit": "export", "files": sorted(ours)},
                                                         indent=1) + "\n")


def export_shards(shards_dir: str | Path, out_dir: str | Path, fmt: str, **options) -> list[Path]:
    """Write the shard directory in format `fmt` under `out_dir`; returns the files written.

    `out_dir` must be new, empty, or an earlier export's folder (RunError otherwise). The shard
    directory's tokenizer must match the manifest's sha256 and no file it lists may be a
    symbolic link (ShardsError), so an export never carries another file along.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    shards_dir = Path(shards_dir)
    manifest = load_manifest(shards_dir)
    tokenizer = read_tokenizer(shards_dir, manifest)
    with OutputFolder(Path(out_dir)) as out:
        files = importlib.import_module(FORMATS[fmt]).export(shards_dir, manifest, out, **options)
        # The tokenizer travels with the tokens: ids mean nothing without it.
        files.append(out.path(TOKENIZER_FILE))
        atomic_write_bytes(files[-1], tokenizer)
        out.record(files)
    return files


def _export_name(rel: str) -> bool:
    """Whether `rel` is named like a file some export writes (the final name of a temporary)."""
    return rel in (RECORD, TOKENIZER_FILE, "meta.pkl", "meta.json") or rel.endswith(_EXPORT_SUFFIXES)


_EXPORT_SUFFIXES = (".bin", ".idx", ".ds", ".ds.index", ".ds.metadata")


def require_uint16(manifest: dict, fmt: str) -> None:
    vocab = manifest["tokenizer"]["vocab_size"]
    if manifest["dtype"] != "uint16" or vocab > 2**16:
        raise ExportError(f"{fmt} stores tokens as uint16, but this tokenizer has {vocab:,} tokens "
                          f"(ids up to {vocab - 1:,} > 65,535); use --format megatron or datatrove, "
                          "or a vocabulary of at most 65,536 tokens")


@contextlib.contextmanager
def atomic_open(path: Path) -> Iterator[BinaryIO]:
    """A binary file written under a temporary name and renamed into place only when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(path)
    fh = open(tmp, "wb")
    try:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        os.replace(tmp, path)
    except BaseException:
        fh.close()
        tmp.unlink(missing_ok=True)
        raise
