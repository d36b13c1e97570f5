"""PII redaction: e-mail addresses, IP addresses and phone numbers become placeholders.

Counters: `pii_email`, `pii_ip`, `pii_phone` (replacements made). The patterns favour
precision: a phone number needs separators in a phone-like layout, so years, prices
and page numbers are left alone.
"""

from __future__ import annotations

import re

from corpuskit.stage import Mapper

# The domain part, anchored on "@"; the local part is found by walking back from it,
# which is far faster than a pattern that starts at every word ("[\w.+-]+@").
_EMAIL_DOMAIN = re.compile(r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# Patterns start with a plain character class so the regex engine can skip ahead fast;
# the boundary before a match (no letter, digit or dot glued to it) is checked in Python,
# on the few candidates only.
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?![\w]|\.[0-9])")
_IPV6 = re.compile(r"[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){7}(?![\w:])")
# North American layout (555-123-4567, 555.123.4567, (555) 123 4567); a country code
# before it ("+1 ") stays. International: a + prefix and at least three digit groups.
_PHONE_NANP = re.compile(r"\([0-9]{3}\) ?[0-9]{3}[ .-][0-9]{4}(?!\w)|[0-9]{3}[ .-][0-9]{3}[ .-][0-9]{4}(?!\w)")
_PHONE_INTL = re.compile(r"\+\d{1,3}(?:[ .-]\(?\d{1,4}\)?){2,5}(?!\w)")


def _free_before(m: re.Match, chars: str) -> bool:
    i = m.start()
    return i == 0 or not (m.string[i - 1].isalnum() or m.string[i - 1] in chars)


def _replace(pattern: re.Pattern, placeholder: str, text: str, check) -> tuple[str, int]:
    n = 0

    def sub(m: re.Match) -> str:
        nonlocal n
        if not check(m):
            return m.group(0)
        n += 1
        return placeholder

    return pattern.sub(sub, text), n


def _replace_emails(text: str, placeholder: str) -> tuple[str, int]:
    parts, last, n = [], 0, 0
    for m in _EMAIL_DOMAIN.finditer(text):
        start = m.start()
        while start > last and (text[start - 1].isalnum() or text[start - 1] in "._+-"):
            start -= 1
        if start == m.start():
            continue  # "@name.com" with no local part: a handle, not an address
        parts += [text[last:start], placeholder]
        last, n = m.end(), n + 1
    return ("".join(parts) + text[last:], n) if n else (text, 0)


def _ipv4_ok(m: re.Match) -> bool:
    return _free_before(m, "._") and all(int(o) <= 255 for o in m.group(0).split("."))


def _ipv6_ok(m: re.Match) -> bool:
    return _free_before(m, ":_")


def _nanp_ok(m: re.Match) -> bool:
    return _free_before(m, "_")


def _intl_ok(m: re.Match) -> bool:
    return _free_before(m, "+_")


class PII(Mapper):
    """Parameters (YAML): `email`, `ip`, `phone` (each true), and the placeholders
    `email_placeholder` (<EMAIL>), `ip_placeholder` (<IP_ADDRESS>), `phone_placeholder` (<PHONE>)."""

    name = "pii"

    def __init__(self, email: bool = True, ip: bool = True, phone: bool = True,
                 email_placeholder: str = "<EMAIL>", ip_placeholder: str = "<IP_ADDRESS>",
                 phone_placeholder: str = "<PHONE>"):
        super().__init__()
        self.email, self.ip, self.phone = email, ip, phone
        self.email_placeholder, self.ip_placeholder, self.phone_placeholder = (
            email_placeholder, ip_placeholder, phone_placeholder)

    def _count(self, kind: str, n: int) -> None:
        if n:
            self.stats.inc(f"pii_{kind}", n)

    def map(self, text: str) -> str:
        if self.email and "@" in text:
            text, n = _replace_emails(text, self.email_placeholder)
            self._count("email", n)
        if self.ip or self.phone:
            text = self._ip_and_phone(text)
        return text

    def _ip_and_phone(self, text: str) -> str:
        # IPs before phones, so "192.168.100.10" is never read as a phone number. Two scans:
        # one alternation of both patterns would defeat the regex engine's fast skip-ahead.
        counts = {"ip": 0, "phone": 0}
        if self.ip:
            text, counts["ip"] = _replace(_IPV4, self.ip_placeholder, text, _ipv4_ok)
        if self.phone:
            text, counts["phone"] = _replace(_PHONE_NANP, self.phone_placeholder, text, _nanp_ok)
        if self.ip and text.count(":") >= 7:
            text, n = _replace(_IPV6, self.ip_placeholder, text, _ipv6_ok)
            counts["ip"] += n
        if self.phone and "+" in text:
            text, n = _replace(_PHONE_INTL, self.phone_placeholder, text, _intl_ok)
            counts["phone"] += n
        for kind, n in counts.items():
            self._count(kind, n)
        return text
