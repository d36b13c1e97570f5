"""HTML pages: `.html` / `.htm` files, and the HTML bodies of WARC responses (readers/warc.py).

The main text comes from one of three extractors, the reader's `html_extractor`:

    corpuskit    (default) resiliparse parses and renders; the choice of what is article is
                 corpuskit's (readers/extract/: the page's `<article>` hint, link density,
                 block length, boilerplate phrases, neighbours). Dev set (bench/bench_html.py,
                 docs/HTML.md): precision well above resiliparse's at about its speed.
    resiliparse  `extract_plain_text(main_content=True)` alone: the fastest, keeps more boilerplate.
    trafilatura  `trafilatura.extract`: about 10x slower; the `[trafilatura]` extra.

Each document's metadata: `url` (the page's canonical URL; for a WARC record its target URI, the
canonical one then in `canonical_url`),
`title`, `date` (published, ISO, where the page gives one), `lang` (as the page declares it),
`extractor`; None where the page does not say.

Bytes are decoded as UTF-8 when they are valid UTF-8 (a declared legacy charset is often
wrong about re-saved pages), else by the HTTP header's charset, else by resiliparse's
detection (meta tags, then content). A page with no main text is rejected as `no_text`; a
page over `MAX_PAGE_BYTES` as `html_too_large` (parsing and extraction time grows with it).

Main-content extraction takes time that grows with the square of the page's nesting depth
(2,000 nested elements: 0.1 s; 8,000: 2 s; 32,000: 45 s), so a page nested deeper than
`html_max_depth` (1,000) is rejected as `html_too_deep` before it is extracted. The depth
is checked on the parsed tree (`deeper_than`, parsing is linear); `nesting_depth` reads
the same from the bytes, for a caller without a tree.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Iterator

from corpuskit.document import Document
from corpuskit.errors import CorpuskitError
from corpuskit.readers.base import READ_STAGE, ReaderConfig, RejectFn, Source, read_whole, replace_surrogates

HTML_TYPES = ("text/html", "application/xhtml+xml")
EXTRACTORS = ("corpuskit", "resiliparse", "trafilatura")
# resiliparse's main-content rules drop every `<ul>`, a bulleted list inside an article too; an
# `<ol>` they keep. corpuskit's extractor renames them before parsing and tells menus from lists
# itself (link density): +0.012 recall, +0.007 F1 on the tune half. On the bytes when they are
# UTF-8 (a third of the time of the same regex on the decoded text); on the text otherwise,
# since in ISO-2022-JP or UTF-16 the bytes of `<ul` can be part of other characters.
_UL = re.compile(r"<(/?)[uU][lL](?=[\s>/])")
_UL_BYTES = re.compile(rb"<(/?)[uU][lL](?=[\s>/])")
MAX_PAGE_BYTES = 16 << 20  # the largest page of the dev set is 1.6 MB; 16 MB takes about a second


class MissingExtra(CorpuskitError, ImportError):
    """An optional dependency of a reader is not installed; the message says which extra to install."""


def _resiliparse():
    try:
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.encoding import bytes_to_str, detect_encoding
    except ImportError:
        raise MissingExtra("reading HTML needs resiliparse: pip install 'corpuskit[web]'") from None
    return extract_plain_text, bytes_to_str, detect_encoding


class TooDeep(Exception):
    """A page nests its elements deeper than the reader's `html_max_depth`."""


class TooLarge(Exception):
    """A page is larger than MAX_PAGE_BYTES."""


def check_extractor(name: str) -> None:
    """Raise ValueError for an unknown extractor, MissingExtra when its package is not installed."""
    import importlib.util

    if name not in EXTRACTORS:
        raise ValueError(f"html_extractor must be one of {', '.join(EXTRACTORS)}; got {name!r}")
    if importlib.util.find_spec("resiliparse") is None:
        raise MissingExtra("reading HTML needs resiliparse: pip install 'corpuskit[web]'")
    if name == "trafilatura" and importlib.util.find_spec("trafilatura") is None:
        raise MissingExtra("html_extractor trafilatura needs trafilatura: pip install 'corpuskit[trafilatura]'")


_TAG = re.compile(rb"<(/?)([A-Za-z][A-Za-z0-9:-]*)[^<>]*>")
# Elements that hold no others: no end tag, or one the parser implies at the next sibling
# (a `<p>` or `<li>` left open does not make the tree deeper), or raw text.
_LEAVES = frozenset(b"area base br col embed hr img input link meta param source track wbr "
                    b"p li dt dd option optgroup tr td th thead tbody tfoot rt rp".split())
_RAW_END = {b"script": re.compile(rb"</script", re.I), b"style": re.compile(rb"</style", re.I),
            b"textarea": re.compile(rb"</textarea", re.I), b"title": re.compile(rb"</title", re.I)}


def nesting_depth(html: bytes, limit: int) -> int:
    """How deep the elements of `html` nest, as a browser's parser would build them; counting
    stops past `limit`. An end tag closes the open elements up to its own, as the parser does;
    one with nothing to close is ignored."""
    starts = html.count(b"<") - html.count(b"</") - html.count(b"<!")
    if starts <= limit:  # most pages: fewer start tags than the limit, no scan
        return max(starts, 0)
    stack: list[bytes] = []
    open_count: dict[bytes, int] = {}
    deepest = skip = 0
    for m in _TAG.finditer(html):
        if m.start() < skip:  # inside a script or style
            continue
        closing, name = m.groups()
        name = name.lower()
        if closing:
            if open_count.get(name):
                while (top := stack.pop()) != name:
                    open_count[top] -= 1
                open_count[name] -= 1
            continue
        if name in _RAW_END:  # its text may hold anything that looks like a tag
            end = _RAW_END[name].search(html, m.end())
            skip = end.start() if end else len(html)
            continue
        if name in _LEAVES or m.group().endswith(b"/>"):
            continue
        stack.append(name)
        open_count[name] = open_count.get(name, 0) + 1
        if len(stack) > deepest:
            deepest = len(stack)
            if deepest > limit:
                break
    return deepest


SHALLOW = 64  # no dev page nests deeper than 48


@functools.lru_cache(maxsize=4)
def _chain(steps: int) -> str:
    return " > ".join(["*"] * steps)


def deeper_than(tree, limit: int) -> bool:
    """Whether the parsed page nests elements more than `limit` deep: a CSS selector of
    `limit + 1` child steps, matched in C (the parser's own tree, so exact). A selector of
    SHALLOW + 1 steps first: reading a selector of 1,001 steps costs as much as matching it,
    and almost every page is answered by the short one (0.5 ms a page to 0.25)."""
    doc = tree.document
    if limit > SHALLOW and doc.query_selector(_chain(SHALLOW + 1)) is None:
        return False
    return doc.query_selector(_chain(limit + 1)) is not None


@dataclass
class Page:
    text: str  # the main text, paragraphs separated by blank lines; "" when there is none
    metadata: dict = field(default_factory=dict)  # url, title, date, lang, extractor (None where not found)


def extract_page(body: bytes, charset: str | None = None, max_depth: int = 1000,
                 extractor: str = "corpuskit") -> Page:
    """The main text and metadata of an HTML page.

    Raises TooLarge for a page over MAX_PAGE_BYTES and TooDeep for one nested deeper than
    `max_depth`, before any extraction.
    """
    if len(body) > MAX_PAGE_BYTES:
        raise TooLarge(f"{len(body):,} bytes, over the {MAX_PAGE_BYTES:,} a page may have; not extracted")
    extract_plain_text, bytes_to_str, detect_encoding = _resiliparse()
    from resiliparse.parse.html import HTMLTree

    from corpuskit.readers.extract.main import extract_tree
    from corpuskit.readers.extract.meta import page_metadata

    html = _decode(body, charset, bytes_to_str, detect_encoding, ul_to_ol=extractor == "corpuskit")
    tree = HTMLTree.parse(html)  # linear in the depth; extraction is not
    if deeper_than(tree, max_depth):
        raise TooDeep(f"elements nested more than {max_depth:,} deep (html_max_depth); not extracted")
    meta = {**page_metadata(tree), "extractor": extractor}
    if extractor == "corpuskit":
        text = extract_tree(tree)
    elif extractor == "resiliparse":
        text = extract_plain_text(tree, main_content=True, alt_texts=False, links=False, form_fields=False,
                                  noscript=False, list_bullets=True)
    else:
        import trafilatura

        text = trafilatura.extract(html, include_comments=False, include_tables=True) or ""
    return Page("\n".join(line.rstrip() for line in text.strip().splitlines()), meta)


def html_to_text(body: bytes, charset: str | None = None, max_depth: int = 1000, extractor: str = "corpuskit") -> str:
    """The main text of an HTML page (paragraphs separated by blank lines), or "" when it has none."""
    return extract_page(body, charset, max_depth, extractor).text


def _decode(body: bytes, charset: str | None, bytes_to_str, detect_encoding, ul_to_ol: bool = False) -> str:
    """The page's text; with `ul_to_ol`, its `<ul>` tags renamed `<ol>` (_UL)."""
    renamed = _UL_BYTES.sub(rb"<\1ol", body) if ul_to_ol else body  # ASCII stays ASCII: UTF-8 as valid as before
    if body.startswith(b"\xef\xbb\xbf"):
        return renamed[3:].decode("utf-8", errors="replace")
    if not (charset and body.isascii()):  # all ASCII: only the declared charset (UTF-7) can tell
        try:
            # most of the web; a declared legacy charset is often wrong about a re-saved page, and
            # detection alone mistakes short UTF-8 pages for cp1250
            return renamed.decode("utf-8")
        except UnicodeDecodeError:
            pass
    text = _decode_legacy(body, charset, bytes_to_str, detect_encoding)
    return _UL.sub(r"<\1ol", text) if ul_to_ol else text


def _decode_legacy(body: bytes, charset: str | None, bytes_to_str, detect_encoding) -> str:
    # A charset such as UTF-7 can decode to lone surrogates, which resiliparse refuses.
    if charset and charset.strip().lower().replace("_", "-") not in ("utf-8", "utf8"):
        try:
            return replace_surrogates(body.decode(charset, errors="replace"))[0]
        except (LookupError, UnicodeError):  # a charset Python does not know, or `idna`: detect instead
            pass
    return replace_surrogates(bytes_to_str(body, detect_encoding(body)))[0]


def read_html(src: Source, cfg: ReaderConfig, reject: RejectFn) -> Iterator[Document]:
    """One document per `.html` file: its main text."""
    doc_id = f"{src.rel}#0"
    body = read_whole(src, doc_id, reject)
    if body is None:
        return
    try:
        page = extract_page(body, max_depth=cfg.html_max_depth, extractor=cfg.html_extractor)
    except (TooDeep, TooLarge) as err:
        reason = "html_too_deep" if isinstance(err, TooDeep) else "html_too_large"
        reject(Document(text="", id=doc_id, source=src.rel), reason, READ_STAGE, detail=f"{src.rel}: {err}")
        return
    if not page.text:
        reject(Document(text="", id=doc_id, source=src.rel, metadata=page.metadata), "no_text", READ_STAGE,
               detail=f"{src.rel}: the page has no main text (only markup, scripts or navigation)")
        return
    yield Document(text=page.text, id=doc_id, source=src.rel, metadata={"format": "html", **page.metadata})
