"""Offline language identification: the model ships in the py3langid wheel; no network is touched."""

from __future__ import annotations

import socket

import pytest

from helpers.clean import run_stage, verdict
from corpuskit.stages.filters.language import LanguageFilter, detect

EN = "The quick brown fox jumps over the lazy dog while the farmer watches from the gate of his field."
FR = "Le renard brun saute par-dessus le chien paresseux pendant que le fermier regarde depuis la barrière."
DE = "Der schnelle braune Fuchs springt über den faulen Hund, während der Bauer vom Tor aus zusieht."


def test_detects_languages_offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("language identification tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    assert detect(EN)[0] == "en"
    assert detect(FR)[0] == "fr"
    assert detect(DE)[0] == "de"


def test_wrong_language_and_metadata():
    stage = LanguageFilter(languages=["en"])
    kept, dropped = run_stage(stage, [EN, FR])
    assert dropped == {"1": "wrong_language"}
    assert kept[0].metadata["language"] == "en"
    assert 0.5 <= kept[0].metadata["language_score"] <= 1.0
    assert verdict(LanguageFilter(languages=["en", "fr"]), FR) == "kept"
    assert verdict(LanguageFilter(languages=[]), DE) == "kept"


def test_score_threshold_just_inside_and_over():
    score = detect(EN)[1]
    assert verdict(LanguageFilter(min_score=score), EN) == "kept"
    assert verdict(LanguageFilter(min_score=min(score + 1e-3, 1.0 + 1e-3)), EN) == "low_language_score"


def test_gibberish_has_a_low_score():
    assert verdict(LanguageFilter(min_score=0.5), "zxq vvk 12 99 qq") in ("low_language_score", "wrong_language")


@pytest.mark.parametrize("text", [EN * 50])
def test_long_documents_are_classified_from_their_start(text):
    assert detect(text, max_chars=200) == detect(text[:200], max_chars=200)
