"""Train / validation / test assignment by a stable hash of the document id.

A document's split depends only on its id, never on the order documents arrive in,
the number of workers, or Python's per-process salted `hash`. The split runs after
de-duplication, so near-duplicates removed upstream cannot leak across splits.

    u = int.from_bytes(blake2b(id.encode("utf-8"), digest_size=8).digest(), "big") / 2**64
    validation if u < validation; test if u < validation + test; otherwise train

Anyone can recompute a document's split from this rule without corpuskit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

SPLITS = ("train", "validation", "test")


def split_point(doc_id: str) -> float:
    """The document's position in [0, 1): uniform over ids, identical on every machine."""
    digest = hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class SplitConfig:
    validation: float = 0.05  # fraction of documents held out for validation
    test: float = 0.0  # fraction held out for a test split (0 = no test split)

    def __post_init__(self) -> None:
        for name in ("validation", "test"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
                raise ValueError(f"{name} must be a fraction in [0, 1); got {value!r}")
        if self.validation + self.test >= 1:
            raise ValueError(f"validation + test must leave documents for training; got {self.validation + self.test}")

    @property
    def splits(self) -> tuple[str, ...]:
        """The splits this configuration produces, in manifest order."""
        return ("train", "validation") + (("test",) if self.test > 0 else ())

    def assign(self, doc_id: str) -> str:
        u = split_point(doc_id)
        if u < self.validation:
            return "validation"
        if u < self.validation + self.test:
            return "test"
        return "train"
