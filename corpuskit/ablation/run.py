"""`corpuskit ablate`: did this data choice make a better model?

Each variant (a pipeline file run on `--input`, or a folder or file of documents) is
prepared, tokenized with one tokenizer trained on an equal share of every variant (so only
the data differs), sharded, and trained on with the same model, seeds and token budget;
every checkpoint is scored on the same held-out text (bits per byte per domain, shipped in
`heldout/`) and, where the trainer has them, the quick task suite. As DCLM and FineWeb
compare data: small models, same recipe, several seeds, differences against seed noise.

Every step is a corpuskit or trainer command run as a subprocess, each resumable on its
own; a variant and seed whose result file matches its inputs is not trained again.

    OUTPUT/variants/NAME/data     a pipeline variant's run folder
    OUTPUT/variants/NAME/shards   its shards (the shared tokenizer)
    OUTPUT/variants/NAME/seed-S   the training run
    OUTPUT/tokenizer/             the shared tokenizer and the sample it was trained on
    OUTPUT/results/NAME-seed-S.json, OUTPUT/ablation.json, OUTPUT/report.html
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from corpuskit.errors import CorpuskitError
from corpuskit.io import atomic_write_text, file_digest
from corpuskit.layout import claim_folder
from corpuskit.lock import folder_lock

MARKER = ".corpuskit-ablation"
HELDOUT = Path(__file__).resolve().parent / "heldout"
DOMAINS = ("books", "web", "textbook")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# what a run of the ablation changes in the trainer's config: a fixed number of steps (the
# token budget), no time budget (a slow machine must train the same model), no side outputs, and
# no scoring in the trainer (the ablation scores every checkpoint itself, the same way)
_TRAIN_FIXED = ("max_time=0", "progress=false", "sample_tokens=0", "plot=false", "eval_interval=0", "eval_tasks=",
                "heldout=")
# lines of a failed command's output that say why (a traceback's last line, a C++ abort's message)
_WHY = re.compile(r"Error|error:|terminate called|what\(\)|Fatal Python|Aborted|Killed")


class AblationError(CorpuskitError, ValueError):
    """A variant or setting that cannot be ablated, or a step that failed."""


@dataclass(frozen=True)
class Variant:
    name: str
    path: Path
    pipeline: bool  # a pipeline file, run on --input; else documents used as they are


def parse_variants(specs: list[str]) -> list[Variant]:
    """`NAME=PATH` or `PATH` (named by its file or folder name, extension dropped)."""
    out: list[Variant] = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            path, name = spec, Path(spec.rstrip("/")).name.split(".")[0]
        if not NAME.fullmatch(name):
            raise AblationError(f"variant {spec!r}: the name {name!r} must be letters, digits, '_', '.' or '-' "
                                "(at most 64), starting with a letter or digit; name it with NAME=PATH")
        p = Path(path)
        if not p.exists():
            raise AblationError(f"variant {name}: {path} does not exist")
        if any(v.name == name for v in out):
            raise AblationError(f"two variants are named {name}; name them with NAME=PATH")
        out.append(Variant(name, p, p.is_file() and p.suffix in (".yaml", ".yml")))
    if not out:
        raise AblationError("name at least one variant (a pipeline file, or a folder or file of documents)")
    return out


def default_config() -> Path:
    """The trainer's default config (what `make train` uses), wherever the trainer is installed."""
    import importlib.util

    spec = importlib.util.find_spec("trainer")
    if spec is None or not spec.submodule_search_locations:
        raise AblationError("the trainer package is not installed (pip install -e . installs it)")
    return Path(list(spec.submodule_search_locations)[0]) / "configs" / "default.yaml"


def tokens_per_step(config: Path, trainer_args: tuple[str, ...]) -> int:
    """Tokens one optimizer step reads, from the trainer config (and `key=value` overrides)."""
    cfg = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    model = cfg.get("model") or {}
    values = {"batch_size": cfg.get("batch_size", 32), "grad_accum": cfg.get("grad_accum", 1),
              "model.block_size": model.get("block_size", 128)}
    for arg in trainer_args:
        key, _, value = arg.lstrip("-").partition("=")
        if key in values:
            values[key] = int(value)
    return int(values["batch_size"]) * int(values["grad_accum"]) * int(values["model.block_size"])


def _run(cmd: list[str], what: str, log: Callable[[str], None]) -> str:
    log(f"ablate: {what}")
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        why = [line for line in lines[:-5] if _WHY.search(line)][:8]  # torchrun's summary alone names no cause
        tail = "\n".join(why + (["..."] if why else []) + lines[-5:])
        raise AblationError(f"{what} failed (exit {done.returncode}):\n{tail}")
    return done.stdout


def _corpuskit(*args: str) -> list[str]:
    return [sys.executable, "-m", "corpuskit", *args]


def _trainer(*args: str) -> list[str]:
    return [sys.executable, "-m", "trainer", *args]


def _sample(variants: dict[str, Path], out: Path, budget: int) -> None:
    """The tokenizer's training text: the first `budget / n` bytes of every variant, so that no
    variant's words get more of the vocabulary than another's."""
    from corpuskit.tokenize.inputs import InputDocuments

    share = budget // len(variants)
    lines = []
    for name, path in variants.items():
        used = 0
        for doc in InputDocuments(path):
            if used >= share:
                break
            lines.append(json.dumps({"id": f"{name}/{doc.id}", "text": doc.text}, ensure_ascii=False) + "\n")
            used += len(doc.text.encode("utf-8"))
    atomic_write_text(out, "".join(lines))


def _heldout_files(output: Path, heldout: dict[str, Path]) -> dict[str, Path]:
    """Each domain as a plain text file (the trainer's `eval --text` reads UTF-8 text)."""
    files = {}
    for name, path in heldout.items():
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        dest = output / "heldout" / f"{name}.txt"
        if not dest.is_file() or dest.read_bytes() != data:
            dest.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(dest, data.decode("utf-8"))
        files[name] = dest
    return files


def _has_tasks() -> bool:
    done = subprocess.run(_trainer("eval", "--help"), capture_output=True, text=True)
    return "--tasks" in done.stdout


def _checkpoint(run: Path) -> Path:
    ckpts = sorted(p for p in run.glob("ckpt-*") if p.is_dir())
    if not ckpts:
        raise AblationError(f"{run}: training wrote no checkpoint")
    return ckpts[-1]


def ablate(specs: list[str], output: str | Path, *, input_path: str | None = None, tokens: int = 2_000_000,
           seeds: int = 1, config: str | Path | None = None, vocab_size: int = 4096, tasks: str | None = "quick",
           heldout: dict[str, str] | None = None, workers: int = 2, trainer_args: tuple[str, ...] = (),
           task_limit: int = 0, executor: str = "local", nproc: int = 1,
           log: Callable[[str], None] = lambda m: None) -> dict:
    """Run the ablation into `output` and return what ablation.json holds."""
    variants = parse_variants(specs)
    if tokens < 1 or seeds < 1 or nproc < 1:
        raise AblationError("--tokens, --seeds and --nproc must be at least 1")
    config = Path(config) if config else default_config()
    if not config.is_file():
        raise AblationError(f"trainer config {config} not found")
    domains = {d: HELDOUT / f"{d}.txt.gz" for d in DOMAINS} if heldout is None else {
        k: Path(v) for k, v in heldout.items()}
    for name, path in domains.items():
        if not NAME.fullmatch(name) or not path.is_file():
            raise AblationError(f"held-out text {name}={path}: needs a simple name and an existing file")
    if any(v.pipeline for v in variants) and input_path is None:
        log("ablate: no --input: each pipeline variant reads its own input")
    output = Path(output)
    claim_folder(output, MARKER, "ablation")
    with folder_lock(output, "ablation"):
        run = _Runner(executor, nproc, log)
        return _ablate(variants, output, input_path, tokens, seeds, config, vocab_size, tasks, domains, workers,
                       trainer_args, task_limit, run)


def _ablate(variants, output, input_path, tokens, seeds, config, vocab_size, tasks, domains, workers, trainer_args,
            task_limit, run: "_Runner") -> dict:
    log = run.log
    data: dict[str, Path] = {}
    for v in variants:
        if v.pipeline:
            run_dir = output / "variants" / v.name / "data"
            cmd = _corpuskit("run", str(v.path), "--output", str(run_dir), "--workers", str(workers), "--quiet",
                             "--executor", run.executor)
            _run(cmd + (["--input", input_path] if input_path else []), f"prepare {v.name} ({v.path})", log)
            data[v.name] = run_dir
        else:
            data[v.name] = v.path
    tok_dir = output / "tokenizer"
    tok_dir.mkdir(parents=True, exist_ok=True)
    _sample(data, tok_dir / "sample.jsonl", 8_000_000)
    _run(_corpuskit("tokenizer", "train", str(tok_dir / "sample.jsonl"), str(tok_dir / "bpe"), "--vocab-size",
                    str(vocab_size), "--workers", str(workers), "--quiet"), "train the shared tokenizer", log)
    tokenizer = tok_dir / "bpe" / "tokenizer.json"
    per_step = tokens_per_step(config, trainer_args) * run.nproc  # each process reads its own batches
    steps = max(1, math.ceil(tokens / per_step))
    texts = _heldout_files(output, domains)
    with_tasks = bool(tasks) and _has_tasks()
    key_base = {"config": file_digest(config), "steps": steps, "nproc": run.nproc, "trainer_args": list(trainer_args),
                "heldout": {k: file_digest(p) for k, p in texts.items()}, "tasks": tasks if with_tasks else None,
                "task_limit": task_limit}
    results = []
    for v in variants:
        shards = output / "variants" / v.name / "shards"
        _run(_corpuskit("shard", str(data[v.name]), str(shards), "--tokenizer", str(tokenizer), "--quiet"),
             f"shard {v.name}", log)
        per_seed = []
        for seed in range(1, seeds + 1):
            key = hashlib.sha256(json.dumps({**key_base, "seed": seed, "shards": file_digest(shards / "manifest.json")},
                                            sort_keys=True).encode()).hexdigest()
            path = output / "results" / f"{v.name}-seed-{seed}.json"
            old = json.loads(path.read_text()) if path.is_file() else {}
            if old.get("key") != key:
                old = _train_and_score(v.name, seed, shards, output / "variants" / v.name / f"seed-{seed}", config,
                                       steps, trainer_args, texts, tasks if with_tasks else None, task_limit, run)
                old["key"] = key
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_text(path, json.dumps(old, indent=1) + "\n")
            per_seed.append(old)
        results.append(_summary(v.name, per_seed, list(texts)))
    from corpuskit.ablation.report import compare, write_report

    out = {"tokens": tokens, "steps": steps, "tokens_per_step": per_step, "nproc": run.nproc,
           "seeds": seeds, "config": str(config), "trainer_args": list(trainer_args), "heldout": list(texts),
           "tasks": tasks if with_tasks else None, "variants": results, "comparison": compare(results)}
    atomic_write_text(output / "ablation.json", json.dumps(out, indent=1) + "\n")
    write_report(output / "report.html", out)
    return out


class _Runner:
    """Where the steps run: pipelines on `executor` (local or ray), training in `nproc` processes
    (torchrun's launcher when more than one)."""

    def __init__(self, executor: str, nproc: int, log: Callable[[str], None]):
        self.executor, self.nproc, self.log = executor, nproc, log

    def train(self, *args: str) -> list[str]:
        if self.nproc == 1:
            return _trainer("train", *args)
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={self.nproc}",
                "-m", "trainer", "train", *args]


def _train_and_score(name, seed, shards, out, config, steps, trainer_args, texts, tasks, task_limit, run) -> dict:
    log = run.log
    _run(run.train("--config", str(config), "--data", str(shards), "--out", str(out), "--overwrite",
                   f"seed={seed}", f"max_steps={steps}", *_TRAIN_FIXED, *trainer_args),
         f"train {name}, seed {seed}, {steps} steps" + (f", {run.nproc} processes" if run.nproc > 1 else ""), log)
    ckpt = _checkpoint(out)
    from trainer.evaluate import eval_checkpoint  # here, not per domain in a subprocess: torch loads once

    log(f"ablate: score {name}, seed {seed} on {', '.join(texts)}")
    heldout = {domain: round(float(eval_checkpoint(str(ckpt), str(text))["bits_per_byte"]), 5)
               for domain, text in texts.items()}
    result = {"seed": seed, "heldout": heldout, "tasks": {}}
    if tasks:
        out = _run(_trainer("eval", "--checkpoint", str(ckpt), "--tasks", tasks, "--limit", str(task_limit), "--json"),
                   f"tasks {name} seed {seed}", log)
        result["tasks"] = json.loads(out.strip().splitlines()[-1])
    return result


def _summary(name: str, per_seed: list[dict], domains: list[str]) -> dict:
    """A variant's figures: per domain the mean over seeds, and each seed's own."""
    def mean(xs):
        return round(sum(xs) / len(xs), 5)

    heldout = {d: mean([r["heldout"][d] for r in per_seed]) for d in domains}
    heldout["mean"] = mean([heldout[d] for d in domains])
    seeds = [{"seed": r["seed"], "heldout": {**r["heldout"], "mean": mean([r["heldout"][d] for d in domains])},
              "tasks": r["tasks"]} for r in per_seed]
    tasks: dict = {}
    if per_seed[0]["tasks"]:
        core = [r["tasks"].get("core") for r in per_seed if r["tasks"].get("core") is not None]
        tasks = {"core": mean(core) if core else None,
                 "tasks": {t: {"accuracy": mean([r["tasks"]["tasks"][t]["accuracy"] for r in per_seed]),
                               "centered": mean([r["tasks"]["tasks"][t]["centered"] for r in per_seed])}
                           for t in per_seed[0]["tasks"].get("tasks", {})}}
    return {"name": name, "heldout": heldout, "tasks": tasks, "seeds": seeds}
