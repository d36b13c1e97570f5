"""Blocks of a page's text, each with the signals that tell article from boilerplate.

resiliparse renders a page as "minimal HTML": one line per block (paragraph, heading, list
item, table row, a line of a `<div>`), the links still marked. That is cheap to read here
(no DOM walk in Python, which would cost more than the whole extraction), and it keeps the
two signals a line of plain text has lost: which words are link text, and which block is a
heading or a list item. resiliparse escapes every `<` of the page's text and attributes, so
each `<` in the rendering starts one of its tags.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

# The block tags cut the rendering into segments, read one by one: most are a paragraph's or
# a list item's plain text, or the blank lines between blocks, and need no loop over tokens.
_BLOCK_TAG = re.compile(r"<(/?)(p|h[1-6]|li|pre|ul|ol)(?![a-zA-Z0-9])[^>]*>", re.I)
_INLINE_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>")  # `<a href>` and `<br>` inside a block


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
    kind, pre = "p", False
    pieces = _BLOCK_TAG.split(minimal_html)  # segment, "/" or "", tag name, segment, ...
    for i in range(0, len(pieces), 3):
        segment = pieces[i]
        if pre or "\n" in (stripped := segment.strip()):
            _read_lines(segment, kind, pre, out)
        elif "<" in stripped:
            _read_block(stripped, kind, out)
        elif text := " ".join(html.unescape(stripped).split()):  # plain text: the common block
            out.append(Block(text, kind))
        if i + 1 < len(pieces):
            closing, tag = pieces[i + 1], pieces[i + 2].lower()
            if tag == "pre":
                pre, kind = not closing, "pre"
            else:
                kind = "p" if closing else ("h" if tag[0] == "h" else ("li" if tag == "li" else "p"))
    return out


def _read_block(segment: str, kind: str, out: list[Block]) -> None:
    """The block of one line of text with links (what _read_lines does, without its line breaks)."""
    tokens = _INLINE_TAG.split(segment)  # text, "/" or "", tag name, attributes, text, ...
    parts = [html.unescape(tokens[0])]
    link_depth = link_chars = 0
    for i in range(1, len(tokens), 4):
        tag = tokens[i + 1].lower()
        if tag == "a":
            if tokens[i]:
                link_depth = max(0, link_depth - 1)
            elif 'href=""' not in tokens[i + 2]:
                link_depth += 1
        elif tag == "br":
            parts.append(" ")
        if data := tokens[i + 3]:
            data = html.unescape(data)
            parts.append(data)
            if link_depth:
                link_chars += len(data.strip())
    if text := " ".join("".join(parts).split()):
        out.append(Block(text, kind, link_chars=min(link_chars, len(text))))


def _read_lines(segment: str, kind: str, pre: bool, out: list[Block]) -> None:
    """The blocks of the text between two block tags: one, or one per line of plain lines."""
    parts: list[str] = []
    link_depth = link_chars = 0

    def flush() -> None:
        nonlocal parts, kind, link_chars, link_depth
        if parts:
            raw = "".join(parts)
            text = raw.strip("\n") if pre else " ".join(raw.split())
            if text:
                out.append(Block(text, kind, link_chars=min(link_chars, len(text))))
        # resiliparse may leave an `<a>` open (one around a whole teaser): it ends with its block
        parts, kind, link_chars, link_depth = [], "p", 0, 0

    tokens = _INLINE_TAG.split(segment)  # text, "/" or "", tag name, attributes, text, ...
    for i in range(0, len(tokens), 4):
        data = tokens[i]
        if data:
            data = html.unescape(data)
            if pre:
                parts.append(data)
            else:
                for j, piece in enumerate(data.split("\n")):
                    if j and "".join(parts).strip():  # a line break outside a block element ends a block of plain lines
                        flush()
                    parts.append(piece)
                    if link_depth:
                        link_chars += len(piece.strip())
        if i + 1 < len(tokens):
            closing, tag, attrs = tokens[i + 1], tokens[i + 2].lower(), tokens[i + 3]
            if tag == "a":
                if closing:
                    link_depth = max(0, link_depth - 1)
                elif 'href=""' not in attrs:  # resiliparse writes a named anchor (`<a name>`) as an empty href
                    link_depth += 1
            elif tag == "br":
                parts.append("\n" if pre else " ")
    flush()
