"""Gopher quality and repetition rules (Rae et al. 2021, "Scaling Language Models", App. A).

Thresholds default to the published values. The quality rules count words as datatrove's
published filter does (spaCy's English tokens): punctuation marks are tokens of their
own, so "speak." is the 5-letter word "speak" and the symbol "."; a word is a token with
a letter or digit, the alpha-word and symbol ratios divide by all tokens, and the line
ratios by all lines, blank ones included. The repetition rules count whitespace words.
"""

from __future__ import annotations

import re
from typing import Annotated

from corpuskit.document import Document
from corpuskit.schema import Fraction, NonEmptyStr, NonNegative, Range, check_order
from corpuskit.stage import Filter
from corpuskit.stages.analysis import analyze, duplicate_stats, is_separator, without_labels

STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
_BULLETS = ("\u2022", "-", "*", "\u25cf", "\u25aa", "\u2023", "\u2043")
_ELLIPSES = ("...", "\u2026")
_LETTER = re.compile(r"[^\W\d_]")
_DOT_RUN = re.compile(r"\.{3,}")
# An n-gram size: Gopher uses 2 to 10. Each n caches one 8-byte hash per word of the document
# (analysis.ngram_hashes), so a large n costs memory for no published rule.
NGram = Annotated[int, Range(1, 32)]
NGramRule = tuple[NGram, Fraction]  # [n, the largest fraction of characters allowed]
MeanLength = Annotated[float, Range(0)]


class GopherQuality(Filter):
    """Drop reasons: gopher_too_few_words, gopher_too_many_words, gopher_short_words,
    gopher_long_words, gopher_hash_ratio, gopher_ellipsis_ratio, gopher_bullet_lines,
    gopher_ellipsis_lines, gopher_alpha_words, gopher_stop_words."""

    name = "gopher_quality"

    def __init__(self, min_words: NonNegative = 50, max_words: NonNegative = 100_000,
                 min_mean_word_length: MeanLength = 3.0, max_mean_word_length: MeanLength = 10.0,
                 # '#' or '...' per word: not a fraction, a word can hold several
                 max_symbol_word_ratio: Annotated[float, Range(0)] = 0.1,
                 max_bullet_lines_ratio: Fraction = 0.9,
                 max_ellipsis_lines_ratio: Fraction = 0.3, min_alpha_words_ratio: Fraction = 0.8,
                 min_stop_words: NonNegative = 2, stop_words: tuple[NonEmptyStr, ...] = tuple(STOP_WORDS),
                 punctuation_tokens: bool = True):
        super().__init__()
        check_order("min_words", min_words, "max_words", max_words)
        check_order("min_mean_word_length", min_mean_word_length, "max_mean_word_length", max_mean_word_length)
        # More stop words required than listed: every document would fail.
        check_order("min_stop_words", min_stop_words, "the number of stop_words", len(set(stop_words)))
        self.min_words, self.max_words = min_words, max_words
        self.min_mean_word_length, self.max_mean_word_length = min_mean_word_length, max_mean_word_length
        self.max_symbol_word_ratio = max_symbol_word_ratio
        self.max_bullet_lines_ratio, self.max_ellipsis_lines_ratio = max_bullet_lines_ratio, max_ellipsis_lines_ratio
        self.min_alpha_words_ratio, self.min_stop_words = min_alpha_words_ratio, min_stop_words
        self._stop_words = frozenset(stop_words)  # whole tokens, as written: "the" but not "The"
        # False: whitespace words (a word's length counts its letters and digits; stop words in
        # any case; lines are the non-empty ones): the books list, whose punctuation-heavy
        # classic prose fails the alpha-word ratio when every comma is a token.
        self.punctuation_tokens = punctuation_tokens
        self._stop_patterns = [re.compile(rf"\b{re.escape(w.lower())}\b") for w in dict.fromkeys(stop_words)]

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if not self.punctuation_tokens:
            return self._filter_whitespace_words(doc)
        text = doc.text
        tokens = analyze(text).tokens
        n = len(tokens)
        words = [t for t in tokens if t[0].isalnum() or t[0] == "_"]  # the rest are punctuation
        if len(words) < self.min_words:
            return False, "gopher_too_few_words"
        if len(words) > self.max_words:
            return False, "gopher_too_many_words"
        mean = sum(map(len, words)) / len(words) if words else 0.0
        if mean < self.min_mean_word_length:
            return False, "gopher_short_words"
        if mean > self.max_mean_word_length:
            return False, "gopher_long_words"
        if text.count("#") / n > self.max_symbol_word_ratio:
            return False, "gopher_hash_ratio"
        if (text.count("...") + text.count("\u2026")) / n > self.max_symbol_word_ratio:
            return False, "gopher_ellipsis_ratio"
        lines = text.splitlines()
        if lines:
            if sum(1 for s in lines if s.lstrip().startswith(_BULLETS)) / len(lines) > self.max_bullet_lines_ratio:
                return False, "gopher_bullet_lines"
            if sum(1 for s in lines if s.rstrip().endswith(_ELLIPSES)) / len(lines) > self.max_ellipsis_lines_ratio:
                return False, "gopher_ellipsis_lines"
        alpha = sum(1 for w in words if not w.isdigit() and _LETTER.search(w))
        if alpha / n < self.min_alpha_words_ratio:
            return False, "gopher_alpha_words"
        if self.min_stop_words and len(self._stop_words.intersection(tokens)) < self.min_stop_words:
            return False, "gopher_stop_words"
        return True

    def _filter_whitespace_words(self, doc: Document) -> bool | tuple[bool, str]:
        a = analyze(doc.text)
        n = a.n_tokens
        if n < self.min_words:
            return False, "gopher_too_few_words"
        if n > self.max_words:
            return False, "gopher_too_many_words"
        real_words = n - a.n_symbol_words
        mean = a.alnum_chars / real_words if real_words else 0.0
        if mean < self.min_mean_word_length:
            return False, "gopher_short_words"
        if mean > self.max_mean_word_length:
            return False, "gopher_long_words"
        text = doc.text
        if text.count("#") / n > self.max_symbol_word_ratio:
            return False, "gopher_hash_ratio"
        # A run of dots is one ellipsis: a dot leader ("Romeo........ Mr. Garrick.") is not a dozen
        if (len(_DOT_RUN.findall(text)) + text.count("\u2026")) / n > self.max_symbol_word_ratio:
            return False, "gopher_ellipsis_ratio"
        lines = a.lines
        if lines:
            if sum(1 for s in lines if s.startswith(_BULLETS)) / len(lines) > self.max_bullet_lines_ratio:
                return False, "gopher_bullet_lines"
            if sum(1 for s in lines if s.endswith(_ELLIPSES)) / len(lines) > self.max_ellipsis_lines_ratio:
                return False, "gopher_ellipsis_lines"
        if (n - a.n_no_letter_words) / n < self.min_alpha_words_ratio:
            return False, "gopher_alpha_words"
        if self.min_stop_words and not self._enough_stop_words(a.lower_text):
            return False, "gopher_stop_words"
        return True

    def _enough_stop_words(self, low: str) -> bool:
        found = 0
        for pattern in self._stop_patterns:
            if pattern.search(low):
                found += 1
                if found >= self.min_stop_words:
                    return True
        return False


class GopherRepetition(Filter):
    """Drop reasons: gopher_dup_para_frac, gopher_dup_para_char_frac, gopher_dup_line_frac,
    gopher_dup_line_char_frac, gopher_top_{n}_gram (n = 2, 3, 4), gopher_dup_{n}_gram (n = 5..10).

    Fractions of characters are of the document's length. `top_n_grams` and `dup_n_grams`
    are lists of [n, max_fraction] pairs. `skip_label_lines` (false) leaves speaker labels
    ("ROMEO:") and section breaks ("* * *") out of the duplicate line and paragraph counts: a
    play and a book repeat them by nature. `top_n_gram_repeats_only` (false) measures the top
    n-gram only when it occurs twice: datatrove counts a text with no repeat by its first
    n-gram, which drops any text under ~25 words as repetitive (web pages that short fail
    Gopher's 50-word minimum first).
    """

    name = "gopher_repetition"

    def __init__(self, max_dup_para_frac: Fraction = 0.3, max_dup_para_char_frac: Fraction = 0.2,
                 max_dup_line_frac: Fraction = 0.3, max_dup_line_char_frac: Fraction = 0.2,
                 top_n_grams: tuple[NGramRule, ...] = ((2, 0.2), (3, 0.18), (4, 0.16)),
                 dup_n_grams: tuple[NGramRule, ...] = ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)),
                 skip_label_lines: bool = False, top_n_gram_repeats_only: bool = False):
        super().__init__()
        self.max_dup_para_frac, self.max_dup_para_char_frac = max_dup_para_frac, max_dup_para_char_frac
        self.max_dup_line_frac, self.max_dup_line_char_frac = max_dup_line_frac, max_dup_line_char_frac
        self.top_n_grams = [(int(n), float(f)) for n, f in top_n_grams]
        self.dup_n_grams = sorted((int(n), float(f)) for n, f in dup_n_grams)
        self.skip_label_lines, self.top_n_gram_repeats_only = skip_label_lines, top_n_gram_repeats_only

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        a = analyze(doc.text)
        size = len(doc.text) or 1
        lines = without_labels(a.lines) if self.skip_label_lines else a.lines
        paragraphs = [p for p in a.paragraphs if not is_separator(p)] if self.skip_label_lines else a.paragraphs
        for kind, pieces, max_frac, max_char_frac in (
            ("para", paragraphs, self.max_dup_para_frac, self.max_dup_para_char_frac),
            ("line", lines, self.max_dup_line_frac, self.max_dup_line_char_frac),
        ):
            if pieces:
                n_dup, chars = duplicate_stats(pieces)
                if n_dup / len(pieces) > max_frac:
                    return False, f"gopher_dup_{kind}_frac"
                if chars / size > max_char_frac:
                    return False, f"gopher_dup_{kind}_char_frac"
        for n, frac in self.top_n_grams:
            if a.n_words > n and a.top_ngram_char_count(n, self.top_n_gram_repeats_only) / size > frac:
                return False, f"gopher_top_{n}_gram"
        if self.dup_n_grams:
            # A repeated n-gram (n > 5) contains repeated 5-grams, so coverage only shrinks
            # as n grows: when the smallest n is under the smallest threshold, all pass.
            n0, _ = self.dup_n_grams[0]
            first = a.duplicate_ngram_chars(n0) / size if a.n_words > n0 else 0.0
            if first > min(f for _, f in self.dup_n_grams):
                for n, frac in self.dup_n_grams:
                    value = first if n == n0 else a.duplicate_ngram_chars(n) / size
                    if value > frac:
                        return False, f"gopher_dup_{n}_gram"
        return True
