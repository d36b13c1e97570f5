"""Blocks of a page's text, each with the signals that tell article from boilerplate.

resiliparse renders a page as "minimal HTML": one line per block (paragraph, heading, list
item, table row, a line of a `<div>`), the links still marked. That is cheap to read here
(no DOM walk in Python, which would cost more than the whole extraction), and it keeps the
two signals a line of plain text has lost: which words are link text, and which block is a
heading or a list item.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>|([^<]+)")
_BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "pre", "ul", "ol"}


@dataclass(slots=True)
class Block:
    text: str
    kind: str  # "p" (paragraph or plain line), "h" (heading), "li" (list item), "pre"
    link_chars: int = 0
    label: str = ""  # "good", "short", "bad", decided by classify.py
    words: int = 0  # counted once here: classify.py asks often
    link_density: float = 0.0  # share of the text that is link text

    def __post_init__(self) -> None:
        self.words = self.text.count(" ") + 1
        self.link_density = self.link_chars / len(self.text)


def blocks(minimal_html: str) -> list[Block]:
    """The blocks of resiliparse's minimal-HTML output, in page order (empty ones left out)."""
    out: list[Block] = []
    parts: list[str] = []
    kind, link_depth, link_chars, pre = "p", 0, 0, 0

    def flush() -> None:
        nonlocal parts, kind, link_chars, link_depth
        if parts:
            raw = "".join(parts)
            text = raw.strip("\n") if pre else " ".join(raw.split())
            if text:
                out.append(Block(text=text, kind=kind, link_chars=min(link_chars, len(text))))
        # resiliparse may leave an `<a>` open (one around a whole teaser): it ends with its block
        parts, kind, link_chars, link_depth = [], "p", 0, 0

    for m in _TOKEN.finditer(minimal_html):
        closing, tag, attrs, data = m.groups()
        if data is not None:
            data = html.unescape(data)
            if pre:
                parts.append(data)
                continue
            lines = data.split("\n")
            for i, piece in enumerate(lines):
                if i and "".join(parts).strip():  # a line break outside a block element ends a block of plain lines
                    flush()
                parts.append(piece)
                if link_depth:
                    link_chars += len(piece.strip())
            continue
        tag = tag.lower()
        if tag == "a":
            if closing:
                link_depth = max(0, link_depth - 1)
            elif 'href=""' not in attrs:  # resiliparse writes a named anchor (`<a name>`) as an empty href
                link_depth += 1
        elif tag == "br":
            parts.append(" ") if not pre else parts.append("\n")
        elif tag in _BLOCK_TAGS:
            if tag == "pre":
                flush()
                pre = 0 if closing else 1
                kind = "pre"
                continue
            flush()
            if not closing:
                kind = "h" if tag[0] == "h" else ("li" if tag == "li" else "p")
    flush()
    return out
