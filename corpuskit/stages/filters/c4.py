"""C4's document rules (Raffel et al. 2020): placeholder text, code, too few sentences, absurd words.

C4's line rules (JavaScript, policy notices, citations, short or unpunctuated lines)
live in the `boilerplate` stage, which removes lines instead of dropping documents.
"""

from __future__ import annotations

import re
from typing import Annotated

from corpuskit.document import Document
from corpuskit.schema import NonNegative, Range
from corpuskit.stage import Filter
from corpuskit.stages.analysis import SENTENCE_END, analyze

_LONG_WORD = "(?<!\\S)\\S{%d,}"


class C4Quality(Filter):
    """Drop reasons: c4_lorem_ipsum, c4_curly_bracket, c4_too_few_sentences, c4_word_too_long.

    Parameters (YAML): `filter_lorem_ipsum` (true), `filter_curly_bracket` (true; C4's
    way to drop code), `min_sentences` (5), `max_word_length` (1000 characters; 0 = off).
    """

    name = "c4_quality"

    def __init__(self, filter_lorem_ipsum: bool = True, filter_curly_bracket: bool = True,
                 min_sentences: NonNegative = 5,
                 # Python's regex repeat count stops at 2**32 - 1; no word is a billion characters
                 max_word_length: Annotated[int, Range(0, 1_000_000_000)] = 1000):
        super().__init__()
        self.filter_lorem_ipsum, self.filter_curly_bracket = filter_lorem_ipsum, filter_curly_bracket
        self.min_sentences, self.max_word_length = min_sentences, max_word_length
        self._long_word = re.compile(_LONG_WORD % (max_word_length + 1)) if max_word_length else None

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text
        if self.filter_lorem_ipsum and "lorem ipsum" in analyze(text).lower_text:
            return False, "c4_lorem_ipsum"
        if self.filter_curly_bracket and "{" in text:
            return False, "c4_curly_bracket"
        if self.min_sentences:
            count = 0
            for _ in SENTENCE_END.finditer(text):
                count += 1
                if count >= self.min_sentences:
                    break
            if count < self.min_sentences:
                return False, "c4_too_few_sentences"
        if self._long_word is not None and len(text) > self.max_word_length and self._long_word.search(text):
            return False, "c4_word_too_long"
        return True
