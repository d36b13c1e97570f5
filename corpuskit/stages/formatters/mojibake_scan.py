"""A C-speed pre-scan that finds every document ftfy's mojibake fixer could change.

`ftfy.fix_encoding` changes nothing unless `ftfy.badness.is_bad(text)` is true: its first
step returns ASCII text and text the badness regex does not match unchanged, and every
later step (re-encoding in each single-byte encoding, `restore_byte_a0`, lossy sequences,
`decode_inconsistent_utf8`, the Latin-1/cp1252 fallback) runs only after that test. But
`is_bad` runs at under 2 MB/s (37 alternatives and a look-behind tried at every position),
so it cannot be the scan itself.

This module derives a cheaper test from the same regex, with no hand-written table that
could fall behind ftfy: for each alternative of `BADNESS_RE`, every match contains one
character of each of its mandatory character classes, and two characters of adjacent
classes side by side. For each alternative we keep either one class made only of
characters that are rare in real text (the "single" set), or else the rarest adjacent pair
of classes, both non-ASCII. Then:

    is_bad(text)  =>  a "single" character occurs, or some pair [A][B] occurs adjacently

Both are looked for in the runs of adjacent non-ASCII characters, cut out by one
`bytes.translate` and `bytes.split` at memory speed: English text has few runs and
almost none of two characters. Only when that gate fires does the badness regex run,
on small windows around the trigger characters, so the answer is exactly `is_bad`'s.
`tests/stages/formatters/test_repair_mojibake.py` checks that on random strings and
that every alternative of the installed ftfy gets a trigger.
"""

from __future__ import annotations

import re
from re import _constants as _C  # noqa: PLC2701 (the parser's opcodes; stable since 3.11)
from re import _parser as _P  # noqa: PLC2701

# Characters common in correct text; a class holding one of them is a bad trigger on its
# own: Latin-1 and Latin Extended-A letters and symbols (é, ß, ©, £, °, ½), general
# punctuation (curly quotes, dashes, ellipsis, bullet), currency signs, Greek, Cyrillic.
_COMMON_RANGES = ((0x00A0, 0x017F), (0x2000, 0x206F), (0x20A0, 0x20CF), (0x0370, 0x045F), (0x2122, 0x2122))
# bytes.translate table: every ASCII byte becomes a space, so that bytes.split() yields
# exactly the runs of adjacent non-ASCII characters (each one 2-4 bytes in UTF-8).
_ASCII_TO_SPACE = b" " * 0x80 + bytes(range(0x80, 0x100))


def _is_common(c: str) -> bool:
    o = ord(c)
    return any(lo <= o <= hi for lo, hi in _COMMON_RANGES)


def _cost(chars: frozenset[str]) -> int:
    """How often a class would fire on clean text: ASCII is everywhere, common letters often."""
    return sum(10**6 if c.isascii() else 1000 if _is_common(c) else 1 for c in chars)


def _charset(item) -> frozenset[str] | None:
    """The characters one regex item matches, or None for anything wider (\\s, \\w, ., negation)."""
    op, av = item
    if op is _C.LITERAL:
        return frozenset(chr(av))
    if op is not _C.IN:
        return None
    out: set[str] = set()
    for o, a in av:
        if o is _C.LITERAL:
            out.add(chr(a))
        elif o is _C.RANGE:
            out.update(map(chr, range(a[0], a[1] + 1)))
        else:
            return None
    return frozenset(out)


def _mandatory(seq) -> tuple[list[frozenset[str]], list[tuple[frozenset[str], frozenset[str]]]]:
    """(classes every match contains, pairs of classes every match contains side by side)."""
    classes, pairs, prev = [], [], None
    for item in seq:
        chars = _charset(item)
        if chars is not None:
            classes.append(chars)
            if prev is not None:
                pairs.append((prev, chars))
        prev = chars  # anything else (look-behind, \s?, \s) breaks adjacency
        if item[0] is _C.SUBPATTERN:
            classes += _mandatory(item[1][-1])[0]
    return classes, pairs


def derive_gates(pattern: re.Pattern) -> tuple[frozenset[str], dict[frozenset[str], frozenset[str]]]:
    """(single trigger characters, {first class: second class}) covering every alternative."""
    tree = _P.parse(pattern.pattern, pattern.flags)
    branches = [seq for op, av in tree if op is _C.BRANCH for seq in av[1]] if len(tree) == 1 else [tree]
    single: set[str] = set()
    pairs: dict[frozenset[str], frozenset[str]] = {}
    for seq in branches:
        classes, adjacent = _mandatory(seq)
        if not classes:
            raise ValueError(f"ftfy badness alternative with no fixed character class: {seq}")
        best = min(classes, key=_cost)
        usable = [(a, b) for a, b in adjacent if not any(c.isascii() for c in a | b)]
        if _cost(best) < 1000 or not usable:
            single |= best  # rare enough alone, or no non-ASCII pair to use
            continue
        a, b = min(usable, key=lambda p: _cost(p[0]) * _cost(p[1]))
        pairs[a] = pairs.get(a, frozenset()) | b  # a wider second class is still a superset
    return frozenset(single), pairs


def _klass(chars: frozenset[str]) -> str:
    return "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"


def _pair_gate(pairs: dict[frozenset[str], frozenset[str]]) -> re.Pattern:
    """One regex that finds any of the pairs, opening with one character class.

    sre skips at C speed the positions where a pattern's opening class cannot match, and
    is slow on an alternation; so the pattern opens with the union of each pair's rarer
    side, and look-arounds then check which pair it was.
    """
    scan: set[str] = set()
    checks = []
    for a, b in pairs.items():
        if _cost(b) <= _cost(a):  # scan for the second character, look back for the pair
            scan |= b
            checks.append(f"(?<={_klass(a)}{_klass(b)})")
        else:  # scan for the first, look back at it and ahead at the second
            scan |= a
            checks.append(f"(?<={_klass(a)})(?={_klass(b)})")
    return re.compile(_klass(frozenset(scan)) + "(?:" + "|".join(checks) + ")")


class MojibakeScan:
    """`maybe_bad(text)` is `ftfy.badness.is_bad(text)`, found without running it on the whole text.

    The gate above rules out almost every clean document at C speed. When it fires, the
    badness regex runs only on windows around the characters the gate scans for: every
    match of every alternative contains one of them, and no match is longer than the
    window, so the answer is exactly `is_bad`'s.
    """

    def __init__(self, pattern: re.Pattern | None = None):
        if pattern is None:
            from ftfy.badness import BADNESS_RE as pattern
        single, pairs = derive_gates(pattern)
        if any(c.isascii() for c in single):
            raise ValueError("an ftfy badness alternative needs an ASCII trigger; the scan cannot skip ASCII")
        self._badness = pattern
        self._single = re.compile(_klass(single))
        self._pairs = _pair_gate(pairs)
        # Every match of every alternative holds one of these: a single, or a pair's side.
        self._anchors = re.compile(_klass(single.union(*pairs)))
        self._width = _P.parse(pattern.pattern, pattern.flags).getwidth()[1]
        if self._width > 64:
            raise ValueError("an ftfy badness alternative has no bounded length")

    def maybe_bad(self, text: str) -> bool:
        if text.isascii():
            return False  # ftfy returns ASCII text unchanged
        # The runs of adjacent non-ASCII characters: every single trigger is in one, and
        # every pair is inside one run of two characters or more (four bytes or more).
        runs = text.encode("utf-8", "surrogatepass").translate(_ASCII_TO_SPACE).split()
        if self._single.search(b"".join(runs).decode("utf-8", "surrogatepass")) is None:
            long_runs = b" ".join([r for r in runs if len(r) > 3]).decode("utf-8", "surrogatepass")
            if self._pairs.search(long_runs) is None:
                return False
        # Anchors closer than a match's length share one window.
        w, search = self._width, self._badness.search
        lo = hi = -1
        for m in self._anchors.finditer(text):
            p = m.start()
            if p - w + 1 > hi:
                if hi >= 0 and search(text, lo, hi) is not None:
                    return True
                lo = max(p - w + 1, 0)
            hi = p + w
        return hi >= 0 and search(text, lo, hi) is not None
