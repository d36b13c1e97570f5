"""A word-list scorer: weighted hits of abusive words and phrases, obfuscations undone.

Matching is on whole tokens (so "class" never hits "ass" and "Scunthorpe" never hits a
stem), after `normalize_token` has undone character swaps (`b1tch`, `@$$hole`) and cut
long letter runs (`fuuuuck`). A token with `*` inside (`f*ck`, `sh**`) matches a
listed word of the same shape. The score of a text is `1 - prod(1 - weight)` over its
hits: one slur or two strong swear words reach 0.5; a lone "damn" does not.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

from corpuskit.stages.toxicity.normalize import TOKEN, normalize_token, tokens

WORDLIST = Path(__file__).with_name("wordlist.txt")
_DOUBLES = re.compile(r"(.)\1+")  # after normalize_token a run is at most two long


def load_wordlist(path: str | Path = WORDLIST) -> dict[str, float]:
    """TERM -> weight from a `TERM<TAB>WEIGHT` file; `#` starts a comment."""
    terms: dict[str, float] = {}
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        line = line.split("#", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if not line:
            continue
        term, sep, weight = line.rpartition("\t")
        try:
            w = float(weight)
        except ValueError:
            w = -1.0
        if not sep or not term.strip() or not 0.0 < w <= 1.0:
            raise ValueError(f"{path}:{lineno}: expected TERM<TAB>WEIGHT with 0 < weight <= 1, got {line!r}")
        terms[" ".join(term.lower().split())] = w
    return terms


class LexiconScorer:
    """Score texts by the weighted word list (`wordlist.txt` unless `path` is given)."""

    def __init__(self, path: str | Path = WORDLIST):
        terms = load_wordlist(path)
        self.words = {t: w for t, w in terms.items() if " " not in t and not t.endswith("*")}
        self.stems = {t[:-1]: w for t, w in terms.items() if t.endswith("*")}
        phrases = sorted((t, w) for t, w in terms.items() if " " in t)
        self.phrases = {f"p{i}": w for i, (_, w) in enumerate(phrases)}  # regex group name -> weight
        self._phrase_re = _phrase_regex([t for t, _ in phrases])
        self._stem_re = re.compile("|".join(sorted(map(re.escape, self.stems), key=len, reverse=True))) \
            if self.stems else None
        # A phrase can only match in a text where each of its words of three or more letters
        # matches, as a whole word, inside some whitespace chunk (the phrase's pattern has a
        # non-word character or an edge of the text on each side of every word): bit i + 1 stands
        # for the i-th such word.
        keys = [{w for w in t.split() if len(w) >= 3} for t, _ in phrases]
        words = sorted(set().union(*keys))
        self._phrase_words = [(re.compile(rf"(?<!\w){_phrase_word(w)}(?!\w)"), 2 << i) for i, w in enumerate(words)]
        self._phrase_masks = [sum(2 << words.index(w) for w in k) for k in keys]
        firsts = "".join(sorted({c for w in words for c in _LOOKALIKE.get(w[0], w[0])}))
        self._any_phrase_word = re.compile(f"(?=[{re.escape(firsts)}])" + r"(?<!\w)(?:"
                                           + "|".join(map(_phrase_word, words)) + r")(?!\w)") if words else None
        # raw token -> 0 (not listed) or (canonical token, weight)
        self._cache: dict[str, int | tuple[str, float]] = {}
        self._unlisted: set[str] = set()  # the raw tokens whose verdict is 0
        # whitespace chunk -> bit 0: holds a listed word or a `!` inside a token (a `!` can end a
        # sentence inside a token of the whole text: "shit!fuck" is "shit!" and "fuck" in two
        # units), so the units need their own look-up; bits 1...: phrase words it holds.
        # Chunks with none of these are in `_plain`.
        self._chunks: dict[str, int] = {}
        self._plain: set[str] = set()

    def _token(self, raw: str) -> int | tuple[str, float]:
        """The memoized verdict on one raw lowercase token."""
        hit = self._cache.get(raw)
        if hit is None:
            if len(self._cache) > 500_000:  # bound memory on endless vocabularies
                self._cache.clear()
                self._unlisted.clear()
            tok, w = self._lookup(normalize_token(raw))
            hit = self._cache[raw] = (tok, w) if w else 0
            if not hit:
                self._unlisted.add(raw)
        return hit

    def _learn(self, chunks: list[str]) -> int:
        """Memoize the `_chunks` bits of chunks never seen before; their OR.

        All of them at once: one tokenization and one phrase-word scan of the chunks joined by
        line breaks (neither a token nor a phrase word holds whitespace), then a closer look
        only at the chunks that hold a listed token or a phrase word.
        """
        if len(self._chunks) + len(self._plain) > 1_000_000:  # bound memory on endless vocabularies
            self._chunks.clear()
            self._plain.clear()
        joined = "\n".join(chunks)
        marks: dict[int, int] = {}
        bad, known = set(), self._cache.get
        for t in set(TOKEN.findall(joined)):
            hit = known(t)
            if hit is None:
                hit = self._token(t)
            if hit or ("!" in t and "!" in t.rstrip("!")):
                bad.add(t)
        if bad:
            for i, chunk in enumerate(chunks):
                if not bad.isdisjoint(TOKEN.findall(chunk)):
                    marks[i] = 1
        found = self._any_phrase_word.finditer(joined) if self._any_phrase_word is not None else ()
        starts = None
        for m in found:  # a chunk with two phrase words: both are found below
            if starts is None:
                starts = list(accumulate((len(c) + 1 for c in chunks[:-1]), initial=0))
            i = bisect_right(starts, m.start()) - 1
            marks[i] = marks.get(i, 0) | sum(bit for pattern, bit in self._phrase_words
                                             if pattern.search(chunks[i]))
        flags = 0
        for i, bits in marks.items():
            self._chunks[chunks[i]] = bits
            flags |= bits
        self._plain.update((c for i, c in enumerate(chunks) if i not in marks) if marks else chunks)
        return flags

    def _lookup(self, tok: str) -> tuple[str, float]:
        # a token whose letters all differ has no doubled letter to undo
        for cand in (tok,) if len(set(tok)) == len(tok) else (tok, _DOUBLES.sub(r"\1", tok)):
            if cand in self.words:
                return cand, self.words[cand]
            if self._stem_re is not None and (m := self._stem_re.match(cand)):
                return cand, self.stems[m.group(0)]
        if "*" in tok and not tok.startswith("*") and len(tok.replace("*", "")) >= 2:
            return self._masked(tok)
        return tok, 0.0

    def _masked(self, tok: str) -> tuple[str, float]:
        """`f*ck`, `sh**`: a listed word (or stem) whose letters fit around the stars."""
        pattern = _masked_pattern(tok)
        best = (tok, 0.0)
        for word, w in self.words.items():
            if w > best[1] and pattern.fullmatch(word):
                best = (word, w)
        for stem, w in self.stems.items():
            if w > best[1] and any(pattern.fullmatch(stem + end) for end in _STEM_ENDINGS):
                best = (stem, w)
        return best

    def score_spans(self, low: str, spans: list[tuple[int, int]]) -> list[float]:
        """The lexicon score of each unit `low[a:b]` of the lowercased text `low`.

        Units are cut where `split_units` cuts them: a span may end inside a token of the
        whole text only at a `!`.

        The common case costs one whitespace split and one set test: no token of the text is
        listed and no phrase has all its words there (tokens never hold whitespace, so a
        text's tokens are those of its chunks). Only a text with a listed word is tokenized unit
        by unit, and only one holding the words of some phrase is searched for phrases;
        a phrase counts for the unit whose span holds its start.
        """
        keep = [1.0] * len(spans)
        chunks = low.split()
        flags = 0
        if not self._plain.issuperset(chunks):
            fresh = []
            for chunk in set(chunks).difference(self._plain):
                bits = self._chunks.get(chunk)
                if bits is None:
                    fresh.append(chunk)
                else:
                    flags |= bits
            if fresh:
                flags |= self._learn(fresh)
        if flags & 1:
            for u, (a, b) in enumerate(spans):
                unit = TOKEN.findall(low, a, b)
                if not self._unlisted.issuperset(unit):
                    for t in unit:
                        if hit := self._token(t):
                            keep[u] *= 1.0 - hit[1]
        if self._phrase_re is not None and spans and any((m & flags) == m for m in self._phrase_masks):
            starts = [a for a, _ in spans]
            for m in self._phrase_re.finditer(low):
                u = bisect_right(starts, m.start()) - 1
                if u >= 0 and m.start() < spans[u][1]:
                    keep[u] *= 1.0 - self.phrases[m.lastgroup]
        return [1.0 - k for k in keep]

    def score_batch(self, lowered: list[tuple[str, list[tuple[int, int]]]]) -> list[list[float]]:
        """`score_spans` of each (lowercased text, spans), text by text: a text with a listed word
        is tokenized unit by unit, which would cost every text of a joined batch that."""
        return [self.score_spans(low, spans) for low, spans in lowered]

    def score(self, text: str) -> float:
        """The lexicon score of a text in [0, 1]."""
        low = text.lower()
        return self.score_spans(low, [(0, len(low))])[0]

    def hits(self, text: str) -> list[str]:
        """The listed words found in `text`, in order (for debugging a decision)."""
        return [v[0] for v in map(self._token, tokens(text)) if v and v[1]]


# Letters as people disguise them inside phrases ("k1ll y0urself").
_LOOKALIKE = {"a": "a4@", "e": "e3", "i": "i1!", "o": "o0", "s": "s$5", "t": "t7"}


def _phrase_word(w: str) -> str:
    """The pattern of one word of a phrase: lookalike letters allowed, any letter repeated."""
    return "".join(f"[{re.escape(_LOOKALIKE[c])}]+" if c in _LOOKALIKE else f"{re.escape(c)}+" for c in w)


def _phrase_regex(phrases: list[str]) -> re.Pattern | None:
    """One pattern for all phrases, a named group each, on word boundaries, any spacing."""
    if not phrases:
        return None
    alts = [f"(?P<p{i}>" + r"\W+".join(map(_phrase_word, p.split())) + ")" for i, p in enumerate(phrases)]
    # A leading look-ahead on the possible first characters lets the scan skip most positions
    # before trying the look-behind and the alternation (about 2x faster on book text).
    firsts = "".join(sorted({c for p in phrases for c in _LOOKALIKE.get(p[0], p[0])}))
    return re.compile(f"(?=[{re.escape(firsts)}])" + r"(?<![\w@$])(?:" + "|".join(alts) + r")(?![\w@$])")


# Endings tried after a stem when a masked token is matched ("f*cking" against "fuck*").
_STEM_ENDINGS = ("", "s", "y", "ed", "er", "ers", "in", "ing", "ings")


@lru_cache(maxsize=4096)
def _masked_pattern(tok: str) -> re.Pattern:
    """Each run of stars stands for one to three letters."""
    return re.compile("".join(".{1,3}" if c == "*" else re.escape(c) for c in re.sub(r"\*+", "*", tok)))

