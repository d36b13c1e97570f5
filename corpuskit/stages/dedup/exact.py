"""Exact de-duplication on a hash of normalized text; the first document in input order wins.

Phase 1 (`index`, per unit): write (hash, position, id) of every document.
Phase 2 (`reduce`, once): walk units in order; a hash seen before marks a duplicate.
Phase 3 (`run`, per unit): drop the marked positions as `exact_duplicate`, naming
the kept document in `duplicate_of`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from corpuskit.document import Document
from corpuskit.io import tmp_path
from corpuskit.stage import GlobalStage

_SPACE = re.compile(r"\s+")


def normalized_hash(text: str, lowercase: bool = True) -> bytes:
    """A 16-byte digest of the text with Unicode (NFKC), case and whitespace differences removed."""
    text = unicodedata.normalize("NFKC", text)
    if lowercase:
        text = text.lower()
    return hashlib.blake2b(_SPACE.sub(" ", text).strip().encode("utf-8"), digest_size=16).digest()


def _write_table(table: pa.Table, path) -> None:
    tmp = tmp_path(path)
    pq.write_table(table, tmp)
    tmp.replace(path)


class ExactDedup(GlobalStage):
    name = "exact_dedup"

    def __init__(self, lowercase: bool = True):
        super().__init__()
        self.lowercase = lowercase

    def index(self, docs: Iterable[Document]) -> None:
        hashes, ids = [], []
        for doc in docs:
            hashes.append(normalized_hash(doc.text, self.lowercase))
            ids.append(doc.id)
        table = pa.table({"hash": pa.array(hashes, pa.binary(16)), "id": pa.array(ids, pa.string())})
        _write_table(table, self.workdir / f"hashes-{self.unit:05d}.parquet")

    def reduce(self, n_units: int) -> None:
        first: dict[bytes, str] = {}
        for unit in range(n_units):
            table = pq.read_table(self.workdir / f"hashes-{unit:05d}.parquet")
            positions, kept_ids = [], []
            for pos, (h, doc_id) in enumerate(zip(table["hash"].to_pylist(), table["id"].to_pylist())):
                if h in first:
                    positions.append(pos)
                    kept_ids.append(first[h])
                else:
                    first[h] = doc_id
            drops = pa.table({"pos": pa.array(positions, pa.int64()), "duplicate_of": pa.array(kept_ids, pa.string())})
            _write_table(drops, self.workdir / f"drops-{unit:05d}.parquet")

    def run(self, docs: Iterable[Document]) -> Iterator[Document]:
        table = pq.read_table(self.workdir / f"drops-{self.unit:05d}.parquet")
        drops = dict(zip(table["pos"].to_pylist(), table["duplicate_of"].to_pylist()))
        for pos, doc in enumerate(docs):
            if pos in drops:
                self.drop(doc, "exact_duplicate", duplicate_of=drops[pos])
            else:
                yield doc
