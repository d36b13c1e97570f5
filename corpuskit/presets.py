"""The stage lists behind the one-step commands (`corpuskit clean`, `corpuskit dedup`).

Each is the same list a pipeline YAML would hold, so a user can copy it into a
pipeline file and tune it there.
"""

from __future__ import annotations

CLEAN_STAGES: list[dict] = [
    {"normalize": {}},
    {"length_filter": {"min_words": 5}},
]


def dedup_stages(exact_only: bool = False) -> list[dict]:
    """Exact de-duplication (near-duplicate MinHash joins when `exact_only` is False)."""
    return [{"exact_dedup": {}}]
