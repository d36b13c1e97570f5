"""Labelled texts for training and evaluating the shipped classifier, and its held-out split.

One text in five is held out by a stable hash of its normalized text, so retweets of the
same text never straddle the split: `scripts/train_toxicity.py` trains on the rest and
`corpuskit toxicity eval --split test` scores exactly the held-out ones.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np

from corpuskit.stages.toxicity.normalize import SKIP, normalize_token, tokens

HELDOUT_EVERY = 5  # one text in five is held out


def is_heldout(text: str) -> bool:
    """Whether a labelled text belongs to the held-out split (stable across runs and machines)."""
    key = " ".join(t for t in map(normalize_token, tokens(text)) if t not in SKIP)
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()[0] % HELDOUT_EVERY == 0


def read_labelled(path: str | Path, text_column: str, label_column: str, positive: set[str]):
    """(texts, labels as 0/1) from a CSV with a header row; KeyError for a missing column."""
    texts, labels = [], []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            texts.append(row[text_column])
            labels.append(1 if row[label_column].strip() in positive else 0)
    return texts, np.array(labels, dtype=np.float64)
