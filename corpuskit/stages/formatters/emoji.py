"""Emoji policy: keep, demojize (`:grinning_face:`) or remove; emoji are counted in every mode.

Only pictographs count as emoji here: a sequence (skin tone, ZWJ family, keycap,
variation selector) or a single code point from U+1F000 up. Text symbols that the
emoji list also contains (©, ®, ™, ♥, ✓, arrows) are ordinary text and stay untouched.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from corpuskit.stage import Mapper

# Every pictograph as defined above contains one of these; text without them is skipped
# cheaply (the emoji package's tokenizer is a Python loop over every character).
_MAYBE_EMOJI = re.compile("[\U0001F000-\U0001FFFF\uFE0F\u20E3]")

Mode = Literal["keep", "demojize", "remove"]
MODES = get_args(Mode)


def _is_pictograph(chars: str) -> bool:
    return len(chars) > 1 or ord(chars) >= 0x1F000


class EmojiPolicy(Mapper):
    """Parameters (YAML): `mode`: keep | demojize | remove (default keep).

    Counters: `emoji` (emoji seen), `docs_with_emoji`.
    """

    name = "emoji"

    def __init__(self, mode: Mode = "keep"):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
        self.mode = mode

    def map(self, text: str) -> str:
        if text.isascii() or not _MAYBE_EMOJI.search(text):
            return text
        import emoji

        seen = 0

        def replace(chars: str, data: dict) -> str:
            nonlocal seen
            if not _is_pictograph(chars):
                return chars
            seen += 1
            if self.mode == "demojize":
                return emoji.demojize(chars)
            return "" if self.mode == "remove" else chars

        new = emoji.replace_emoji(text, replace=replace)
        if seen:
            self.stats.inc("emoji", seen)
            self.stats.inc("docs_with_emoji")
        return text if self.mode == "keep" else new
