"""The stage lists behind the one-step commands (`corpuskit clean`, `corpuskit dedup`).

Each is the same list a pipeline YAML would hold, so a user can copy it into a
pipeline file and tune it there.
"""

from __future__ import annotations

# Repair first, then remove boilerplate lines and PII (so rejected records carry no PII
# either), then the quality rules. Thresholds are the published ones except where noted:
# those rules read hard-wrapped books and verse as junk (see docs/CLEANING.md).
CLEAN_STAGES: list[dict] = [
    {"repair": {}},
    {"emoji": {"mode": "keep"}},
    {"boilerplate": {}},
    {"pii": {}},
    {"c4_quality": {"min_sentences": 3}},  # C4: 5 per web page; a 2,000-char chunk of Austen has 3-4
    {"gopher_quality": {}},
    {"fineweb_quality": {"wrap_width": 80, "skip_label_lines": True, "char_duplicates_ratio": 0.05}},
    {"gopher_repetition": {"skip_label_lines": True}},
    {"language_filter": {"languages": ["en"], "min_score": 0.5}},
]


def dedup_stages(exact_only: bool = False, threshold: float | None = None, ngram: int | None = None,
                 num_perm: int | None = None, index_dir: str | None = None) -> list[dict]:
    """Exact de-duplication, then near-duplicate MinHash LSH unless `exact_only`.

    Options left as None take the stage defaults (5-word shingles, 112 permutations as
    14 bands x 8 rows, no persistent index).
    """
    stages: list[dict] = [{"exact_dedup": {}}]
    if not exact_only:
        params = {"threshold": threshold, "ngram": ngram, "num_perm": num_perm, "index_dir": index_dir}
        stages.append({"minhash_dedup": {k: v for k, v in params.items() if v is not None}})
    return stages
