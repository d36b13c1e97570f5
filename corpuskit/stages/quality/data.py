"""Labelled documents for training a quality model, from JSON Lines or Parquet (any reader's format).

Three ways to say which documents are good (label 1) and which are not (label 0):

- a `label` field (0/1, true/false, "0"/"1") in every record;
- separate inputs, every document of a `--positive` input good and of a `--negative` one not
  (DCLM's fastText recipe);
- a numeric field and a threshold: at least the threshold is good (FineWeb-Edu's 0-5 scores).

A record that cannot be used (no text, no label, a label that is not 0 or 1) is an error
naming the file and the document, never skipped: a model silently trained on less than
was given is worse than no model.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from corpuskit.errors import ConfigError


@dataclass(frozen=True)
class Row:
    text: str
    label: int
    source: str  # the record's `source` field, else the input file: each weighs the same within its label
    id: str


def _label(value, doc_id: str, where: str, field: str, min_score: float | None) -> int:
    if min_score is not None:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(f"{where}: document {doc_id}: field {field!r} is {value!r}, not a number")
        try:
            return int(float(value) >= min_score)
        except ValueError:
            raise ConfigError(f"{where}: document {doc_id}: field {field!r} is {value!r}, not a number") from None
    if value in (0, 1, "0", "1", True, False) and not isinstance(value, float):
        return int(value in (1, "1", True))
    raise ConfigError(f"{where}: document {doc_id}: field {field!r} is {value!r}; a label is 0 or 1 "
                      "(or give --score-field with --min-score)")


def read_rows(path: str | Path, label: int | None = None, label_field: str = "label",
              min_score: float | None = None, text_field: str = "text") -> list[Row]:
    """Every document of `path` (a file or folder) with its label: `label` when given, else from the field."""
    from corpuskit.readers import ReaderConfig, list_sources, read_source

    def refuse(doc, reason: str, stage: str, **detail) -> None:
        raise ConfigError(f"{detail.get('detail') or doc.source or path}: {reason}; a training input must be "
                          "readable whole")

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such file or folder")
    cfg = ReaderConfig(text_field=text_field)
    rows = []
    for src in list_sources(path):
        name = Path(src.rel).name or path.name
        for doc in read_source(src, cfg, refuse):
            if label is None:
                if label_field not in doc.metadata:
                    raise ConfigError(f"{name}: document {doc.id}: no field {label_field!r} (or give the input "
                                      "as --positive / --negative)")
                y = _label(doc.metadata[label_field], doc.id, name, label_field, min_score)
            else:
                y = label
            source = doc.source if doc.source and ":" not in doc.source else name  # a `where` names a line
            rows.append(Row(doc.text, y, source, doc.id))
    if not rows:
        raise ConfigError(f"{path}: no documents")
    return rows


def in_dev(doc_id: str, seed: int, fraction: float) -> bool:
    """Is this document in the seeded dev split? A stable hash of the id (not Python's salted `hash`)."""
    h = hashlib.blake2b(f"{seed}\0{doc_id}".encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(h, "big") < fraction * 2.0 ** 64


def file_sha256(path: str | Path) -> str:
    """sha256 of a file, or of a folder's files in sorted order (the card names its training data by it)."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    h = hashlib.sha256()
    for f in files:
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()
