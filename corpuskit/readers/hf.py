"""Hugging Face datasets: a folder written by `save_to_disk`, or a hub name when online.

Hub datasets are named `hf:NAME` (or `hf:NAME:CONFIG`) and are the only input that
touches the network, and only because the user named one. They stream by default.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from corpuskit.document import Document
from corpuskit.readers.base import InputError, ReaderConfig, Record, RejectFn, Source, records_to_docs


def is_saved_dataset(path: Path) -> bool:
    """True for a folder written by `Dataset.save_to_disk` or `DatasetDict.save_to_disk`."""
    try:
        return (path / "state.json").is_file() or (path / "dataset_dict.json").is_file()
    except PermissionError:  # a folder that cannot be searched: the reader lists it as unreadable
        return False


def _hub_rows(src: Source, cfg: ReaderConfig) -> Iterator[Record]:
    """Rows of a hub dataset. Failing to reach it (offline, no such dataset, split or config) is
    the user's input that cannot be read, a one-line InputError, whether it happens when the
    dataset is opened or, streaming, when its rows are fetched."""
    import datasets  # heavy: imported only when a dataset is read

    name, _, config = src.path.partition(":")
    try:
        ds = datasets.load_dataset(name, config or None, split=cfg.hf_split, streaming=cfg.hf_streaming)
        for i, row in enumerate(ds):
            yield i, f"{src.rel}[{cfg.hf_split}]:{i}", dict(row), None
    except (OSError, ValueError) as err:  # ConnectionError and DatasetNotFoundError are OSErrors
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(f"{src.rel}: cannot load this Hugging Face dataset ({first}); a hub dataset needs "
                         "the network, or give the folder of a copy written by save_to_disk") from None


def _rows(src: Source, cfg: ReaderConfig) -> Iterator[Record]:
    if src.kind == "hf_hub":
        yield from _hub_rows(src, cfg)
        return
    # A unit inside a large dataset reads rows [start, end) of its splits one after another.
    first, last = src.start, src.end
    pos = 0
    for split, ds in saved_splits(src.path):
        label = f"{src.rel}[{split}]" if split else src.rel
        a, b = max(first - pos, 0), len(ds) if last is None else min(last - pos, len(ds))
        if a < b:
            for i, row in enumerate(ds.select(range(a, b)) if (a, b) != (0, len(ds)) else ds, start=a):
                yield pos + i, f"{label}:{i}", dict(row), None
        pos += len(ds)


def saved_splits(path: str) -> list:
    """(split name, Dataset) of a `save_to_disk` folder, in a stable order ("" for a single Dataset)."""
    import datasets

    loaded = datasets.load_from_disk(path)
    return sorted(loaded.items()) if isinstance(loaded, datasets.DatasetDict) else [("", loaded)]


def read_hf(src: Source, cfg: ReaderConfig, reject: RejectFn) -> Iterator[Document]:
    for doc in records_to_docs(_rows(src, cfg), cfg, src, reject):
        # Arrow rows can hold values JSON cannot (bytes, dates): keep metadata serializable.
        doc.metadata = json.loads(json.dumps(doc.metadata, default=str))
        yield doc
