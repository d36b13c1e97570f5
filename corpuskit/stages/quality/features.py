"""What the quality model reads: the normalized text (for the n-gram classifier) and rule statistics.

`normalize` removes what the training data gives away instead of quality (MANIFEST of
shared/corpora/quality: the reference pages have many short paragraphs, the crawl excerpts one
line or two): every run of whitespace becomes one space, so line breaks carry no signal, and
only the first `max_chars` characters are read. The n-gram vector is scaled to unit length, so
length itself is no feature either.

`rule_stats` are the statistics the Gopher, C4 and FineWeb rules threshold, as numbers rather than
pass/fail: the share of letters, digits, capitals and symbols, word length, stop words, commas,
sentence length, lines ending in punctuation, short, duplicated and bulleted lines, and distinct
words per word (which falls with length: on the dev pages, longer pages are more often good,
so it was kept; the raw length itself was left out, docs/QUALITY.md).
Characters are classified through one lookup table over all texts at once (numpy), so the
statistics cost less than the n-gram features.
"""

from __future__ import annotations

import re

import numpy as np

STATS = ("alpha_frac", "digit_frac", "upper_frac", "symbol_frac", "mean_word_len", "stopword_frac",
         "comma_per_word", "words_per_sentence", "punct_end_lines", "short_lines", "dup_line_chars",
         "bullet_lines", "type_token")
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")
_BULLET = re.compile(r"(?:[-•*·▪►]|\d{1,3}[.)])\s")
_ENDS = frozenset(".!?\"'”’)")
# Gopher's stop words and the commonest function words: prose has them, lists and keyword pages do not
_STOP = frozenset("""the be to of and a in that have i it for not on with he as you do at this but his by from they we
say her she or an will my one all would there their what so up out if about who get which go me when make can like
time no just him know take people into year your good some could them see other than then now look only come its over
think also back after use two how our work first well way even new want because any these give day most us is are was
were has had been""".split())
_STOP_BYTES = frozenset(w.encode() for w in _STOP)
# On the UTF-8 bytes, ASCII punctuation and digits become spaces and capitals lowercase (one C call,
# bytes.translate): what is left, split on whitespace, are the words. A non-ASCII letter stays (its bytes
# count in the word length; the stop words are ASCII).
_WORDS_ONLY = bytes(c if chr(c).isalpha() or c >= 128 else 32 for c in range(256)).lower()

# code point -> 0 space/other, 1 letter, 2 capital letter, 3 digit, 4 symbol (markup, separators)
_CLASS = np.zeros(1 << 16, dtype=np.uint8)
for _cp in range(1 << 16):
    _ch = chr(_cp)
    if _ch.isalpha():
        _CLASS[_cp] = 2 if _ch.isupper() else 1
    elif _ch.isdigit():
        _CLASS[_cp] = 3
_CLASS[[ord(c) for c in "#|{}<>[]=*_~^@/\\+&%$"]] = 4


def normalize(text: str, max_chars: int) -> str:
    """Whitespace runs to one space, then the first `max_chars` characters (what the n-grams see)."""
    return " ".join(text[: 2 * max_chars].split())[:max_chars]  # split/join: faster than a regex


def _char_classes(texts: list[str]) -> np.ndarray:
    """(N, 5) counts of each character class per text, all texts in one pass."""
    if not texts:
        return np.zeros((0, 5))
    cp = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    cls = _CLASS[np.minimum(cp, 0xFFFF)]  # beyond the BMP: emoji and rare scripts count as "other"
    doc = np.repeat(np.arange(len(texts)), [len(t) for t in texts])
    return np.bincount(doc * 5 + cls, minlength=5 * len(texts)).reshape(-1, 5).astype(np.float64)


def rule_stats(texts: list[str], max_chars: int) -> np.ndarray:
    """(N, len(STATS)) float64: the rule statistics of each text's first `2 * max_chars` characters."""
    texts = [t[: 2 * max_chars] for t in texts]
    classes = _char_classes(texts)
    visible = np.maximum(classes[:, 1:].sum(1), 1.0)
    out = np.zeros((len(texts), len(STATS)))
    out[:, 0] = (classes[:, 1] + classes[:, 2]) / visible
    out[:, 1] = classes[:, 3] / visible
    out[:, 2] = classes[:, 2] / visible
    out[:, 3] = classes[:, 4] / visible
    for i, text in enumerate(texts):
        words = text.encode("utf-8", "surrogatepass").translate(_WORDS_ONLY).split()
        n = max(len(words), 1)
        lines = [line.strip() for line in text.split("\n")]
        lines = [line for line in lines if line]
        n_lines = max(len(lines), 1)
        seen: set[str] = set()
        dup = 0
        for line in lines:
            if line in seen:
                dup += len(line)
            seen.add(line)
        out[i, 4:] = (sum(map(len, words)) / n,
                      sum(map(_STOP_BYTES.__contains__, words)) / n,
                      text.count(",") / n,
                      len(words) / max(len(_SENTENCE_END.findall(text)), 1),
                      sum(line[-1] in _ENDS for line in lines) / n_lines,
                      sum(len(line) < 30 for line in lines) / n_lines,
                      dup / max(len(text), 1),
                      sum(bool(_BULLET.match(line)) for line in lines) / n_lines,
                      len(set(words)) / n)
    out[:, [4, 7]] = np.log1p(out[:, [4, 7]])  # word and sentence length: long-tailed, on a log scale
    return out
