"""Where the article is in the DOM: the page's own hints (schema.org's articleBody, the class
names content systems give the article's body, `<article>`), believed only when they single
out one element holding the text.

The hints fail in known ways, each checked here: a listing page marks every teaser as an
`<article>` (none holds most of the text: no root); an infinite-scroll page stacks the next
stories as more `<article>`s (the first large one is the page's own); some sites wrap the
whole page, menus included, in `<main>` (no harm: the block rules still run inside it); a
hint around a few words only (a byline in `<article>`) is ignored.
"""

from __future__ import annotations

# The class names content systems give the article's body (WordPress's `entry-content`, ...;
# trafilatura's first content rule looks for the same kind): on the tune half +0.0044 F1
# (precision 0.880 to 0.890) and must-not-contain absent 90.7% to 92.7%, 17 pages better.
# Each name costs a pass of the selector (about 0.05 ms a page): trafilatura's whole list of
# 26 names scored 0.9012 at twice this list's cost; after `<article>` instead of before, 0.9006.
BODY_CLASSES = ("entry-content", "post-content", "post-body", "article-content", "article-body", "article__content",
                "article__body", "story-body")
_BODY_CLASS = ", ".join(f'[class*="{name}"]' for name in BODY_CLASSES)
# Each hint finds its elements in the body, in page order. `[itemprop="articleBody"]` is read
# by attribute lookup: the same elements at a third of the selector's cost.
HINTS = (lambda body: body.get_elements_by_attr("itemprop", "articleBody"),
         lambda body: body.query_selector_all(_BODY_CLASS),
         lambda body: body.query_selector_all("article"))  # `<main>` measured worse: often the whole page
MIN_CHARS = 400  # a hint around less text than this is a teaser or a byline
MAX_HINTS = 50  # a listing with more teasers than this is not one article: measuring them all costs
MIN_SHARE = 0.5  # and it must hold this share of the text its kind holds on the page


def article_root(tree):
    """The element that holds the article, or None when the page's hints do not single one out."""
    body = tree.body
    if body is None:
        return None
    for hint in HINTS:
        nodes = hint(body)
        if not len(nodes):
            continue
        # `item(i)`, not `nodes[i]`: resiliparse's indexing walks the whole list each time (50
        # teasers of a 1,000-teaser listing: 0.24 s against 0.1 ms)
        sizes = [(len(node.text), node) for node in map(nodes.item, range(min(len(nodes), MAX_HINTS)))]
        total = sum(size for size, _ in sizes)  # a nested one counts twice: the outer still dominates
        big = [(size, n) for size, n in sizes if size >= MIN_CHARS]
        if not big:
            continue
        size, node = big[0]  # the first large one: the page's own story, not the ones after it
        if size >= MIN_SHARE * total:
            return node
    return None


def keep_only(node) -> None:
    """Remove everything in the body but `node` and its ancestors (their other children go)."""
    while node.parent is not None and node.tag not in ("body", "html"):
        parent = node.parent
        parent.replace_children(node)  # in C: a loop over the siblings here cost 0.2 ms a page
        node = parent
