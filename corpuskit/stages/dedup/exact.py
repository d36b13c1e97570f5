"""Exact de-duplication on a hash of normalized text; the first document in input order wins.

Phase 1 (`index`, per unit): write the 16-byte hash and the id of every document.
Phase 2 (`reduce`, once): one stable sort of every hash (numpy, no per-document dict);
the first document of each run of equal hashes is kept, the others are duplicates of it.
Phase 3 (`apply`, per unit): drop the marked positions as `exact_duplicate`, naming
the kept document in `duplicate_of`.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from typing import Iterable, Iterator

import numpy as np

from corpuskit.document import Document
from corpuskit.io import atomic_write_bytes, atomic_write_text
from corpuskit.stage import GlobalStage, StageContext
from corpuskit.stages.dedup.arrays import sorted_unique
from corpuskit.stages.dedup.store import read_drops, write_drops

_SPACE = re.compile(r"\s+")


def normalized_hash(text: str, lowercase: bool = True) -> bytes:
    """A 16-byte digest of the text with Unicode (NFKC), case and whitespace differences removed."""
    text = unicodedata.normalize("NFKC", text)
    if lowercase:
        text = text.lower()
    return hashlib.blake2b(_SPACE.sub(" ", text).strip().encode("utf-8"), digest_size=16).digest()


class ExactDedup(GlobalStage):
    name = "exact_dedup"

    def __init__(self, lowercase: bool = True):
        super().__init__()
        self.lowercase = lowercase

    def index(self, docs: Iterable[Document], ctx: StageContext) -> None:
        hashes, ids = [], []
        for doc in docs:
            hashes.append(normalized_hash(doc.text, self.lowercase))
            ids.append(json.dumps(doc.id) + "\n")
        # raw digests and JSON-lines ids: no Parquet here, whose reader imports pandas (~0.5 s)
        atomic_write_text(ctx.workdir / f"ids-{ctx.unit:05d}.txt", "".join(ids))
        atomic_write_bytes(ctx.workdir / f"hashes-{ctx.unit:05d}.bin", b"".join(hashes))

    def reduce(self, ctx: StageContext) -> None:
        n_units = ctx.n_units
        raw = [(ctx.workdir / f"hashes-{u:05d}.bin").read_bytes() for u in range(n_units)]
        offsets = np.zeros(n_units + 1, dtype=np.int64)
        np.cumsum([len(r) // 16 for r in raw], out=offsets[1:])
        pairs = np.frombuffer(b"".join(raw), dtype="<u8").reshape(-1, 2)
        # lexsort is stable: within a run of equal hashes the documents stay in input
        # order, so the run's first element is the document to keep.
        order = np.lexsort((pairs[:, 1], pairs[:, 0]))
        sp = pairs[order]
        starts = np.ones(len(order), dtype=bool)
        starts[1:] = (sp[1:] != sp[:-1]).any(axis=1)
        keeper = np.empty(len(order), dtype=np.int64)
        keeper[order] = order[np.flatnonzero(starts)][np.cumsum(starts) - 1]
        dup = np.flatnonzero(keeper != np.arange(len(order)))
        kept_ids = self._ids(ctx.workdir, keeper[dup], offsets)
        for unit in range(n_units):
            a, b = np.searchsorted(dup, [offsets[unit], offsets[unit + 1]])
            write_drops(ctx.workdir / f"drops-{unit:05d}.json", dup[a:b] - offsets[unit], kept_ids[a:b])

    @staticmethod
    def _ids(workdir, wanted, offsets) -> list[str]:
        """Ids of the documents numbered `wanted`, reading only the units that hold them."""
        units = np.searchsorted(offsets, wanted, side="right") - 1
        out: list[str] = [""] * len(wanted)
        for unit in sorted_unique(units).tolist():
            with open(workdir / f"ids-{unit:05d}.txt", encoding="utf-8") as fh:
                ids = fh.read().splitlines()
            for i in np.flatnonzero(units == unit).tolist():
                out[i] = json.loads(ids[int(wanted[i] - offsets[unit])])
        return out

    def apply(self, docs: Iterable[Document], ctx: StageContext) -> Iterator[Document]:
        drops = read_drops(ctx.workdir / f"drops-{ctx.unit:05d}.json")
        for pos, doc in enumerate(docs):
            if pos in drops:
                self.drop(doc, "exact_duplicate", duplicate_of=drops[pos][0])
            else:
                yield doc
