"""Text repair: mojibake and encoding fixes (ftfy), Unicode normalization, invisible
characters, whitespace and line endings, optional lowercasing.

Defaults keep good text as it is: curly quotes stay curly, full-width characters stay
full-width, and Unicode is NFC (canonical) rather than NFKC (which folds "ﬁ", "²",
"①" and full-width forms, and loses information). Lowercasing is off.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from corpuskit.stage import Mapper
from corpuskit.stages.formatters.mojibake_scan import MojibakeScan

# C0/C1 control characters except tab and newline (carriage returns become newlines first).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Invisible characters with no meaning in running text: zero-width space, word joiner,
# byte-order mark, soft hyphen, invisible operators, bidi embedding controls.
# ZWJ/ZWNJ (U+200C, U+200D) are kept: emoji sequences and Indic/Persian spelling need them.
_INVISIBLE = re.compile("[\u200b\u2060\ufeff\u00ad\u2061-\u2064\u202a-\u202e\u2066-\u2069\u180e]")
# Horizontal whitespace other than a plain space (tab, no-break space, thin spaces, ...).
_ODD_SPACE = re.compile("[\t\x0b\x0c\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_MULTI_SPACE = re.compile(r" {2,}")
_TRAILING = re.compile(r" +$", re.MULTILINE)
_LEADING = re.compile(r"^ +", re.MULTILINE)
_MANY_BLANKS = re.compile(r"\n{3,}")
# What ftfy can fix, found with C-speed scans (ftfy itself runs at under 1 MB/s, so it
# only sees documents that need it): mojibake, by a scan derived from ftfy's own badness
# regex (`mojibake_scan.py`: UTF-8 read as Latin-1, cp1252, cp1250, cp1251, ISO-8859-2,
# MacRoman, cp437, ..., once or twice), HTML entities, and single characters: terminal
# escapes, C1 controls, ligatures, odd line separators, lone surrogates, U+FFFD, and the
# format characters ftfy's `remove_control_chars` deletes.
_ENTITY = re.compile("&(?:#[0-9]{2,7}|#x[0-9A-Fa-f]{2,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_FTFY_CHAR = re.compile("[\x1b\x80-\x9f\ufb00-\ufb06\u2028\u2029\u206a-\u206f\ud800-\udfff\ufff9-\ufffd]")
# Every single character any rule here rewrites: one scan tells whether a clean document
# (the common case) can skip them all.
_ANY_ODD_CHAR = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\t\u00a0\u00ad\u1680\u180e\u2000-\u200b\u2028\u2029"
    "\u202a-\u202f\u205f-\u2064\u2066-\u206f\u3000\ufb00-\ufb06\ud800-\udfff\ufeff\ufff9-\ufffd]")

Form = Literal["NFC", "NFKC", "none"]  # the Unicode normalization forms offered


class Repair(Mapper):
    """Repair and normalize text; counts `ftfy_fixed` for documents ftfy changed.

    Parameters (YAML):
      ftfy: true            fix mojibake, HTML entities, C1 controls, ligatures with ftfy
      unicode: NFC          NFC, NFKC or none
      remove_invisible: true  drop control and zero-width characters
      whitespace: true      CRLF -> LF, tabs and odd spaces -> one space, no trailing
                            spaces, at most one blank line in a row
      strip_indent: false   also remove leading spaces of every line (verse keeps them by default)
      lowercase: false
    """

    name = "repair"

    def __init__(self, ftfy: bool = True, unicode: Form = "NFC", remove_invisible: bool = True,
                 whitespace: bool = True, strip_indent: bool = False, lowercase: bool = False):
        super().__init__()
        if unicode not in ("NFC", "NFKC", "none"):
            raise ValueError(f"unicode must be NFC, NFKC or none; got {unicode!r}")
        self.use_ftfy, self.form = ftfy, unicode
        self.remove_invisible, self.whitespace = remove_invisible, whitespace
        self.strip_indent, self.lowercase = strip_indent, lowercase
        self._ftfy_config = None
        self._scan: MojibakeScan | None = None  # built on the first non-ASCII document

    def _fix(self, text: str) -> str:
        import ftfy

        if self._ftfy_config is None:
            self._ftfy_config = ftfy.TextFixerConfig(
                uncurl_quotes=False,  # curly quotes are correct text, not damage
                fix_character_width=self.form == "NFKC",  # full-width folding is NFKC's job
                normalization=None,  # done below, once, with the configured form
                explain=False,
            )
        return ftfy.fix_text(text, self._ftfy_config)

    def _needs_ftfy(self, text: str, odd: bool) -> bool:
        if odd and _FTFY_CHAR.search(text):
            return True
        if "&" in text and _ENTITY.search(text):
            return True
        if text.isascii():
            return False
        if self._scan is None:
            self._scan = MojibakeScan()
        return self._scan.maybe_bad(text)

    def map(self, text: str) -> str:
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        odd = _ANY_ODD_CHAR.search(text) is not None
        if self.use_ftfy and self._needs_ftfy(text, odd):
            fixed = self._fix(text)
            if fixed != text:
                self.stats.inc("ftfy_fixed")
                text = fixed
                odd = _ANY_ODD_CHAR.search(text) is not None
        if self.form != "none" and not text.isascii():
            text = unicodedata.normalize(self.form, text)
        # Each rewrite is guarded by a cheap test: most documents need none of them.
        if odd and self.remove_invisible:
            text = _CONTROL.sub("", text)
            if not text.isascii():
                text = _INVISIBLE.sub("", text)
        if self.whitespace:
            if odd:
                text = _ODD_SPACE.sub(" ", text)
            if "  " in text:
                text = _MULTI_SPACE.sub(" ", text)
            if " \n" in text or text.endswith(" "):
                text = _TRAILING.sub("", text)
            if self.strip_indent and "\n " in text:
                text = _LEADING.sub("", text)
            if "\n\n\n" in text:
                text = _MANY_BLANKS.sub("\n\n", text)
            text = text.strip("\n ")
        if self.lowercase:
            text = text.lower()
        return text


class Normalize(Repair):
    """`normalize`: the repair stage without ftfy and without removing invisible characters.

    Unicode normalization (`form`), LF line endings, no trailing or repeated spaces, at most
    one blank line in a row. The two stages used to be separate and overlapped; pipelines
    that name `normalize` keep working.
    """

    name = "normalize"

    def __init__(self, form: Form = "NFC"):
        super().__init__(ftfy=False, unicode=form, remove_invisible=False)
