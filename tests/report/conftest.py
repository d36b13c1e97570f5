"""A small real run, made once per session with one worker and with two: input with an exact
duplicate, a near duplicate and a rejected document holding a script tag; a tokenizer and shards."""

import pytest

from corpuskit.pipeline import parse_pipeline
from corpuskit.runner import run_pipeline

SCRIPT = "<script>alert(1)</script>"
WORDS = ("the river ran past an old mill where children played on its banks while lamps were lit along "
         "a quiet street and shops closed one by one as evening came over hills fields").split()


def _text(seed: int, n: int = 60) -> str:
    # Deterministic prose-like text, different per seed.
    return " ".join(WORDS[(seed * 7 + i * (seed % 5 + 1)) % len(WORDS)] for i in range(n)) + "."


def _make_input(root):
    root.mkdir()
    base = _text(3, 80)
    near = base.replace("mill", "barn", 1)  # one word changed: a near duplicate
    files = {
        "a.txt": [_text(1), base, _text(2)],
        "b.txt": [_text(4), near, f"tiny {SCRIPT}"],
        "c.txt": [_text(1), _text(5), "short one"],  # an exact duplicate of a.txt's first
        "d.txt": [_text(6), _text(7), _text(8), "x"],
    }
    for name, paras in files.items():
        (root / name).write_text("\n\n".join(paras) + "\n")
    return root


STAGES = [{"normalize": {}}, {"length_filter": {"min_words": 3}}, {"exact_dedup": {}},
          {"minhash_dedup": {"threshold": 0.5}}]


def _run(inp, out, workers):
    cfg = parse_pipeline({"input": str(inp), "output": str(out), "stages": STAGES,
                          "reader": {"text_mode": "paragraphs", "target_chars": 1},
                          "tokenizer": {"vocab_size": 300, "min_frequency": 1},
                          "shards": {"validation": 0.2, "shard_tokens": 500}})
    run_pipeline(cfg, workers=workers, quiet=True)
    return out


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    inp = _make_input(root / "in")
    return _run(inp, root / "w1", 1), _run(inp, root / "w2", 2)
