"""Cut a document into units (sentences or lines) and turn unit scores into a document score.

Scoring units instead of whole documents is what keeps literature: a novel's page with
one curse in dialogue has one toxic sentence out of twenty, while an abusive thread is
toxic line after line. The document-level figures are:

- `max`: the highest unit score;
- `fraction`: the share of units scoring at or above the unit threshold;
- `char_fraction`: the share of characters inside such units (long clean
  paragraphs weigh more than a short toxic interjection).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

AGGREGATES = ("max", "fraction", "char_fraction")
UNITS = ("sentence", "line")

_LINE = re.compile(r"\S[^\n]*")
# A sentence ends at . ! ? (with any closing quotes or brackets) or at a line break.
_SENTENCE = re.compile(r"[^\s.!?][^\n.!?]*(?:[.!?]+[\"'\u201d\u2019)\]]*)?|[.!?]+")


_MEANING = {
    "max": "the highest unit score",
    "fraction": "the share of units scoring >= {t}",
    "char_fraction": "the share of characters in units scoring >= {t}",
}


def describe(aggregate: str, threshold: float) -> str:
    """What the document score under `aggregate` means, in words (for the commands to print)."""
    return _MEANING[aggregate].format(t=threshold)


def split_units(text: str, unit: str = "sentence") -> list[tuple[int, int]]:
    """(start, end) character spans of the units of `text`, blank ones left out."""
    pattern = _SENTENCE if unit == "sentence" else _LINE
    return [m.span() for m in pattern.finditer(text)]


@dataclass
class DocScore:
    """Unit spans and scores of one document, with the document-level aggregates (each computed once)."""

    spans: list[tuple[int, int]]
    scores: list[float]
    threshold: float

    @cached_property
    def toxic(self) -> list[bool]:
        return [s >= self.threshold for s in self.scores]

    @cached_property
    def toxic_units(self) -> int:
        return sum(self.toxic)

    @property
    def max(self) -> float:
        return max(self.scores, default=0.0)

    @property
    def fraction(self) -> float:
        return self.toxic_units / len(self.scores) if self.scores else 0.0

    @cached_property
    def char_fraction(self) -> float:
        if not self.toxic_units:  # most documents: no need to sum the lengths
            return 0.0
        total = sum(e - s for s, e in self.spans)
        bad = sum(e - s for (s, e), t in zip(self.spans, self.toxic) if t)
        return bad / total if total else 0.0

    def value(self, aggregate: str) -> float:
        """The document score under `aggregate` (one of AGGREGATES), in [0, 1]."""
        return getattr(self, aggregate)

    def summary(self) -> dict:
        """Rounded figures for document metadata (rounded so outputs stay byte-stable)."""
        return {
            "max": round(self.max, 4),
            "fraction": round(self.fraction, 4),
            "char_fraction": round(self.char_fraction, 4),
            "units": len(self.scores),
            "toxic_units": self.toxic_units,
        }


def redact(text: str, spans: list[tuple[int, int]], toxic: list[bool]) -> str:
    """`text` without its toxic units (and the spaces that followed them)."""
    out, pos = [], 0
    for (start, end), bad in zip(spans, toxic):
        if bad:
            out.append(text[pos:start])
            pos = end
            while pos < len(text) and text[pos] in " \t":
                pos += 1
    out.append(text[pos:])
    return "".join(out)
