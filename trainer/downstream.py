"""Downstream evaluation: a checkpoint scored on the tasks of trainer/tasks/ by log-likelihood, as
llm-foundry and nanochat's CORE do (the rules are in trainer/tasks/MANIFEST.md and README.md).

- multiple_choice `{query, choices, gold}`: the choice whose tokens have the lowest mean loss after
  `query + delimiter`;
- schema `{context_options, continuation, gold}`: the context option after which the shared
  continuation has the lowest mean loss;
- language_modeling `{context, continuation}`: right if the greedy continuation reproduces every
  token. Greedy decoding reproduces the continuation exactly when, fed the continuation, the
  model's argmax at each of its positions is its next token, so one forward pass decides it.

Every sequence starts with the end-of-text token, as documents do in training. The scored tokens
of a text are those after its longest common token prefix with its context alone (a BPE merge
across the boundary moves the boundary, never drops a token). A sequence longer than the model's
context keeps its last tokens. Few-shot examples come from the same task, drawn with a fixed seed
per item, never the item itself. Per task: accuracy, chance, centered accuracy
`(acc - chance) / (1 - chance)` and item count; `core` is the mean of the centered accuracies.
"""

import gzip
import hashlib
import json
import os
import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F
import yaml

from .errors import InputError

TASK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tasks")
FEWSHOT_SEED = 1234  # few-shot draws: random.Random(FEWSHOT_SEED + item index)
KEYS = {"multiple_choice": ("query", "choices", "gold"), "schema": ("context_options", "continuation", "gold"),
        "language_modeling": ("context", "continuation")}


@dataclass
class Task:
    name: str
    type: str
    shots: int
    delimiter: str
    chance: float
    items: list


def task_config(folder=TASK_DIR):
    with open(os.path.join(folder, "tasks.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def task_names(spec, config):
    """`core` (every task marked core), `quick` (and its item limit), or NAME[,NAME]: ([names], limit)."""
    known = config["tasks"]
    if spec == "core":
        return [n for n, t in known.items() if t.get("core")], 0
    if spec == "quick":
        return list(config["quick"]["tasks"]), int(config["quick"]["limit"])
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise InputError(f"--tasks: unknown task {', '.join(unknown) or repr(spec)}; known: core, quick, "
                         f"{', '.join(known)}")
    return names, 0


def load_task(name, entry, folder=TASK_DIR):
    """A Task from its tasks.yaml entry: the file's sha256 checked, every row's keys checked."""
    path = os.path.join(folder, entry["file"])
    kind = entry["type"]
    if kind not in KEYS:
        raise InputError(f"tasks.yaml: task {name}: type {kind!r} is not one of {', '.join(KEYS)}")
    with open(path, "rb") as f:
        raw = f.read()
    if path.endswith(".gz"):
        raw = gzip.decompress(raw)
    if entry.get("sha256") and hashlib.sha256(raw).hexdigest() != entry["sha256"]:
        raise InputError(f"{path}: sha256 differs from tasks.yaml's; the file was changed or damaged")
    items = []
    for line_no, line in enumerate(raw.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{line_no}: not JSON ({e.msg})") from None
        missing = [k for k in KEYS[kind] if k not in item]
        if missing:
            raise InputError(f"{path}:{line_no}: a {kind} item needs {', '.join(missing)}")
        items.append(item)
    return Task(name, kind, int(entry.get("shots", 0)), entry.get("delimiter", " "), float(entry["chance"]), items)


def example(task, item):
    """A solved item, as a few-shot example."""
    d = task.delimiter
    if task.type == "multiple_choice":
        return item["query"] + d + item["choices"][item["gold"]]
    if task.type == "schema":
        return item["context_options"][item["gold"]] + d + item["continuation"]
    return item["context"] + d + item["continuation"]


def render(task, index, shots):
    """[(context alone, full text)] for each option of item `index`; the few-shot examples first."""
    item, prefix = task.items[index], ""
    if shots:
        others = [i for i in range(len(task.items)) if i != index]  # never the item itself
        drawn = random.Random(FEWSHOT_SEED + index).sample(others, min(shots, len(others)))
        prefix = "".join(example(task, task.items[i]) + "\n" for i in drawn)
    d = task.delimiter
    if task.type == "multiple_choice":
        return [(prefix + item["query"] + d, prefix + item["query"] + d + c) for c in item["choices"]]
    if task.type == "schema":
        return [(prefix + o + d, prefix + o + d + item["continuation"]) for o in item["context_options"]]
    return [(prefix + item["context"] + d, prefix + item["context"] + d + item["continuation"])]


def scored_span(context_ids, full_ids, eot_id, block_size):
    """(token ids, start, end): `[eot] + full_ids`, its last `block_size` tokens if longer, and the
    positions [start, end) of the scored tokens: those after the longest common prefix with the context."""
    common = 0
    for a, b in zip(context_ids, full_ids):
        if a != b:
            break
        common += 1
    ids = [eot_id] + list(full_ids)
    start, end = 1 + common, len(ids)
    if len(ids) > block_size:
        cut = len(ids) - block_size
        ids, start, end = ids[cut:], max(1, start - cut), end - cut  # position 0 has no prediction
    return ids, start, end


@torch.no_grad()
def score(model, sequences, batch_size, device):
    """For each (ids, start, end): (mean loss of ids[start:end], whether every one is the argmax)."""
    out = [None] * len(sequences)
    order = sorted(range(len(sequences)), key=lambda i: -len(sequences[i][0]))  # similar lengths share a batch
    for b in range(0, len(order), batch_size):
        chunk = order[b:b + batch_size]
        width = len(sequences[chunk[0]][0])
        idx = torch.zeros(len(chunk), width, dtype=torch.long)
        for row, i in enumerate(chunk):
            ids = sequences[i][0]
            idx[row, :len(ids)] = torch.tensor(ids)  # right padding: causal attention never looks at it
        logits, _ = model(idx.to(device))  # (B, T, V)
        logits = logits[:, :-1].float()  # position p predicts token p + 1
        targets = idx[:, 1:].to(device)  # (B, T-1)
        losses = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none").cpu()  # (B, T-1)
        hits = (logits.argmax(dim=-1) == targets).cpu()  # (B, T-1)
        for row, i in enumerate(chunk):
            _, start, end = sequences[i]
            out[i] = (losses[row, start - 1:end - 1].mean().item(), bool(hits[row, start - 1:end - 1].all()))
    return out


def evaluate_task(model, tokenizer, eot_id, task, shots=None, limit=0, batch_size=32, device="cpu"):
    """{"accuracy", "chance", "centered", "n"} of `model` on `task` (its first `limit` items if set)."""
    shots = task.shots if shots is None else shots
    n = min(limit, len(task.items)) if limit else len(task.items)
    block_size = model.cfg.block_size
    rendered = [render(task, i, shots) for i in range(n)]
    texts = [t for options in rendered for pair in options for t in pair]
    ids = [e.ids for e in tokenizer.encode_batch(texts)]
    sequences = [scored_span(ids[2 * k], ids[2 * k + 1], eot_id, block_size) for k in range(len(ids) // 2)]
    for k, (_, start, end) in enumerate(sequences):
        if start >= end:
            raise InputError(f"task {task.name}: an option of item {k} has nothing to score (empty continuation)")
    scores = score(model, sequences, batch_size, device)
    correct, k = 0, 0
    for i, options in enumerate(rendered):
        mine, k = scores[k:k + len(options)], k + len(options)
        if task.type == "language_modeling":
            correct += mine[0][1]
        else:
            losses = [loss for loss, _ in mine]
            correct += losses.index(min(losses)) == task.items[i]["gold"]
    accuracy = correct / n if n else 0.0
    return {"accuracy": accuracy, "chance": task.chance, "centered": (accuracy - task.chance) / (1 - task.chance),
            "n": n}


def evaluate_tasks(model, tokenizer, eot_id, spec, shots=None, limit=0, batch_size=32, device="cpu", folder=TASK_DIR):
    """{"tasks": {NAME: {...}}, "core": mean centered accuracy} for `spec` (core, quick or NAME[,NAME])."""
    config = task_config(folder)
    names, default_limit = task_names(spec, config)
    was_training = model.training
    model.eval()
    results = {}
    for name in names:
        task = load_task(name, config["tasks"][name], folder)
        results[name] = evaluate_task(model, tokenizer, eot_id, task, shots, limit or default_limit, batch_size, device)
    model.train(was_training)
    core = sum(r["centered"] for r in results.values()) / len(results)
    return {"tasks": results, "core": core}


def format_table(result):
    """The per-task table and the mean, for a person (`--json` prints the dict instead)."""
    lines = [f"{'task':<34} {'n':>6} {'accuracy':>9} {'chance':>7} {'centered':>9}"]
    for name, r in result["tasks"].items():
        lines.append(f"{name:<34} {r['n']:>6} {r['accuracy']:>9.4f} {r['chance']:>7.3f} {r['centered']:>9.4f}")
    lines.append(f"{'mean centered (CORE-style)':<34} {'':>6} {'':>9} {'':>7} {result['core']:>9.4f}")
    return "\n".join(lines)


def eval_tasks_checkpoint(checkpoint, spec, shots=None, limit=0, batch_size=32, device="cpu"):
    """evaluate_tasks on a checkpoint, with its own tokenizer and end-of-text token."""
    from tokenizers import Tokenizer

    from .autotune import resolve_device
    from .checkpoint import load_manifest, load_model, resolve_checkpoint, tokenizer_file

    for name, value in (("--batch-size", batch_size), ("--limit", limit + 1), ("--shots", (shots or 0) + 1)):
        if value < 1:
            raise InputError(f"{name} must be at least {1 if name == '--batch-size' else 0}, got {value}")
    device = resolve_device(device)
    path = resolve_checkpoint(checkpoint)
    model, _ = load_model(path, device)
    tokenizer = Tokenizer.from_file(tokenizer_file(path))
    eot_id = load_manifest(path)["tokenizer"]["eot_id"]
    return evaluate_tasks(model, tokenizer, eot_id, spec, shots, limit, batch_size, device)
