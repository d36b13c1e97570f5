"""Training runs in the report: read from the trainer's run folders, never by importing the trainer.

A trainer run folder holds `metrics.jsonl` (one JSON object per line: training rows with
`step, loss, lr, tokens, tok_per_s, ...`; evaluation rows with `step, val_loss,
val_perplexity, val_bits_per_byte`) and `ckpt-NNNNNN/` folders whose `config.json` and
`manifest.json` give the model settings and the shard set's bytes per token. A run with
`eval_tasks` ends with a row `step, tasks: {NAME: {accuracy, chance, centered, n}}, core`. That is
the trainer's documented output, read here as any other tool would read it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from corpuskit.errors import CorpuskitError
from corpuskit.report import svg
from corpuskit.report.page import esc, figure, num, table


@dataclass
class TrainRun:
    name: str
    root: Path
    train: list[dict]  # rows with "loss"
    evals: list[dict]  # rows with "val_loss"
    config: dict
    bytes_per_token: float | None  # of the train split, to turn loss into bits per byte
    tasks: dict | None = None  # the last row of scores after training ("heldout", "tasks", "core"), if any

    @property
    def final(self) -> dict:
        return self.evals[-1] if self.evals else {}


def load_train_run(path: str | Path, name: str | None = None) -> TrainRun:
    root = Path(path)
    metrics = root / "metrics.jsonl"
    if not metrics.is_file():
        raise CorpuskitError(f"no metrics.jsonl in {root}: not a trainer run folder")
    rows = []
    for n, line in enumerate(metrics.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError:
                raise CorpuskitError(f"{metrics}:{n}: not a JSON line") from None
    # A resumed run appends: keep the last row logged for each step.
    train = {r["step"]: r for r in rows if "loss" in r and "step" in r}
    evals = {r["step"]: r for r in rows if "val_loss" in r and "step" in r}
    ckpts = sorted(p for p in root.glob("ckpt-*") if p.is_dir())
    config, bpt = {}, None
    if ckpts:
        config = _json(ckpts[-1] / "config.json")
        manifest = _json(ckpts[-1] / "manifest.json")
        bpt = manifest.get("splits", {}).get("train", {}).get("bytes_per_token") or manifest.get("bytes_per_token")
    scored = [r for r in rows if isinstance(r.get("tasks"), dict) or isinstance(r.get("heldout"), dict)]
    return TrainRun(name or root.name, root, [train[k] for k in sorted(train)], [evals[k] for k in sorted(evals)],
                    config, bpt, scored[-1] if scored else None)


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def load_train_runs(paths: list[str | Path]) -> list[TrainRun]:
    """Several runs; names are folder names, or whole paths where folder names repeat."""
    names = [Path(p).name for p in paths]
    return [load_train_run(p, n if names.count(n) == 1 else str(p)) for p, n in zip(paths, names)]


def training(runs: list[TrainRun]) -> str:
    if not runs:
        return ""
    colors = [svg.PALETTE[i % len(svg.PALETTE)] for i in range(len(runs))]
    val_colors = [svg.PALETTE[(i + len(runs)) % len(svg.PALETTE)] for i in range(len(runs))]

    def curves(rows_of, key, scale=lambda r, v: v):
        return [(r.name, [(row["step"], scale(r, row[key])) for row in rows_of(r) if row.get(key) is not None])
                for r in runs]

    def bpb(r, loss):
        return loss / math.log(2) / r.bytes_per_token if r.bytes_per_token else None

    train, evals = (lambda r: r.train), (lambda r: r.evals)
    charts = [
        figure(svg.lines(curves(train, "loss"), "training loss", "step", "nats per token", colors=colors),
               "Each run's training loss as logged (log_interval).", "train_loss"),
        figure(svg.lines(curves(evals, "val_loss"), "validation loss", "step", "nats per token", dots=True,
                         colors=colors), "The last point is the final evaluation over the whole split.", "val_loss"),
        figure(svg.lines([(f"{n} train", p) for n, p in curves(train, "loss", bpb)]
                         + [(f"{n} validation", p) for n, p in curves(evals, "val_bits_per_byte")],
                         "bits per byte", "step", "bits per byte",
                         colors=colors + val_colors),
               "Training loss converted with the train split's bytes per token; validation as evaluated.", "bpb"),
        figure(svg.lines(curves(train, "lr"), "learning rate", "step", "lr", colors=colors), "", "lr"),
        figure(svg.lines(curves(train, "tok_per_s"), "throughput", "step", "tokens per second", colors=colors),
               "", "tok_s"),
    ]
    rows = []
    for r in runs:
        f, m = r.final, r.config.get("model", {})
        last = r.train[-1] if r.train else {}
        model = ", ".join(f"{k}={m[k]}" for k in ("arch", "n_layer", "n_head", "n_embd", "block_size") if k in m)
        rows.append([esc(r.name), num(f.get("step", last.get("step"))), num(last.get("tokens")),
                     _f(last.get("loss")), _f(f.get("val_loss")), _f(f.get("val_perplexity"), 2),
                     _f(f.get("val_bits_per_byte")), num(last.get("time")), esc(model)])
    head = ["run", "steps", "tokens", "last train loss", "val loss", "val perplexity", "val bits/byte",
            "train s", "model"]
    return ('<div class="grid">' + "".join(c for c in charts if c) + "</div><h3>final evaluation</h3>"
            + table(head, rows, left=1) + _tasks(runs))


def _tasks(runs: list[TrainRun]) -> str:
    """Held-out bits per byte and downstream task accuracy per run (centered in brackets), and the
    mean centered accuracy."""
    scored = [r for r in runs if r.tasks]
    if not scored:
        return ""
    texts = list(dict.fromkeys(n for r in scored for n in r.tasks.get("heldout", {})))
    names = list(dict.fromkeys(n for r in scored for n in r.tasks.get("tasks", {})))
    rows = []
    for r in scored:
        held, got = r.tasks.get("heldout", {}), r.tasks.get("tasks", {})
        rows.append([esc(r.name), *(_f(held.get(n)) for n in texts),
                     *(f"{got[n]['accuracy']:.3f} ({got[n]['centered']:+.3f}), n={got[n]['n']}"
                       if n in got else "–" for n in names), _f(r.tasks.get("core"))])
    return ("<h3>held-out text and downstream tasks</h3><p>After training: bits per byte on text the shard set "
            "never saw (the held-out columns), accuracy by log-likelihood on each task (centered accuracy "
            "(accuracy − chance) / (1 − chance) in brackets), and the mean centered accuracy (CORE-style).</p>"
            + table(["run", *(f"held-out {esc(n)} bits/byte" for n in texts), *map(esc, names), "mean centered"],
                    rows, left=1))


def _f(x, digits: int = 4) -> str:
    return "–" if x is None else f"{x:.{digits}f}"
