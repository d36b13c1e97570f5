"""A length filter: drop documents outside a range of characters or words."""

from __future__ import annotations

from typing import Annotated

from corpuskit.document import Document
from corpuskit.schema import NonNegative, Range, check_order
from corpuskit.stage import Filter


class LengthFilter(Filter):
    """Drop documents outside a length range: reasons `too_short` and `too_long`."""

    name = "length_filter"

    def __init__(self, min_chars: NonNegative = 1, min_words: NonNegative = 0,
                 max_chars: Annotated[int, Range(0)] | None = None):
        super().__init__()
        check_order("min_chars", min_chars, "max_chars", max_chars)
        self.min_chars, self.min_words, self.max_chars = min_chars, min_words, max_chars

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        n = len(doc.text)
        if n < self.min_chars or (self.min_words and len(doc.text.split()) < self.min_words):
            return False, "too_short"
        if self.max_chars is not None and n > self.max_chars:
            return False, "too_long"
        return True
