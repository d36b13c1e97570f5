"""FineWeb's line-based quality rules (Penedo et al. 2024, datatrove's FineWebQualityFilter).

Defaults are the published thresholds. Lines are the non-empty lines of the text.
These rules were tuned on web text, where a line is a paragraph; on hard-wrapped
books and verse they read differently, so the default pipeline relaxes two of them
(see docs/CLEANING.md).
"""

from __future__ import annotations

from typing import Annotated

from corpuskit.document import Document
from corpuskit.schema import Fraction, NonNegative, Range
from corpuskit.stage import Filter
from corpuskit.stages.analysis import analyze, duplicate_stats, terminal_punct_ratio, without_labels


class FineWebQuality(Filter):
    """Drop reasons: fineweb_line_punct_ratio, fineweb_short_line_ratio,
    fineweb_char_dup_ratio, fineweb_list_ratio.

    Parameters (YAML):
      line_punct_thr: 0.12        drop when fewer lines than this end in . ! ? " ' (or curly quotes, …)
      line_punct_exclude_zero: false  never drop for a ratio of exactly 0 (for text with no line structure)
      short_line_thr: 0.67        drop when more lines than this are short ...
      short_line_length: 30       ... at most this many characters
      char_duplicates_ratio: 0.01 drop when repeated lines hold more than this fraction of characters
      min_dup_line_chars: 0       repeated lines shorter than this are ignored (0 = count all)
      new_line_ratio: 0.3         drop when newlines per word exceed this (lists)
      wrap_width: 0               > 0: a text whose lines are all at most this long is hard-wrapped,
                                  and a line running on into the next is not counted for line_punct_thr
      skip_label_lines: false     leave speaker labels ("ROMEO:") out of the short-line, duplicate-line
                                  and newline counts
    """

    name = "fineweb_quality"

    def __init__(self, line_punct_thr: Fraction = 0.12, line_punct_exclude_zero: bool = False,
                 short_line_thr: Fraction = 0.67, short_line_length: NonNegative = 30,
                 char_duplicates_ratio: Fraction = 0.01, min_dup_line_chars: NonNegative = 0,
                 # newlines per word: a list of one-word lines reaches 1, blank lines push it past
                 new_line_ratio: Annotated[float, Range(0)] = 0.3, wrap_width: NonNegative = 0,
                 skip_label_lines: bool = False):
        super().__init__()
        self.line_punct_thr, self.line_punct_exclude_zero = line_punct_thr, line_punct_exclude_zero
        self.short_line_thr, self.short_line_length = short_line_thr, short_line_length
        self.char_duplicates_ratio, self.min_dup_line_chars = char_duplicates_ratio, min_dup_line_chars
        self.new_line_ratio = new_line_ratio
        self.wrap_width, self.skip_label_lines = wrap_width, skip_label_lines

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        a = analyze(doc.text)
        lines = a.lines
        if not lines:
            return False, "fineweb_line_punct_ratio"
        n = len(lines)
        ends, counted_lines = terminal_punct_ratio(doc.text, self.wrap_width)
        ratio = ends / counted_lines
        if ratio < self.line_punct_thr and not (ratio == 0 and self.line_punct_exclude_zero):
            return False, "fineweb_line_punct_ratio"
        # A play's speaker labels are short lines of their own, one per speech: structure,
        # like a web page's paragraph breaks, so they count as neither short lines nor lines.
        content = without_labels(lines) if self.skip_label_lines else lines
        if content and sum(1 for s in content if len(s) <= self.short_line_length) / len(content) > self.short_line_thr:
            return False, "fineweb_short_line_ratio"
        counted = [s for s in content if len(s) >= self.min_dup_line_chars] if self.min_dup_line_chars else content
        _, dup_chars = duplicate_stats(counted)
        total = sum(map(len, lines))
        if total and dup_chars / total > self.char_duplicates_ratio:
            return False, "fineweb_char_dup_ratio"
        newlines = doc.text.count("\n") - 2 * (n - len(content))  # a label's own break and the blank line before it
        if a.n_words and newlines / a.n_words > self.new_line_ratio:
            return False, "fineweb_list_ratio"
        return True
