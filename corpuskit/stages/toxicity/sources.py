"""The labelled toxicity sources (`shared/corpora/toxicity/*.csv.gz` plus the Davidson tweets) as one table.

Training and benchmarks take the folder as an argument; nothing in the library reads it
at run time. Each row keeps its source and the source's own split; Davidson has no
split of its own, so its held-out fifth (`is_heldout`) is its `test`.

`dev_fold` gives every row a stable place in a 1-in-5 dev split (blake2b of the
normalized text): thresholds and model choices are tuned there, never on the rows
being reported.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from corpuskit.stages.toxicity.labelled import is_heldout
from corpuskit.stages.toxicity.normalize import SKIP, normalize_token, tokens

DAVIDSON = "davidson"
DEV_EVERY = 5


@dataclass(frozen=True)
class Labelled:
    text: str
    label: int  # 1 toxic
    source: str
    split: str  # the source's own: train / dev / test


def read_sources(toxicity_dir: str | Path, davidson_csv: str | Path | None = None) -> list[Labelled]:
    """Every row of every `*.csv.gz` in `toxicity_dir` (sorted by file name), then Davidson if given."""
    rows: list[Labelled] = []
    for path in sorted(Path(toxicity_dir).glob("*.csv.gz")):
        with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                rows.append(Labelled(r["text"], int(r["label"]), r["source"], r["split"] or "train"))
    if davidson_csv is not None:
        with open(davidson_csv, encoding="utf-8-sig", newline="") as fh:
            for r in csv.DictReader(fh):
                text = r["tweet"]
                rows.append(Labelled(text, 1 if r["class"].strip() in ("0", "1") else 0, DAVIDSON,
                                     "test" if is_heldout(text) else "train"))
    return rows


def dev_fold(text: str) -> bool:
    """Whether a row belongs to the tuning (dev) fold: one text in five, by a stable hash."""
    key = " ".join(t for t in map(normalize_token, tokens(text)) if t not in SKIP)
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8, person=b"tox-dev").digest()[0] % DEV_EVERY == 0


def source_weights(rows: list[Labelled]) -> dict[tuple[str, int], float]:
    """Per-(source, label) sample weight so that every source weighs the same and, within it, both labels do.

    A source with one label (all toxic, or all clean) gets its whole share on that label.
    The weights are normalized to a mean of 1 over `rows`.
    """
    counts: dict[tuple[str, int], int] = {}
    for r in rows:
        counts[(r.source, r.label)] = counts.get((r.source, r.label), 0) + 1
    sources = sorted({s for s, _ in counts})
    labels_of = {s: [lab for (t, lab) in counts if t == s] for s in sources}
    raw = {(s, lab): 1.0 / (len(sources) * len(labels_of[s]) * n) for (s, lab), n in counts.items()}
    return {k: v * len(rows) for k, v in raw.items()}


def capped(rows: list[Labelled], cap: int) -> list[Labelled]:
    """At most `cap` rows per (source, label), chosen by a stable hash of the text, in input order.

    Training and the benchmarks embed this sample; the default cap keeps every row (111k texts,
    about 6 minutes on two CPU cores in bfloat16), a small one makes quick runs.
    """
    def key(r: Labelled) -> bytes:
        return hashlib.blake2b(r.text.encode("utf-8"), digest_size=8, person=b"tox-cap").digest()

    chosen: set[int] = set()
    groups: dict[tuple[str, int], list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault((r.source, r.label), []).append(i)
    for idx in groups.values():
        chosen.update(sorted(idx, key=lambda i: key(rows[i]))[:cap])
    return [rows[i] for i in sorted(chosen)]


BOOKS = "books"


def read_books(folder: str | Path, limit: int, min_chars: int = 40) -> list[Labelled]:
    """Up to `limit` single paragraphs of the Gutenberg books in `folder`, as negatives (source `books`).

    Literature is the register the labelled sources lack: without it the classifier learns
    that dialogue (`you`, `I`, exclamations) is a comment-thread shortcut for toxicity.
    Paragraphs are chosen by a stable hash, so the sample is the same on every run.
    """
    from corpuskit.readers import list_sources, read_source
    from corpuskit.readers.base import ReaderConfig

    cfg = ReaderConfig(glob="*.txt.gz", text_mode="paragraphs", target_chars=1, gutenberg="auto")
    paras = [d.text for s in list_sources(folder, cfg.glob) for d in read_source(s, cfg, lambda *a, **k: None)
             if len(d.text) >= min_chars]
    rows = [Labelled(p, 0, BOOKS, "train") for p in paras]
    return capped(rows, limit)
