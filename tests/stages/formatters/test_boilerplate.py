"""Boilerplate lines: each rule removes what it should and keeps prose, verse and dialogue."""

from __future__ import annotations

from helpers.clean import prose, run_stage
from corpuskit.stages.formatters.boilerplate import Boilerplate

BODY = "The harbour was quiet that morning, and the boats lay still on the water."


def clean(text, **params):
    stage = Boilerplate(**params)
    kept, dropped = run_stage(stage, [text])
    return (kept[0].text if kept else None), stage.stats.counters


def test_javascript_and_policy_lines():
    text = "\n".join([
        "Please enable JavaScript to view the comments.", BODY,
        "This site uses cookies to improve your experience. Accept all cookies",
        "Read our Privacy Policy and Terms of Use.", BODY + " Again."])
    out, counts = clean(text)
    assert out == BODY + "\n" + BODY + " Again."
    assert counts["lines_removed_javascript"] == 1 and counts["lines_removed_policy"] == 2
    out, _ = clean(text, javascript=False, policy=False)
    assert out == text


def test_citation_markers_are_cut_out():
    out, counts = clean("Paris is the capital of France.[1] It is large.[23][edit] Sure.[citation needed]")
    assert out == "Paris is the capital of France. It is large. Sure."
    assert counts["citations_removed"] == 4


def test_navigation_run_and_menu_lines():
    text = "\n".join(["Home", "About Us", "Contact", "Blog", BODY,
                      "Home | About | Contact | Shop", BODY + " Twice.", "Privacy \u00b7 Legal"])
    out, counts = clean(text)
    assert out == BODY + "\n" + BODY + " Twice."
    assert counts["lines_removed_navigation"] == 6


def test_navigation_keeps_headings_verse_dialogue_and_bullets():
    keep = [
        # a heading alone or two short lines are not a menu
        "CHAPTER I\n\n" + BODY,
        "Down the Rabbit-Hole\nChapter One\n\n" + BODY,
        # speaker labels end in a colon; short verse lines end in punctuation
        "ROMEO:\nBut, soft!\nJULIET:\nAy me!\nROMEO:\nShe speaks:",
        # verse lines are longer than menu items even without punctuation
        "Whether 'tis nobler in the mind to suffer\nThe slings and arrows of outrageous fortune\n"
        "Or to take arms against a sea of troubles\nAnd by opposing end them.",
        # a bulleted list item with a separator-like bullet is not a menu
        "\u2022 Fresh eggs from the farm down the road\n" + BODY,
        "Prices: tea \u00b7 coffee \u00b7 cocoa, all served hot.",
    ]
    for text in keep:
        assert clean(text)[0] == text, text


def test_navigation_run_length_is_configurable():
    text = "Home\nAbout\n" + BODY
    assert clean(text)[0] == text  # 2 < nav_min_run (3)
    assert clean(text, nav_min_run=2)[0] == BODY
    assert clean("Home\nAbout\nContact\n" + BODY, navigation=False)[0].startswith("Home")


def test_numeric_lines():
    archive = " ".join(f"{m} 2016 ({n})" for m, n in zip(["June", "May", "April", "March", "May"], range(5)))
    out, counts = clean(BODY + "\n" + archive)
    assert out == BODY and counts["lines_removed_numeric"] == 1
    nine_numbers = "We counted 1 2 3 4 5 6 7 8 9 sheep before we fell asleep in the chair by the fire."
    assert clean(nine_numbers)[0] == nine_numbers


def test_c4_strict_line_rules_are_opt_in():
    text = "ROMEO:\nIt is the east, and Juliet is the sun\nArise, fair sun!"
    assert clean(text)[0] == text
    assert clean(text, min_words_per_line=3)[0] == "It is the east, and Juliet is the sun\nArise, fair sun!"
    assert clean(text, require_terminal_punct=True)[0] == "Arise, fair sun!"


def test_all_boilerplate_document_is_dropped_as_empty():
    kept, dropped = run_stage(Boilerplate(), ["Home\nAbout\nContact\nPlease enable JavaScript"])
    assert dropped == {"0": "empty"}


def test_long_prose_is_untouched():
    text = prose(400, per_line=2)
    assert clean(text)[0] == text


def _mouses_tale(repo):
    import gzip

    book = gzip.decompress((repo / "corpus" / "pg11-alice-in-wonderland.txt.gz").read_bytes()).decode("utf-8")
    start = book.index("something like this:--")
    end = book.index("‘You are not attending!’")
    return book[start:end]


def test_shaped_mouses_tale_survives(repo):
    """The tail-shaped poem in Alice is runs of short, unpunctuated, indented lines: not a menu."""
    from corpuskit.stages.formatters.repair import Repair

    text = Repair().map(_mouses_tale(repo))
    out, counts = clean(text)
    assert out == text
    assert "lines_removed_navigation" not in counts
    for line in ("‘Fury said to a", "mouse, That he", "met in the", "prosecute", "old Fury:", "death.”’"):
        assert line in out


def test_indented_verse_survives_but_flush_menus_go():
    verse = "\n".join(["The Owl and the Pussy-cat went to sea", "  In a beautiful pea-green boat",
                       "  They took some honey", "  and plenty of money", "  Wrapped up in a five-pound note"])
    out, _ = clean(verse)
    assert out == verse
    menu = "\n".join(["Home", "About Us", "Contact", "Blog", BODY])
    assert clean(menu)[0] == BODY
