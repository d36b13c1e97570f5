"""Text repair, emoji policy and PII redaction: exact outputs and counters."""

from __future__ import annotations

import pytest

from helpers.clean import run_stage
from corpuskit.stages.formatters.emoji import EmojiPolicy
from corpuskit.stages.formatters.pii import PII
from corpuskit.stages.formatters.repair import Repair


def test_repair_fixes_mojibake_and_entities_but_keeps_curly_quotes():
    r = Repair()
    assert r.map("The Mona Lisa doesnâ€™t have eyebrows &amp; that’s “fine”.") == \
        "The Mona Lisa doesn’t have eyebrows & that’s “fine”."
    assert r.map("Schrödinger’s cat") == "Schrödinger’s cat"  # good text is untouched


def test_repair_unicode_forms():
    text = "e\u0301cole \ufb01ne x\u00b2 \uff21"
    assert Repair(ftfy=False).map(text) == "\u00e9cole \ufb01ne x\u00b2 \uff21"  # NFC composes only
    assert Repair(ftfy=False, unicode="NFKC").map(text) == "\u00e9cole fine x2 A"
    assert Repair(ftfy=False, unicode="none").map(text) == text
    with pytest.raises(ValueError):
        Repair(unicode="NFD")


def test_repair_invisible_and_control_characters():
    assert Repair().map("zero\u200bwidth\u00adsoft\ufeff bell\x07 nul\x00") == "zerowidthsoft bell nul"
    # ZWJ stays: emoji sequences and Indic spelling need it
    assert "\u200d" in Repair().map("family \U0001F468\u200d\U0001F469")
    assert Repair(remove_invisible=False).map("a\u200bb") == "a\u200bb"


def test_repair_whitespace_and_line_endings():
    text = "  Line one \r\nline\ttwo\u00a0\u00a0here  \r\n\r\n\r\n\r\nlast\rline  "
    assert Repair().map(text) == "Line one\nline two here\n\nlast\nline"
    assert Repair(strip_indent=True).map("a\n   indented") == "a\nindented"
    assert Repair(whitespace=False, ftfy=False).map("a  b") == "a  b"


def test_repair_lowercase_is_opt_in():
    assert Repair().map("Hello World") == "Hello World"
    assert Repair(lowercase=True).map("Hello World") == "hello world"


def test_repair_counts_and_drops_empty():
    stage = Repair()
    kept, dropped = run_stage(stage, ["caf\u00c3\u00a9 ok", "\u200b \r\n\t", "plain"])
    assert [d.text for d in kept] == ["café ok", "plain"]
    assert dropped == {"1": "empty"}
    assert stage.stats.counters["ftfy_fixed"] == 1
    assert stage.stats.counters["dropped_empty"] == 1


EMOJI_TEXT = "Great job \U0001F600\U0001F44D\U0001F3FD! \u00a9 2024, \u2665 and \u2122 stay."


@pytest.mark.parametrize("mode,expected", [
    ("keep", EMOJI_TEXT),
    ("demojize", "Great job :grinning_face::thumbs_up_medium_skin_tone:! \u00a9 2024, \u2665 and \u2122 stay."),
    ("remove", "Great job ! \u00a9 2024, \u2665 and \u2122 stay."),
])
def test_emoji_modes_count_emoji(mode, expected):
    stage = EmojiPolicy(mode=mode)
    kept, _ = run_stage(stage, [EMOJI_TEXT, "no emoji here"])
    assert kept[0].text == expected
    assert stage.stats.counters["emoji"] == 2
    assert stage.stats.counters["docs_with_emoji"] == 1


def test_emoji_only_document_removed_is_dropped_as_empty():
    kept, dropped = run_stage(EmojiPolicy(mode="remove"), ["\U0001F600\U0001F600"])
    assert dropped == {"0": "empty"}
    with pytest.raises(ValueError):
        EmojiPolicy(mode="translate")


def test_pii_redacts_and_counts():
    stage = PII()
    text = ("Write to jane.doe+news@example.co.uk or call (555) 123-4567 or +44 20 7946 0958; "
            "the server is 192.168.0.1 (also fe80:0:0:0:202:b3ff:fe1e:8329).")
    kept, _ = run_stage(stage, [text])
    assert kept[0].text == ("Write to <EMAIL> or call <PHONE> or <PHONE>; "
                            "the server is <IP_ADDRESS> (also <IP_ADDRESS>).")
    assert stage.stats.counters == {"pii_email": 1, "pii_phone": 2, "pii_ip": 2, "modified": 1}


def test_pii_leaves_numbers_that_are_not_pii():
    text = ("In 1999 the price was 1,250.00 dollars; see pages 123-456 and version 1.2.3.4.5, "
            "not an address 10.0.0.300, and @handle.com is no e-mail.")
    assert PII().map(text) == text


def test_pii_rules_and_placeholders_are_configurable():
    text = "mail a@b.org from 10.1.2.3 at 555-123-4567"
    assert PII(ip=False, phone=False, email_placeholder="[email]").map(text) == \
        "mail [email] from 10.1.2.3 at 555-123-4567"
