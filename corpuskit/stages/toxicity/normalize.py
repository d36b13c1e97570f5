"""Tokens for toxicity scoring: lowercase words with common obfuscations undone.

Shared by the lexicon and the classifier so that `f4gg0t`, `sh!t` and `fuuuuck`
reach both scorers as the word they spell. Swaps never touch a token made only
of digits, so numbers ("1999", "3.14") stay numbers.
"""

from __future__ import annotations

import re

# A word: letters/digits plus the characters people swap in for letters. The class is kept
# simple because it is the hot loop; `normalize_token` (memoized by callers) then strips
# `!` used as punctuation ("no!!") and `*` used for emphasis ("*very*").
TOKEN = re.compile(r"[\w@$*!]+")
_SWAPS = str.maketrans({"4": "a", "3": "e", "0": "o", "1": "i", "!": "i", "$": "s", "@": "a", "5": "s", "7": "t"})
_RUNS = re.compile(r"(.)\1{2,}")  # three or more of the same character


def collapse(token: str, keep: int) -> str:
    """Shorten runs of 3+ repeated characters to `keep` (1 or 2): fuuuuck -> fuck / fuuck."""
    if len(set(token)) > len(token) - 2:  # a run of three repeats some character twice
        return token
    return _RUNS.sub(lambda m: m.group(1) * keep, token)


def normalize_token(raw: str) -> str:
    """The canonical form of one raw token (already lowercase): swaps undone, long runs cut to two."""
    raw = raw.strip("!")
    if raw.startswith("*"):
        raw = raw.strip("*")
    if raw.startswith("@") and len(raw) > 1 and not raw[1:2] in "$*":
        return ""  # a mention: the handle would only teach the model names (tweets in training)
    if raw.isalpha():
        return collapse(raw, 2)
    if raw.isdigit():
        return raw
    return collapse(raw.translate(_SWAPS), 2)


# Twitter artefacts that say nothing about toxicity but are frequent in the training tweets.
SKIP = frozenset({"", "rt", "http", "https", "t", "co", "amp"})


def tokens(text: str) -> list[str]:
    """Raw lowercase tokens of `text` (normalize each with `normalize_token`)."""
    return TOKEN.findall(text.lower())
