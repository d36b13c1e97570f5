"""Shared fixtures for the de-duplication tests: synthetic prose and a real runner call."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow.parquet as pq

from corpuskit.pipeline import parse_pipeline
from corpuskit.runner import run_pipeline

_RNG = random.Random(1234)
VOCAB = ["".join(_RNG.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(_RNG.randint(2, 9))) for _ in range(3000)]


def prose(seed: int, words: int = 120) -> str:
    """A unique, reproducible paragraph of random words (unrelated texts share no 5-gram)."""
    rng = random.Random(seed)
    out = []
    for i in range(words):
        w = rng.choice(VOCAB)
        out.append(w + ("." if i % 15 == 14 else ""))
    return " ".join(out)


def edit(text: str, n_edits: int, seed: int) -> str:
    """Substitute `n_edits` words at random positions (a near duplicate)."""
    rng = random.Random(seed)
    words = text.split()
    for _ in range(n_edits):
        words[rng.randrange(len(words))] = rng.choice(VOCAB) + "x"
    return " ".join(words)


def write_jsonl(path: Path, records: list[tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in records), encoding="utf-8")


def run_stages(inp: Path, out: Path, stages: list, workers: int = 1, force: bool = False):
    cfg = parse_pipeline({"input": str(inp), "output": str(out), "stages": stages})
    return run_pipeline(cfg, workers=workers, quiet=True, force=force)


def kept_ids(out: Path) -> list[str]:
    ids: list[str] = []
    for p in sorted(out.glob("part-*.parquet")):
        ids += pq.read_table(p, columns=["id"])["id"].to_pylist()
    return ids


def rejected(out: Path) -> dict[str, dict]:
    """id -> rejected record (reason, stage, duplicate_of, detail)."""
    rows: dict[str, dict] = {}
    for p in sorted((out / "rejected").glob("*.parquet")):
        for r in pq.read_table(p).to_pylist():
            rows[r["id"]] = r
    return rows


def kept_docs(out: Path) -> dict[str, str]:
    """id -> text of the kept documents."""
    docs: dict[str, str] = {}
    for p in sorted(out.glob("part-*.parquet")):
        t = pq.read_table(p, columns=["id", "text"])
        docs.update(zip(t["id"].to_pylist(), t["text"].to_pylist()))
    return docs


def reference_components(n: int, edges) -> list[int]:
    """Plain in-memory union-find, each node labelled by the smallest node of its component:
    what the out-of-core clustering must agree with."""
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return [find(x) for x in range(n)]
