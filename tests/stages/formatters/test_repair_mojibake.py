"""The repair stage gives ftfy.fix_encoding's answer on every kind of mojibake ftfy knows.

Dev cases are built with ftfy's own codecs: correct text encoded as UTF-8 and decoded as
each single-byte encoding ftfy undoes, once and twice. The expected output is ftfy's,
followed by the stage's own normalization (`Repair(ftfy=False)`: NFC, odd spaces such as
the no-break space become plain spaces, soft hyphens and controls removed). That is the
only intended difference; curly quotes stay curly in both. Where ftfy cannot undo a case
(short Cyrillic-as-cp1251 pairs, cp437 of curly quotes), the stage leaves it as ftfy does.
"""

from __future__ import annotations

import random

import ftfy
import ftfy.bad_codecs  # noqa: F401 (registers the sloppy-windows-125x codecs)
import pytest
from ftfy.badness import BADNESS_RE, is_bad

from corpuskit.stages.formatters.mojibake_scan import MojibakeScan, derive_gates
from corpuskit.stages.formatters.repair import Repair

SENTENCES = [
    "The Mona Lisa doesn’t have eyebrows.",
    "Crème brûlée, gâteaux et café à volonté.",
    "Liège, Kraków, Łódź and Plzeň",
    "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "Zażółć gęślą jaźń.",
    "привет, как дела?",
    "Съешь же ещё этих мягких французских булок.",
    "He said “voilà” — and left…",
    "Straße in München kostet 5 €.",
    "Ελληνικά γράμματα",
    "emoji 😀 and 👍🏽 fine",
    "Naïve résumé of the año",
    "English quoting Москва and Praha-Žižkov in one line.",
]
ENCODINGS = ["latin-1", "sloppy-windows-1252", "sloppy-windows-1250", "sloppy-windows-1251",
             "iso-8859-2", "macroman", "cp437"]


def _damage(text: str, encoding: str, times: int) -> str | None:
    try:
        for _ in range(times):
            text = text.encode("utf-8").decode(encoding)
    except UnicodeDecodeError:
        return None
    return text


CASES = [(s, e, t, bad) for s in SENTENCES for e in ENCODINGS for t in (1, 2)
         if (bad := _damage(s, e, t)) is not None and bad != s]
# Found in the wild (the examples) and the lone "Ã" whose no-break space became a space.
WILD = ["g√¢teaux", "LiĂ¨ge", "Р С—РЎР‚", "╨┐╤Ç╨░", "voilÃ le travail", "Ã  la carte",
        "doesnâ€™t", "cafÃ©", "The Mona Lisa doesnÃ¢â‚¬â„¢t have eyebrows."]
# Text that only looks damaged: ftfy leaves it alone, and so must the stage.
NEGATIVES = [
    "Ça va ? À bientôt, Élodie.", "√2 ≈ 1.414 and π ≈ 3.14159", "│ a │ b │ drawn with box lines",
    "Œuvre complète; l’œuvre d’art", "£5 — €3 — ¥100 — © 2020 ACME™",
    "Съешь же ещё этих мягких французских булок, да выпей «чаю».", "SÃO PAULO (capital letters)",
    "Příliš žluťoučký kůň úpěl ďábelské ódy.", "Zażółć gęślą jaźń.", "Ελληνικά γράμματα",
    "The temperature was 20°C ± 2°", "“Quoted” and ‘single’ — dashes – and… ellipses",
    "¿Qué tal? ¡Muy bien!", "Ω = 5 kΩ, µ = 3", "voilà le travail", "x × y ÷ z",
]


def _expected(bad: str) -> str:
    return Repair(ftfy=False).map(ftfy.fix_encoding(bad))


def test_there_are_enough_dev_cases():
    assert len(CASES) >= 150
    assert {e for _, e, _, _ in CASES} == set(ENCODINGS)


@pytest.mark.parametrize("good,encoding,times,bad", CASES, ids=[f"{e}x{t}-{i}" for i, (_, e, t, _) in enumerate(CASES)])
def test_stage_gives_ftfys_answer(good, encoding, times, bad):
    assert Repair().map(bad) == _expected(bad)


def test_most_cases_come_back_exactly():
    """ftfy (and so the stage) undoes nearly all of them completely."""
    exact = sum(Repair().map(bad) == Repair(ftfy=False).map(good) for good, _, _, bad in CASES)
    assert exact >= 0.85 * len(CASES)
    assert Repair().map(_damage("Crème brûlée, gâteaux et café à volonté.", "macroman", 1)) == \
        "Crème brûlée, gâteaux et café à volonté."
    assert Repair().map(_damage("Liège, Kraków, Łódź and Plzeň", "sloppy-windows-1250", 2)) == "Liège, Kraków, Łódź and Plzeň"


@pytest.mark.parametrize("bad", WILD)
def test_wild_cases(bad):
    assert Repair().map(bad) == _expected(bad)
    assert Repair().map("voilÃ le travail") == "voilà le travail"
    assert Repair().map("╨┐╤Ç╨░") == "пра"


@pytest.mark.parametrize("text", NEGATIVES)
def test_text_that_only_looks_damaged_is_unchanged(text):
    assert ftfy.fix_encoding(text) == text
    assert Repair().map(text) == text


def test_scan_flags_everything_ftfy_changes():
    scan = MojibakeScan()
    for bad in [b for *_, b in CASES] + WILD:
        if ftfy.fix_encoding(bad) != bad:
            assert scan.maybe_bad(bad), bad


def test_scan_answers_as_the_badness_regex_on_random_strings():
    """maybe_bad == is_bad, on strings drawn from the characters ftfy's regex mentions."""
    alphabet = sorted(set(BADNESS_RE.pattern) - set("[]()|?\\{}^.-\n\t#")) + list("abcAZ ,.!?\u00a0")
    rng = random.Random(0)
    scan = MojibakeScan()
    found = 0
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(2, 8)))
        bad = is_bad(text)
        found += bad
        assert scan.maybe_bad(text) == bad, repr(text)
    assert found > 5000


def test_every_badness_alternative_gets_a_trigger():
    single, pairs = derive_gates(BADNESS_RE)
    assert "Ã" in single and "Â" in single  # the lone Ã / Â at a word's end
    assert not any(c.isascii() for c in single)
    assert all(not any(c.isascii() for c in a | b) for a, b in pairs.items())


def test_scan_skips_clean_text():
    scan = MojibakeScan()
    for text in NEGATIVES[4:6] + NEGATIVES[7:] + ["plain ASCII"]:
        assert not scan.maybe_bad(text), text


def test_ftfy_format_characters_are_removed():
    assert Repair().map("a\u206ab\ufff9c") == "abc"
