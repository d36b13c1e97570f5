"""Which blocks are the article: each block's own signals, then where it lies.

Like jusText and trafilatura's fallback, each block first gets its own label: a long block
with few links is article text ("good"); a block that is mostly link text, or a short one
that reads as site furniture ("Share", "Related posts", "© 2024"), is boilerplate ("bad");
anything else ("short": a subheading, a list item, a one-line paragraph) is undecided.

Then, like Readability's choice of one top candidate, one span of the page is the article:
the run of good blocks with the most text, joined to the other runs with a real share of
text when boilerplate between them is short (an inline "Read more" box, an ad slot, a
figure). Inside the span every block stays but phrase furniture; outside it only the title
or lead just before it and one closing line after it.

Constants were chosen on the "tune" half of the dev set (bench/bench_html.py); a figure in a
comment is the change in the tune half's shingle F1 (0.887 as set) with that value instead.
Also measured there and left out: dropping link-dense blocks inside the span (-0.005),
cutting at a "Related"/"Comments" heading (-0.004 to -0.010), keeping all text of a page
with no article block (-0.009), a second, looser pass for listings (-0.001), starting at
the `<h1>` (+0.001: not worth its code).
"""

from __future__ import annotations

import re

from corpuskit.readers.extract.blocks import Block

GOOD_WORDS = 15  # a block of at least this many words, and few links, is article text (12: -0.001)
GOOD_CJK_CHARS = 40  # the same for text without spaces (Chinese, Japanese) ...
# ... when it has such characters: a long URL or file path shown as text is one "word" too
# (a product grid's links: must-not-contain absent +0.2 points on tune, F1 the same)
CJK = re.compile(r"[\u3000-\u9fff\uac00-\ud7af\uf900-\ufaff]")
MAX_LINK_DENSITY = 0.65  # more link text than this: navigation, teasers, tag lists (0.5: -0.002)
GOOD_LINK_DENSITY = 0.3  # a good block has at most this much
MAX_GAP = 3  # boilerplate blocks in a row that still do not end the article (5: +0.001 F1, but 89.4% w/o)
# another run of article text joins when it has this share of the longest's (0.1: +0.001, 0.5: -0.002)
CLUSTER_SHARE = 0.25
LEAD_BLOCKS = 3  # short blocks right before the article (title, deck, byline) kept with it (5: -0.001)
TRAIL_BLOCKS = 1  # and right after it (a sign-off)
# Short blocks that are the site's, not the article's, in the languages of the dev pages.
BOILERPLATE = re.compile(
    r"^\W*(?:(?:read|tags?|filed under):|"
    r"(?:share( this)?|tweet|print|email|advertisement|sponsored|related( posts| articles| stories)?|"
    r"read more|read next|see also|more from|you (may|might) also like|recommended|popular|most read|"
    r"trending|subscribe|sign up|newsletter|follow us|comments?|leave a (reply|comment)|filed under|"
    r"categor(y|ies)|©|copyright|all rights reserved|privacy policy|terms of (use|service)|cookies?|"
    r"log ?in|sign in|skip to|back to top|top of page|menu|search|"
    r"lire aussi|à lire aussi|zobacz (również|też)|mehr zum thema|weitere artikel|lea también|leia também)\b)",
    re.IGNORECASE)


def own_label(b: Block) -> str:
    """"good", "bad" or "short" from the block alone."""
    if b.words <= 12 and BOILERPLATE.match(b.text):
        return "bad"
    if b.link_density > MAX_LINK_DENSITY and b.kind != "h":  # a heading may be a link to itself
        return "bad"
    if b.kind == "pre":
        return "good"
    long = b.words >= GOOD_WORDS or (b.words <= 2 and len(b.text) >= GOOD_CJK_CHARS and CJK.search(b.text))
    return "good" if long and b.link_density <= GOOD_LINK_DENSITY else "short"


def article_span(labels: list[str]) -> tuple[int, int] | None:
    """(first, last) block of the article, or None when no block is article text."""
    runs: list[list[int]] = []  # [first, last, good characters]
    gap = MAX_GAP + 1
    for i, label in enumerate(labels):
        if label[0] == "good":
            if gap > MAX_GAP:
                runs.append([i, i, 0])
            runs[-1][1] = i
            runs[-1][2] += label[1]
            gap = 0
        elif label[0] == "bad":
            gap += 1
    if not runs:
        return None
    best = max(r[2] for r in runs)
    kept = [r for r in runs if r[2] >= CLUSTER_SHARE * best]
    return kept[0][0], kept[-1][1]


def classify(blocks: list[Block]) -> list[Block]:
    """Label every block "good" (the article's) or "bad" in place, and return the list."""
    own = [own_label(b) for b in blocks]
    span = article_span([(label, len(b.text)) for label, b in zip(own, blocks)])
    if span is None:  # no paragraph of article text: a listing, a product grid, an index (measured:
        for b in blocks:  # keeping all their text instead costs more precision than it gains recall)
            b.label = "bad"
        return blocks
    first, last = span
    while first > 0 and own[first - 1] == "short" and span[0] - first < LEAD_BLOCKS:
        first -= 1
    while last + 1 < len(blocks) and own[last + 1] == "short" and last - span[1] < TRAIL_BLOCKS:
        last += 1
    for i, b in enumerate(blocks):
        # inside the article its links are the article's (+0.003): only phrase furniture goes
        inside = first <= i <= last and not (b.words <= 12 and BOILERPLATE.match(b.text))
        b.label = "good" if inside else "bad"
    return blocks
