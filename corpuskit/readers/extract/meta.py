"""What a page says about itself: title, date, language, canonical URL (each None when absent).

Read from the head with CSS selectors (matched in C), in the order the publishers' own
conventions rank them: Open Graph and article meta tags first, then schema.org microdata,
then the generic tags.
"""

from __future__ import annotations

import re

_DATE_SELECTORS = (
    ('meta[property="article:published_time"]', "content"),
    ('meta[itemprop="datePublished"]', "content"),
    ('meta[name="date"]', "content"),
    ('meta[name="DC.date.issued"]', "content"),
    ('meta[name="pubdate"]', "content"),
    ('meta[property="og:updated_time"]', "content"),
)
_BODY_DATE_SELECTORS = (("[itemprop=datePublished]", "datetime"), ("time[datetime]", "datetime"))
_URL_SELECTORS = (('link[rel="canonical"]', "href"), ('meta[property="og:url"]', "content"))
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_WS = re.compile(r"\s+")


def _first(root, selectors, valid=None) -> str | None:
    for selector, attr in selectors:
        node = root.query_selector(selector)
        value = (node.getattr(attr) or "").strip() if node is not None else ""
        if value and (valid is None or valid.match(value)):
            return value
    return None


def page_metadata(tree) -> dict:
    """{"title", "date", "lang", "url"} of a parsed page (resiliparse HTMLTree); None where not found."""
    root = tree.document
    head = tree.head or root  # the meta tags are searched in the head only: a tenth of the page
    title = _first(head, (('meta[property="og:title"]', "content"),)) or tree.title or None
    # "yesterday", "3 hours ago": not a date a reader can sort by; the next candidate is asked
    date = _first(head, _DATE_SELECTORS, _DATE)
    if date is None and tree.body is not None:
        date = _first(tree.body, _BODY_DATE_SELECTORS, _DATE)
    html = root.query_selector("html")
    lang = (html.getattr("lang") or html.getattr("xml:lang") if html is not None else None) or \
        _first(head, (('meta[http-equiv="content-language"]', "content"),))
    return {"url": _first(head, _URL_SELECTORS), "title": _WS.sub(" ", title).strip() if title else None,
            "date": date, "lang": lang.strip().split(",")[0].strip() if lang and lang.strip() else None}
