"""Hugging Face datasets: a folder written by `save_to_disk`, or a hub name when online.

Hub datasets are named `hf:NAME` (or `hf:NAME:CONFIG`) and are the only input that
touches the network, and only because the user named one. They stream by default.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from corpuskit.document import Document
from corpuskit.readers.base import ReaderConfig, RejectFn, Source, records_to_docs


def is_saved_dataset(path: Path) -> bool:
    """True for a folder written by `Dataset.save_to_disk` or `DatasetDict.save_to_disk`."""
    return (path / "state.json").is_file() or (path / "dataset_dict.json").is_file()


def _rows(src: Source, cfg: ReaderConfig) -> Iterator[tuple[int, str, dict | None, str | None]]:
    import datasets  # heavy: imported only when a dataset is read

    if src.kind == "hf_hub":
        name, _, config = src.path.partition(":")
        ds = datasets.load_dataset(name, config or None, split=cfg.hf_split, streaming=cfg.hf_streaming)
        parts = [(cfg.hf_split, ds)]
    else:
        loaded = datasets.load_from_disk(src.path)
        if isinstance(loaded, datasets.DatasetDict):
            parts = sorted(loaded.items())
        else:
            parts = [("", loaded)]
    pos = 0
    for split, ds in parts:
        label = f"{src.rel}[{split}]" if split else src.rel
        for i, row in enumerate(ds):
            yield pos, f"{label}:{i}", dict(row), None
            pos += 1


def read_hf(src: Source, cfg: ReaderConfig, reject: RejectFn) -> Iterator[Document]:
    for doc in records_to_docs(_rows(src, cfg), cfg, src, reject):
        # Arrow rows can hold values JSON cannot (bytes, dates): keep metadata serializable.
        doc.metadata = json.loads(json.dumps(doc.metadata, default=str))
        yield doc
