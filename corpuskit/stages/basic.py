"""Small always-available stages: text normalization and a length filter."""

from __future__ import annotations

import re
import unicodedata

from corpuskit.document import Document
from corpuskit.stage import Filter, Mapper

_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_MANY_BLANKS = re.compile(r"\n{3,}")


class Normalize(Mapper):
    """Unicode NFC, LF line endings, no trailing spaces, at most one blank line in a row."""

    name = "normalize"

    def __init__(self, form: str = "NFC"):
        super().__init__()
        if form not in ("NFC", "NFKC", "none"):
            raise ValueError("form must be NFC, NFKC or none")
        self.form = form

    def map(self, text: str) -> str:
        if self.form != "none":
            text = unicodedata.normalize(self.form, text)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = _TRAILING_SPACE.sub("\n", text)
        return _MANY_BLANKS.sub("\n\n", text).strip()


class LengthFilter(Filter):
    """Drop documents outside a length range: reasons `too_short` and `too_long`."""

    name = "length_filter"

    def __init__(self, min_chars: int = 1, min_words: int = 0, max_chars: int | None = None):
        super().__init__()
        self.min_chars, self.min_words, self.max_chars = min_chars, min_words, max_chars

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        n = len(doc.text)
        if n < self.min_chars or (self.min_words and len(doc.text.split()) < self.min_words):
            return False, "too_short"
        if self.max_chars is not None and n > self.max_chars:
            return False, "too_long"
        return True
