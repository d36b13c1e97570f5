"""One shared, cached analysis of a document's text for the quality rules.

The Gopher, C4 and FineWeb filters all need the same things: the words, the lines,
the paragraphs, n-gram counts. Splitting a document once per rule family would
triple the cost, so `analyze(text)` keeps the analysis of the last text it saw.
Stages are chained generators, so one document passes through every filter before
the next is read: a one-entry cache keyed on the text object is enough, and a
Mapper that rewrites the text makes a new object, which invalidates it.

Words are whitespace-separated tokens (`str.split`, done in C). Every property is
computed on first use, so a rule that needs only the lines never pays for n-grams.
"""

from __future__ import annotations

import re
from functools import cached_property

import numpy as np

# Characters that end a sentence-like line. Straight and curly closing quotes count,
# because the repair stage keeps curly quotes and a quoted sentence ends in one.
TERMINAL_PUNCT = (".", "!", "?", '"', "'", "\u201d", "\u2019", "\u2026")

_PARAGRAPH_SPLIT = re.compile(r"\n\s*\n")
# A sentence ends in . ! ? or an ellipsis, possibly inside closing quotes or brackets,
# followed by whitespace or the end of the text (C4's sentence count uses it too).
SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s|$)")
# Words as datatrove's Gopher filters see them (spaCy's English tokenizer): punctuation
# is a token of its own ("factoring", "."), while "you're", "U.S.", "3.5", "9/11" and
# "1,000" stay whole and "..." is one token. On the dev pages this regex gives spaCy's
# keep/drop decisions for the alpha-word rule on ~97% of pages, at regex speed.
_TOKEN = re.compile(r"\w+(?:['\u2019.,:/]\w+)*|\.\.\.|[^\w\s]")
# Used by the boilerplate stage on single lines: a token with no letter at all.
_NO_LETTER_TOKEN = re.compile(r"(?<!\S)(?:[^\w\s]|[\d_])+(?!\S)")


def _class_table() -> tuple[bytes, bytes]:
    """A bytes.translate table that maps UTF-8 text to one class byte per character:
    a = letter, 0 = digit, space = whitespace, . = anything else. UTF-8 continuation bytes
    are deleted, so each character is one byte, classed by its lead byte: U+0080-U+00BF
    (lead C2: « » © °), U+2000-U+2FFF (lead E2: curly quotes, dashes, ellipsis, arrows) and
    U+10000 up (lead F0-F4: emoji) are symbols; other non-ASCII characters count as letters.
    """
    table = bytearray(b"." * 256)
    for b in range(256):
        c = chr(b)
        if b in (0xC2, 0xE2) or b >= 0xF0:
            continue
        if b >= 0xC3 or (b < 0x80 and c.isalpha()):
            table[b] = ord("a")
        elif b < 0x80 and c.isdigit():
            table[b] = ord("0")
        elif c in " \t\n\r\x0b\x0c":
            table[b] = ord(" ")
    return bytes(table), bytes(range(0x80, 0xC0))


_CLASS_TABLE, _CONTINUATION = _class_table()

_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit multiplier for the rolling n-gram hash

class TextAnalysis:
    """Lazily computed views of one text; see the module docstring."""

    def __init__(self, text: str):
        self.text = text

    @cached_property
    def words(self) -> list[str]:
        return self.text.split()

    @cached_property
    def tokens(self) -> list[str]:
        """Words and punctuation marks as separate tokens (see `_TOKEN`)."""
        return _TOKEN.findall(self.text)

    @cached_property
    def n_words(self) -> int:
        return len(self.words)

    @cached_property
    def word_chars(self) -> int:
        """Characters in all words (no whitespace)."""
        return sum(map(len, self.words))

    @cached_property
    def lines(self) -> list[str]:
        """Non-empty lines, stripped."""
        return [s for s in map(str.strip, self.text.split("\n")) if s]

    @cached_property
    def paragraphs(self) -> list[str]:
        return [s for s in map(str.strip, _PARAGRAPH_SPLIT.split(self.text)) if s]

    @cached_property
    def lower_text(self) -> str:
        return self.text.lower()

    @cached_property
    def char_classes(self) -> bytes:
        """The text as one class byte per character (see `_class_table`); C-speed counting."""
        return self.text.encode("utf-8", "surrogatepass").translate(_CLASS_TABLE, _CONTINUATION)

    @cached_property
    def n_tokens(self) -> int:
        """Whitespace tokens, counted on the class bytes (same as `n_words` for repaired text)."""
        return len(self.char_classes.split())

    @cached_property
    def n_symbol_words(self) -> int:
        """Tokens made only of punctuation or symbols (no letter, no digit)."""
        # Deleting the symbol class empties symbol-only tokens, which then vanish from split().
        return self.n_tokens - len(self.char_classes.translate(None, b".").split())

    @cached_property
    def n_no_letter_words(self) -> int:
        return self.n_tokens - len(self.char_classes.translate(None, b".0").split())

    @cached_property
    def alnum_chars(self) -> int:
        return self.char_classes.count(b"a") + self.char_classes.count(b"0")

    @cached_property
    def word_lengths(self) -> np.ndarray:
        return np.fromiter(map(len, self.words), dtype=np.int64, count=self.n_words)

    def ngram_hashes(self, n: int) -> np.ndarray:
        """A 64-bit hash per n-gram start position (len = n_words - n + 1), built incrementally.

        Word hashes come from Python's `hash(str)`, which is salted per process; that is
        fine because only equality within one document matters, and a 64-bit collision
        among a document's n-grams is vanishingly unlikely, so decisions are the same
        in every process.
        """
        cache = self.__dict__.setdefault("_ngram", {})
        if n in cache:
            return cache[n]
        if n == 1:
            h = np.fromiter(map(hash, self.words), dtype=np.int64, count=self.n_words).view(np.uint64)
        else:
            prev = self.ngram_hashes(n - 1)
            with np.errstate(over="ignore"):
                h = prev[:-1] * _MULT + self.ngram_hashes(1)[n - 1:]
        cache[n] = h
        return h

    def top_ngram_char_count(self, n: int, repeated_only: bool = False) -> int:
        """Characters of the most frequent n-gram (words joined by spaces) times its count;
        with `repeated_only`, 0 when no n-gram occurs twice."""
        h = self.ngram_hashes(n)
        if len(h) < 2:
            return 0
        s = np.sort(h)
        starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
        counts = np.diff(np.append(starts, len(s)))
        best = int(np.argmax(counts))
        if counts[best] < 2:
            if repeated_only:
                return 0
            # As datatrove (the published rule's reference code) counts it: with no repeat the
            # "most frequent" n-gram is the first one, once. Only very short texts trip on it.
            return int(self.word_lengths[:n].sum()) + n - 1
        start = int(np.flatnonzero(h == s[starts[best]])[0])
        length = int(self.word_lengths[start:start + n].sum()) + n - 1
        return length * int(counts[best])

    def duplicate_ngram_chars(self, n: int) -> int:
        """Characters of words inside any n-gram that already occurred earlier (overlaps counted once)."""
        h = self.ngram_hashes(n)
        if len(h) < 2:
            return 0
        order = np.argsort(h, kind="stable")  # equal hashes stay in position order
        s = h[order]
        repeat = s[1:] == s[:-1]
        if not repeat.any():
            return 0
        dup_starts = order[1:][repeat]  # every occurrence after the first
        # Mark every word covered by a repeated n-gram with a difference array.
        delta = np.zeros(self.n_words + 1, dtype=np.int64)
        np.add.at(delta, dup_starts, 1)
        np.add.at(delta, dup_starts + n, -1)
        covered = np.cumsum(delta[:-1]) > 0
        return int(self.word_lengths[covered].sum())


_last: TextAnalysis | None = None


def analyze(text: str) -> TextAnalysis:
    """The analysis of `text`, reused while the same text object flows through the filters."""
    global _last
    if _last is None or _last.text is not text:
        _last = TextAnalysis(text)
    return _last


def is_label(line: str) -> bool:
    """A speaker label or heading ending in a colon ("ROMEO:", "First Citizen:"): structure, not content."""
    return line.endswith(":") and len(line) <= 40 and len(line.split(None, 4)) <= 4


def is_separator(line: str) -> bool:
    """A section break with no letter or digit ("* * * * *"): a book repeats it by nature."""
    return not any(c.isalnum() for c in line)


def without_labels(lines: list[str]) -> list[str]:
    """The lines that are content: speaker labels and section breaks left out."""
    return [s for s in lines if not ((s.endswith(":") and is_label(s)) or is_separator(s))]


def terminal_punct_ratio(text: str, wrap_width: int = 0) -> tuple[int, int]:
    """(lines ending in terminal punctuation, lines counted).

    With `wrap_width` > 0 and no line longer than it, the text is taken as hard-wrapped
    (books wrapped at ~70 columns, verse): a run of lines with no blank line between them
    is one paragraph and counts once. A run of two or more lines counts as punctuated when a
    sentence ends anywhere in it: in wrapped prose sentences end mid-line, and a paragraph
    ending in "said:--" or a footnote mark is still prose. A menu or list does not wrap, so
    its one-line runs are still judged by how they end.
    """
    raw = text.split("\n")
    stripped = [s.strip() for s in raw]
    if not (wrap_width > 0 and max(map(len, stripped), default=0) <= wrap_width):
        counted = [s for s in stripped if s]
        return sum(1 for s in counted if s.endswith(TERMINAL_PUNCT)), len(counted)
    ends = total = 0
    for run in _PARAGRAPH_SPLIT.split(text):
        lines = [s for s in (s.strip() for s in run.split("\n")) if s]
        if not lines:
            continue
        total += 1
        if lines[-1].endswith(TERMINAL_PUNCT) or (len(lines) > 1 and SENTENCE_END.search(" ".join(lines))):
            ends += 1
    return ends, total


def duplicate_stats(items: list[str]) -> tuple[int, int]:
    """(repeated elements, their characters): every occurrence after the first counts."""
    unique = set(items)
    return len(items) - len(unique), sum(map(len, items)) - sum(map(len, unique))
