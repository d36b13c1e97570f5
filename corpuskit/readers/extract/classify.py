"""Which blocks are the article: each block's own signals, then its neighbours'.

Like jusText and trafilatura's fallback: a long block with few links is article text
("good"); a block that is mostly link text, or a short one that reads as site furniture
("Share", "Related posts", "© 2024"), is boilerplate ("bad"); a short block in between
("short": a subheading, a list item, a one-line paragraph) takes its side from the nearest
decided blocks around it, so a list inside an article stays and a menu beside it goes.
"""

from __future__ import annotations

import re

from corpuskit.readers.extract.blocks import Block

GOOD_WORDS = 15  # a paragraph of at least this many words, and few links, is article text
NEAR_GOOD_WORDS = 7  # a short block between article and boilerplate: a sentence of this many words is article
MAX_GAP = 3  # boilerplate blocks in a row that still do not end the article
CLUSTER_SHARE = 0.25  # another run of article text is kept when it has this share of the longest run's
LEAD_BLOCKS = 3  # short blocks right before the article (title, deck, byline) kept with it
TRAIL_BLOCKS = 1
GOOD_CJK_CHARS = 40  # the same for text without spaces (Chinese, Japanese)
MAX_LINK_DENSITY = 0.65  # more link text than this: navigation, teasers, tag lists (0.5 measured 0.004 F1 lower)
GOOD_LINK_DENSITY = 0.3
# Short lines that are the site's, not the article's, in the languages of the dev pages.
BOILERPLATE = re.compile(
    r"^\W*(share( this)?|tweet|print|email|advertisement|sponsored|related( posts| articles| stories)?|"
    r"read more|read next|see also|more from|you (may|might) also like|recommended|popular|most read|"
    r"trending|subscribe|sign up|newsletter|follow us|comments?|leave a (reply|comment)|tags?:|filed under|"
    r"categor(y|ies)|©|copyright|all rights reserved|privacy policy|terms of (use|service)|cookies?|"
    r"log ?in|sign in|skip to|back to top|top of page|menu|search|"
    r"lire aussi|à lire aussi|zobacz (również|też)|mehr zum thema|weitere artikel|lea también|leia também)\b",
    re.IGNORECASE)


def _own_label(b: Block) -> str:
    if b.link_density > MAX_LINK_DENSITY and b.kind != "h":  # a heading may be a link to itself
        return "bad"
    if b.words <= 12 and BOILERPLATE.match(b.text):
        return "bad"
    if b.kind == "pre":
        return "good"
    long = b.words >= GOOD_WORDS or (b.words <= 2 and len(b.text) >= GOOD_CJK_CHARS)
    return "good" if long and b.link_density <= GOOD_LINK_DENSITY else "short"


def classify(blocks: list[Block]) -> list[Block]:
    """Label every block "good" or "bad" (in place) and return the list.

    The article is the run of good blocks with the most text, grown over gaps of boilerplate
    up to MAX_GAP blocks long to the runs of at least CLUSTER_SHARE of its text (an inline
    "Read more" box or a figure does not end it; a footer with one long blurb is not part of
    it). Inside that span a short block stays unless its own signals say boilerplate; outside
    it, only a heading or short lead right before it is kept.
    """
    for b in blocks:
        b.label = _own_label(b)
    runs: list[list[int]] = []  # [first, last, good characters] of good blocks closer than MAX_GAP
    gap = MAX_GAP + 1
    for i, b in enumerate(blocks):
        if b.label == "good":
            if gap > MAX_GAP or not runs:
                runs.append([i, i, 0])
            runs[-1][1] = i
            runs[-1][2] += len(b.text)
            gap = 0
        elif b.label == "bad":
            gap += 1
    if not runs:
        for b in blocks:
            b.label = "bad"
        return blocks
    best = max(r[2] for r in runs)
    kept = [r for r in runs if r[2] >= CLUSTER_SHARE * best]
    first, last = kept[0][0], kept[-1][1]
    inside = set(range(first, last + 1))  # a smaller run between two kept ones is the article's too
    # a title or lead just before the text: short blocks immediately before it
    j = first - 1
    while j >= 0 and blocks[j].label == "short" and first - j <= LEAD_BLOCKS:
        inside.add(j)
        j -= 1
    j = last + 1  # and a closing line right after it (a sign-off, a last short paragraph)
    while j < len(blocks) and blocks[j].label == "short" and j - last <= TRAIL_BLOCKS:
        inside.add(j)
        j += 1
    for i, b in enumerate(blocks):
        b.label = "good" if i in inside and b.label != "bad" else "bad"
    return blocks
