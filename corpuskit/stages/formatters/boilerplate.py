"""Boilerplate lines: C4's line rules and web navigation menus, removed line by line.

Rules (each can be switched off; removed lines are counted as `lines_removed_<rule>`):

- `javascript`: a line mentioning "javascript" ("Please enable JavaScript", C4).
- `policy`: cookie, privacy and terms notices (C4's list plus a few common banners).
- `citations`: markers like `[1]`, `[edit]`, `[citation needed]` are cut out of the line (C4).
- `navigation`: menu lines. A line of short items split by `|`, `»`, `›`, `·` or `•`
  ("Home | About | Contact"), or a run of at least `nav_min_run` consecutive short
  lines (at most `nav_max_words` words, no closing punctuation at all, not even `,;:`).
  A single heading is never a run, and verse survives because its lines are longer
  and usually end in punctuation; speaker labels ("ROMEO:") end in a colon. An indented
  line (one that starts with a space) is shaped text, not a menu item: it is never part
  of a run and it ends one. The shaped "Mouse's Tale" in Alice and indented verse are
  runs of short unpunctuated lines, and menus extracted from HTML are not indented.
- `numeric`: a line of at least 10 tokens where most tokens have no letter: archive
  widgets ("June 2016 (6) May 2016 (5) ..."), year pickers, dotted contents pages.
- C4's strict line rules, off by default because they shred hard-wrapped books and
  verse (a wrapped line rarely ends in punctuation, and "ROMEO:" has one word):
  `min_words_per_line` (C4: 3) and `require_terminal_punct` (C4: true).

A document whose every line is removed is dropped as `empty`.
"""

from __future__ import annotations

import re

from typing import Annotated

from corpuskit.schema import NonEmptyStr, NonNegative, Positive, Range
from corpuskit.stage import Mapper
from corpuskit.stages.analysis import _NO_LETTER_TOKEN, TERMINAL_PUNCT, analyze

# C4's policy substrings (lowercase), plus cookie-banner wording seen on current pages.
POLICY_PHRASES = (
    "terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies",
    "accept cookies", "accept all cookies", "cookie settings", "we use cookies", "terms of service",
    "terms and conditions",
)
_CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]", re.IGNORECASE)
_MENU_SEP = re.compile(r"\s*[|»›·•]\s*")
_LEADING_BULLET = re.compile(r"^[-*•·]\s+")
# Any closing punctuation: a line ending like this is a sentence, clause or label, not a menu item.
_CLOSING = TERMINAL_PUNCT + (",", ";", ":", ")", "]", "—", "-")
# C4's own test for a sentence-like line: one of . ? ! " ' at the end, and not "...".
_C4_END = (".", "?", "!", '"', "'")
_NAV_MAX_CHARS = 60  # a menu item of at most 4 words is never longer
_DIGITS = "0123456789"


class Boilerplate(Mapper):
    """Remove boilerplate lines; see the module docstring for the rules and parameters."""

    name = "boilerplate"

    def __init__(self, javascript: bool = True, policy: bool = True, citations: bool = True,
                 navigation: bool = True, numeric: bool = True, nav_max_words: Positive = 4,
                 nav_min_run: Annotated[int, Range(2)] = 3,  # 1 would take every lone heading for a menu
                 min_words_per_line: NonNegative = 0, require_terminal_punct: bool = False,
                 # an empty phrase is in every line: every line would go as policy
                 policy_phrases: tuple[NonEmptyStr, ...] = tuple(POLICY_PHRASES)):
        super().__init__()
        self.javascript, self.policy, self.citations, self.navigation = javascript, policy, citations, navigation
        self.numeric = numeric
        self.nav_max_words, self.nav_min_run = nav_max_words, nav_min_run
        self.min_words_per_line, self.require_terminal_punct = min_words_per_line, require_terminal_punct
        phrases = [re.escape(p.lower()) for p in policy_phrases] if policy else []
        keys = phrases + (["javascript"] if javascript else [])
        # One scan of the lowercased text tells whether any line can match at all.
        self._line_hit = re.compile("|".join(keys)) if keys else None
        self._policy = re.compile("|".join(phrases)) if phrases else None

    def _is_short(self, line: str) -> bool:
        # The length test first: most web lines are long paragraphs and never need splitting.
        return (len(line) <= _NAV_MAX_CHARS and not line.endswith(_CLOSING)
                and len(line.split(None, self.nav_max_words)) <= self.nav_max_words)

    def _is_menu(self, line: str) -> bool:
        items = _MENU_SEP.split(_LEADING_BULLET.sub("", line))
        items = [i for i in items if i]
        return (len(items) >= 2 and not line.endswith(TERMINAL_PUNCT)
                and all(len(i.split(None, self.nav_max_words)) <= self.nav_max_words for i in items))

    def map(self, text: str) -> str:
        lines = text.split("\n")
        drop: dict[int, str] = {}
        # analyze() caches the lowercased text for the quality filters downstream too.
        if self._line_hit is not None and self._line_hit.search(analyze(text).lower_text):
            for i, line in enumerate(lines):
                low = line.lower()
                if self.javascript and "javascript" in low:
                    drop[i] = "javascript"
                elif self._policy is not None and self._policy.search(low):
                    drop[i] = "policy"
        if self.navigation:
            self._mark_navigation(lines, drop)
        if self.numeric:
            for i, line in enumerate(lines):
                if len(line) >= 40 and i not in drop:
                    # Cheap gate: a line mostly of letter-less tokens is full of digits.
                    n = line.count(" ") + 1
                    if n < 10 or sum(map(line.count, _DIGITS)) * 2 < n:
                        continue
                    n = len(line.split())
                    if n >= 10 and len(_NO_LETTER_TOKEN.findall(line)) * 2 > n:
                        drop[i] = "numeric"
        if self.min_words_per_line or self.require_terminal_punct:
            for i, line in enumerate(lines):
                s = line.strip()
                if not s or i in drop:
                    continue
                if self.require_terminal_punct and (not s.endswith(_C4_END) or s.endswith("...")):
                    drop[i] = "no_terminal_punct"
                elif len(s.split()) < self.min_words_per_line:
                    drop[i] = "too_few_words"
        if drop:
            for rule in drop.values():
                self.stats.inc(f"lines_removed_{rule}")
            lines = [line for i, line in enumerate(lines) if i not in drop]
            text = "\n".join(lines)
            text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
        if self.citations and "[" in text:
            text, n = _CITATION.subn("", text)
            if n:
                self.stats.inc("citations_removed", n)
        return text

    def _mark_navigation(self, lines: list[str], drop: dict[int, str]) -> None:
        run: list[int] = []  # indices of the current run of short lines; blank lines neither break nor count

        def close() -> None:
            if len(run) >= self.nav_min_run:
                for j in run:
                    drop.setdefault(j, "navigation")
            run.clear()

        for i, raw in enumerate(lines):
            line = raw.strip()
            if not line:
                continue
            if raw[0] in " \t":  # indented: verse or shaped text
                close()
                continue
            menu = _has_separator(line) and self._is_menu(line)
            if menu:
                drop.setdefault(i, "navigation")
            if menu or self._is_short(line):
                run.append(i)
            else:
                close()
        close()


def _has_separator(line: str) -> bool:
    return "|" in line or "»" in line or "›" in line or "·" in line or "•" in line
