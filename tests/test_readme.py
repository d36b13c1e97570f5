"""The README is true: every code block in it is run here, on small inputs, or marked illustrative.

The convention: the line before a fenced block is an HTML comment, invisible on GitHub,

    <!-- illustrative: why -->   not run (it installs, takes minutes, needs a cluster, or is a listing)
    <!-- run: NAME -->           run by RUNNERS[NAME] below, in a temporary folder with small inputs

A block with neither fails `test_every_code_block_is_run_or_marked_illustrative`, as does a
command in an indented (unfenced) block. A runner runs the block's own text; where it must
change it, the substitution is written in the runner (a repository path made absolute, a
small trainer run standing for `runs/default`).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
MARK = re.compile(r"^<!-- (?:(illustrative)\b|run: ([\w-]+)\b).*-->$")
COMMAND = re.compile(r"^ {4,}(corpuskit|python|make|pip|ray|export|zcat|torchrun)\b")
BIN = Path(sys.executable).parent  # the environment's `corpuskit`


@dataclass
class Block:
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    run: str | None  # the runner's name, None for an illustrative block
    marked: bool


def readme_blocks() -> list[Block]:
    lines = README.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].startswith("```"):
            start, lang = i, lines[i][3:].strip()
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
            m = MARK.match(before.strip())
            blocks.append(Block(start + 1, lang, "\n".join(lines[start + 1:end]) + "\n", m and m.group(2),
                                m is not None))
            i = end
        i += 1
    return blocks


def _unfenced_commands() -> list[str]:
    inside, found = False, []
    for n, line in enumerate(README.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            inside = not inside
        elif not inside and COMMAND.match(line):
            found.append(f"README.md:{n}: {line.strip()}")
    return found


def test_every_code_block_is_run_or_marked_illustrative():
    blocks = readme_blocks()
    unmarked = [f"README.md:{b.line}: {b.text.splitlines()[0] if b.text.strip() else '(empty)'}"
                for b in blocks if not b.marked]
    assert not unmarked, ("code blocks neither run by tests/test_readme.py nor marked "
                          "'<!-- illustrative: why -->' on the line before:\n" + "\n".join(unmarked))
    assert not _unfenced_commands(), "commands in indented blocks: fence and mark them"
    names = [b.run for b in blocks if b.run]
    assert len(names) == len(set(names)), "two blocks with the same run: NAME"
    assert set(names) == set(RUNNERS), "a run: NAME without a runner, or a runner without its block"


# -- small inputs --------------------------------------------------------------------------------


def _paragraph_groups(n_chars: int = 1500) -> list[str]:
    """Documents of about n_chars from the embedded books' prose (enough to pass the quality filters)."""
    docs = []
    for book in ("pg35-the-time-machine", "pg11-alice-in-wonderland"):
        text = gzip.decompress((REPO / "corpus" / f"{book}.txt.gz").read_bytes()).decode("utf-8").replace("\r\n", "\n")
        paras = [" ".join(p.split()) for p in text.split("\n\n")[60:400] if len(p.split()) > 25]
        group: list[str] = []
        for p in paras:
            group.append(p)
            if sum(map(len, group)) >= n_chars:
                docs.append("\n\n".join(group))
                group = []
    return docs


def _inputs(folder: Path) -> None:
    """raw/ (text files), pages.jsonl.gz (key text) and pages/ (JSON Lines, key content) in `folder`."""
    docs = _paragraph_groups()
    (folder / "raw").mkdir()
    for i in range(3):
        (folder / "raw" / f"book{i}.txt").write_text("\n\n".join(docs[i * 8:(i + 1) * 8]) + "\n", encoding="utf-8")
    lines = "".join(json.dumps({"text": d}) + "\n" for d in docs[:40] + docs[:3])  # three exact copies
    (folder / "pages.jsonl.gz").write_bytes(gzip.compress(lines.encode("utf-8")))
    (folder / "pages").mkdir()
    (folder / "pages" / "crawl.jsonl").write_text("".join(json.dumps({"content": d}) + "\n" for d in docs[:60]),
                                                 encoding="utf-8")


def _bash(script: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "CORPUSKIT_PROGRESS": "0"}
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f"README block failed ({proc.returncode}):\n{script}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    """A folder holding `data/`: a finished run with reports, tokenizer and shards, on a few books' pages."""
    root = tmp_path_factory.mktemp("readme-run")
    _inputs(root)
    (root / "raw" / "copy.txt").write_bytes((root / "raw" / "book0.txt").read_bytes())  # something in rejected/
    (root / "p.yaml").write_text(
        "input: raw/\noutput: data/\nstages:\n  - normalize: {}\n  - exact_dedup: {}\n  - minhash_dedup: {}\n"
        "tokenizer: {vocab_size: 300}\nshards: {shard_tokens: 4000, validation: 0.2}\n")
    _bash("corpuskit run p.yaml --workers 1 -q", root)
    return root


# -- the runners ---------------------------------------------------------------------------------


def run_first_commands(block: Block, tmp_path: Path) -> None:
    _inputs(tmp_path)
    _bash(block.text, tmp_path)
    assert (tmp_path / "deduped" / "stats.json").is_file()
    kept = (tmp_path / "deduped.jsonl").read_text().splitlines()
    assert 0 < len(kept) < 43 and len({json.loads(k)["text"] for k in kept}) == len(kept)


def run_clean_dedup_stats(block: Block, tmp_path: Path) -> None:
    _inputs(tmp_path)
    out = _bash(block.text, tmp_path).stdout
    assert re.search(r"\d+ of \d+ documents kept in \d+ units", out), out


def run_report(block: Block, tmp_path: Path, small_run: Path) -> None:
    # runs/default stands for a trained model: a trainer run folder as the trainer documents it
    runs = small_run / "runs" / "default"
    runs.mkdir(parents=True, exist_ok=True)
    (runs / "metrics.jsonl").write_text(
        json.dumps({"step": 10, "loss": 5.1, "lr": 1e-3, "tokens": 40960, "tok_per_s": 9000}) + "\n"
        + json.dumps({"step": 10, "val_loss": 5.2, "val_perplexity": 181.3, "val_bits_per_byte": 2.1}) + "\n")
    _bash(block.text, small_run)
    page = (small_run / "report.html").read_text(encoding="utf-8")
    assert "minhash_dedup" in page and "default" in page


def run_pipeline_yaml(block: Block, tmp_path: Path) -> None:
    # the block's `input: corpus/` and `output: data/` are relative to the file's folder
    project = tmp_path / "project"
    (project / "corpus").mkdir(parents=True)
    (project / "corpus" / "the-verdict.txt.gz").write_bytes((REPO / "corpus" / "the-verdict.txt.gz").read_bytes())
    (project / "pipeline.yaml").write_text(block.text)
    _bash("corpuskit run project/pipeline.yaml --workers 1 -q", tmp_path)
    stats = json.loads((project / "data" / "stats.json").read_text())
    assert list(stats["stages"]) == ["read", "normalize", "short_docs", "exact_dedup"] and stats["documents_out"] > 10


def run_run_overrides(block: Block, tmp_path: Path) -> None:
    _inputs(tmp_path)
    script = block.text.replace("pipelines/default.yaml", str(REPO / "pipelines" / "default.yaml"))
    _bash(script.rstrip() + " --workers 1 -q\n", tmp_path, timeout=600)
    config = json.loads((tmp_path / "out" / "config.json").read_text())["config"]
    assert config["reader"]["glob"] == "*.jsonl" and config["reader"]["text_field"] == "content"
    assert json.loads((tmp_path / "out" / "stats.json").read_text())["documents_out"] > 0
    assert (tmp_path / "out" / "shards" / "manifest.json").is_file()


def run_python_shards(block: Block, tmp_path: Path, small_run: Path) -> None:
    script = tmp_path / "block.py"
    script.write_text(block.text + "assert len(table) > 0 and len(splits['train']) > 0 and len(docs['train']) > 0\n"
                      "assert tok.eos_token == '<|endoftext|>' and len(tokens['train']) > 0\n")
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_HOME": str(tmp_path / "hf")}
    proc = subprocess.run([sys.executable, str(script)], cwd=small_run, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


def run_figures(block: Block, tmp_path: Path, request) -> None:
    count = int(re.search(r"^tests collected: ([\d,]+)$", block.text, re.M).group(1).replace(",", ""))
    assert re.search(r"^machine: \d+ cores \(.+\), .*Python [\d.]+, \d{4}-\d\d-\d\d", block.text, re.M)
    assert f"{count:,} tests (`pytest --collect-only -q`)" in README.read_text(encoding="utf-8")
    collected = {Path(str(item.fspath)) for item in request.session.items}
    if set((REPO / "tests").rglob("test_*.py")) <= collected:  # a run of the whole suite: the count is checkable
        assert len(request.session.items) == count, (
            f"README says {count:,} tests, this run collected {len(request.session.items):,}: "
            "run python scripts/readme_figures.py and copy its lines into README.md")


RUNNERS = {
    "first-commands": run_first_commands,
    "clean-dedup-stats": run_clean_dedup_stats,
    "report": run_report,
    "pipeline-yaml": run_pipeline_yaml,
    "run-overrides": run_run_overrides,
    "python-shards": run_python_shards,
    "figures": run_figures,
}


@pytest.mark.parametrize("name", sorted(RUNNERS))
def test_readme_block_runs(name, tmp_path, request):
    block = next((b for b in readme_blocks() if b.run == name), None)
    assert block is not None, f"no README block marked run: {name}"
    runner = RUNNERS[name]
    extra = {"small_run": request.getfixturevalue("small_run")} if "small_run" in runner.__code__.co_varnames else {}
    if "request" in runner.__code__.co_varnames[:runner.__code__.co_argcount]:
        extra["request"] = request
    runner(block, tmp_path, **extra)


def test_the_run_folder_listing_names_what_a_run_writes(small_run):
    """The "What a run produces" listing: each name it shows is in a run with reports, tokenizer and shards."""
    listing = next(b for b in readme_blocks() if b.text.startswith("data/\n"))
    names = [line.split()[0] for line in listing.text.splitlines()[1:] if line.startswith("  ") and line.split()
             and not line.startswith("   ")]
    assert "logs/run.log" in names and len(names) >= 10
    for name in names:
        path = small_run / "data" / name.rstrip("/").replace(" …", "")
        assert path.exists(), f"README lists {name}, which a run does not write"
