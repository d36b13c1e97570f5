"""Shared fixtures: small corpora built in tmp_path, and test-only stages on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# One helpers package for every test (`from helpers.clean import prose`); its test-only
# stages are importable as `helpers.faults:CrashAfter`, also in spawned workers, which
# inherit sys.path from this process.
sys.path.insert(0, str(REPO / "tests"))



@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def prose_dir(tmp_path: Path) -> Path:
    """A folder of three small text files, one of them a duplicate of another."""
    d = tmp_path / "prose"
    d.mkdir()
    paras = [
        "The river ran quietly past the old mill, and the miller's children played on its banks.",
        "In the evening the lamps were lit one by one along the street, and the shops closed.",
        "Nobody in the village remembered a winter as hard as that one, not even the oldest men.",
        "She wrote to her sister every week, long letters full of small news and large opinions.",
    ]
    (d / "a.txt").write_text("\n\n".join(paras[:2]) + "\n", encoding="utf-8")
    (d / "b.txt").write_text("\n\n".join(paras[2:]) + "\n", encoding="utf-8")
    (d / "c.txt").write_text("\n\n".join(paras[:2]).upper() + "\n", encoding="utf-8")  # a.txt up to case
    return d
