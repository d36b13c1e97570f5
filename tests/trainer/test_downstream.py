"""Downstream task scoring: each task type on a tiny hand-made task whose answer a bigram model
with hand-set log-probabilities decides, the exact scored token spans, few-shot draws, the CLI."""

import json
import math
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers

from trainer.downstream import (TASK_DIR, Task, evaluate_task, evaluate_tasks, load_task, render, scored_span,
                                task_config)
from trainer.errors import InputError

WORDS = ["<eot>", "a", "b", "x", "y", "z", "A", "B", "c", "d", "other"]
ID = {w: i for i, w in enumerate(WORDS)}
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def word_tokenizer():
    tok = Tokenizer(models.WordLevel(ID, unk_token="other"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return tok


class Bigram(torch.nn.Module):
    """logits[t] = log p(next | token t), from a table of hand-set probabilities (log_softmax keeps them)."""

    def __init__(self, probs, block_size=64):
        super().__init__()
        self.cfg = SimpleNamespace(block_size=block_size)
        table = torch.full((len(WORDS), len(WORDS)), 1e-6)
        for (prev, nxt), p in probs.items():
            table[ID[prev], ID[nxt]] = p
        for row in table:  # the rest of each row's mass on "other", so every row sums to 1
            row[ID["other"]] += 1 - row.sum()
        self.logp = torch.nn.Parameter(table.log())

    def forward(self, idx):
        return self.logp[idx], None  # (B, T, V)


def run(task, probs, **kw):
    return evaluate_task(Bigram(probs), word_tokenizer(), ID["<eot>"], task, **kw)


def test_multiple_choice_takes_the_lowest_mean_loss_of_the_choice_tokens():
    # after "a": "x" costs 1 nat and "y" after it 1 (mean 1, sum 2); "z" costs 1.5 (mean and sum 1.5)
    probs = {("a", "x"): math.exp(-1), ("x", "y"): math.exp(-1), ("a", "z"): math.exp(-1.5),
             ("<eot>", "a"): 0.5}
    items = [{"query": "a", "choices": ["z", "x y"], "gold": 1}, {"query": "a", "choices": ["x y", "z"], "gold": 1}]
    result = run(Task("mc", "multiple_choice", 0, " ", 0.5, items), probs)
    assert result == {"accuracy": 0.5, "chance": 0.5, "centered": 0.0, "n": 2}  # the mean picks "x y" both times
    assert run(Task("mc", "multiple_choice", 0, " ", 0.25, items[:1]), probs)["centered"] == 1.0


def test_schema_scores_only_the_shared_continuation():
    # "B" itself is far likelier than "A" at the start, but "c d" is likelier after "A": A wins
    probs = {("<eot>", "B"): 0.9, ("<eot>", "A"): 0.01, ("A", "c"): 0.5, ("B", "c"): 0.05, ("c", "d"): 0.5}
    items = [{"context_options": ["A", "B"], "continuation": "c d", "gold": 0},
             {"context_options": ["B", "A"], "continuation": "c d", "gold": 0}]
    assert run(Task("schema", "schema", 0, " ", 0.5, items), probs)["accuracy"] == 0.5


def test_language_modelling_needs_every_greedy_token():
    probs = {("a", "x"): 0.6, ("x", "y"): 0.6, ("x", "z"): 0.3}
    items = [{"context": "a", "continuation": "x y"}, {"context": "a", "continuation": "x z"},
             {"context": "a", "continuation": "x"}]
    result = run(Task("lm", "language_modeling", 0, " ", 0.0, items), probs)
    assert result["accuracy"] == pytest.approx(2 / 3) and result["centered"] == pytest.approx(2 / 3)


def test_scored_span_starts_after_the_common_prefix_and_keeps_the_last_tokens(shards):
    tok = Tokenizer.from_file(os.path.join(shards, "tokenizer.json"))  # byte-level BPE
    context, full = "The cat sat on", "The cat sat on the mat"
    c, f = tok.encode(context).ids, tok.encode(full).ids
    ids, start, end = scored_span(c, f, 0, 64)
    assert ids == [0] + f and end == len(ids)
    assert tok.decode(ids[start:end]) == " the mat" and ids[1:start] == c
    # a context ending in the delimiter: BPE merges " " into the next word, so the span starts there
    c = tok.encode("The cat sat on ").ids
    ids, start, end = scored_span(c, f, 0, 64)
    assert tok.decode(ids[start:end]) == " the mat" and len(c) > start - 1
    # too long for the model: the last block_size tokens stay, the span moves with them
    span = end - start
    ids, start, end = scored_span(tok.encode(context).ids, f, 0, span + 2)
    assert ids == f[-span - 2:] and (start, end) == (2, span + 2) and tok.decode(ids[start:end]) == " the mat"
    ids, start, end = scored_span([], f, 0, 3)  # a span longer than the window: all but position 0
    assert (start, end) == (1, 3)


def test_few_shot_examples_come_from_the_task_never_the_item_itself():
    items = [{"query": f"q{i}", "choices": ["a", "b"], "gold": i % 2} for i in range(6)]
    task = Task("mc", "multiple_choice", 0, " ", 0.5, items)
    for i in range(6):
        (context, full), _ = render(task, i, 5)  # every other item: the draw cannot avoid it by luck
        lines = context.split("\n")
        assert sorted(lines[:-1]) == sorted(f"q{j} {'ab'[j % 2]}" for j in range(6) if j != i)
        assert lines[-1] == f"q{i} " and full == context + "a"
    assert render(task, 2, 3) == render(task, 2, 3) and render(task, 2, 3) != render(task, 3, 3)  # seeded per item


def test_added_task_from_a_jsonl_file_and_a_line_of_config(tmp_path):
    (tmp_path / "mine.jsonl").write_text(json.dumps({"query": "a", "choices": ["x", "z"], "gold": 0}) + "\n")
    (tmp_path / "tasks.yaml").write_text("tasks:\n  mine: {file: mine.jsonl, type: multiple_choice, shots: 0, "
                                         "delimiter: ' ', chance: 0.5}\nquick: {tasks: [mine], limit: 1}\n")
    model = Bigram({("a", "x"): 0.5, ("a", "z"): 0.1})
    result = evaluate_tasks(model, word_tokenizer(), 0, "mine", folder=str(tmp_path))
    assert result == {"tasks": {"mine": {"accuracy": 1.0, "chance": 0.5, "centered": 1.0, "n": 1}}, "core": 1.0}
    with pytest.raises(InputError, match="unknown task nope; known: core, quick, mine"):
        evaluate_tasks(model, word_tokenizer(), 0, "mine,nope", folder=str(tmp_path))
    (tmp_path / "mine.jsonl").write_text('{"query": "a", "gold": 0}\n')
    with pytest.raises(InputError, match=r"mine.jsonl:1: a multiple_choice item needs choices"):
        evaluate_tasks(model, word_tokenizer(), 0, "mine", folder=str(tmp_path))


def test_shipped_tasks_are_the_upstream_bytes():
    config = task_config()
    tasks = {name: load_task(name, entry) for name, entry in config["tasks"].items()}  # sha256 checked
    assert sum(len(t.items) for t in tasks.values()) == 52237 and len(tasks) == 18
    assert sum(e.get("core", False) for e in config["tasks"].values()) == 17  # CORE-17: siqa is not in CORE
    assert set(config["quick"]["tasks"]) <= set(tasks)
    assert not [f for f in os.listdir(TASK_DIR) if f.endswith(".jsonl")]  # shipped compressed


def test_eval_tasks_command_prints_one_json_line(tiny_config, tmp_path):
    from trainer.train import train

    ckpt = train(tiny_config(tmp_path / "run", "max_steps=2"))["checkpoint"]
    out = subprocess.run([sys.executable, "-m", "trainer", "eval", "--checkpoint", ckpt, "--tasks",
                          "copa,winograd_wsc,lambada_openai", "--limit", "6", "--shots", "1", "--json"],
                         capture_output=True, text=True, cwd=REPO, check=True, timeout=300).stdout
    assert len(out.splitlines()) == 1
    result = json.loads(out)
    assert list(result["tasks"]) == ["copa", "winograd_wsc", "lambada_openai"]
    for r in result["tasks"].values():
        assert set(r) == {"accuracy", "chance", "centered", "n"} and r["n"] == 6
        assert r["centered"] == pytest.approx((r["accuracy"] - r["chance"]) / (1 - r["chance"]))
    assert result["core"] == pytest.approx(sum(r["centered"] for r in result["tasks"].values()) / 3)
    bad = subprocess.run([sys.executable, "-m", "trainer", "eval", "--checkpoint", ckpt, "--tasks", "hellaswag"],
                         capture_output=True, text=True, cwd=REPO, timeout=300)
    assert bad.returncode == 1 and bad.stderr.startswith("Error: --tasks: unknown task hellaswag; known: core")
