"""A small quality model trained once per test session on generated pages (good: prose, bad: spam)."""

from __future__ import annotations

import socket

import pytest

from helpers.quality import labelled, write_jsonl


@pytest.fixture(scope="session")
def small_model(tmp_path_factory):
    """(model folder, card) of a model trained on 120 generated pages, 40 more as dev."""
    from corpuskit.stages.quality.train import train_command

    base = tmp_path_factory.mktemp("quality")
    write_jsonl(base / "train.jsonl", labelled(120, 1))
    write_jsonl(base / "dev.jsonl", labelled(40, 2))
    card = train_command([str(base / "train.jsonl")], [], [], base / "model", dev_path=str(base / "dev.jsonl"),
                         steps=60, buckets=1 << 12, echo=lambda s: None)
    return base / "model", card


@pytest.fixture
def offline(monkeypatch):
    """Any attempt to open a socket fails the test."""
    def refuse(*a, **k):
        raise AssertionError("the quality model tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
