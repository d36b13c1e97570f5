"""The kill harness: SIGKILL a real `corpuskit run` of the default pipeline at many moments,
rerun each time, and require the final outputs to be byte-identical to an uninterrupted run.

The run is a subprocess in its own process group (its spawned workers included), killed at
moments spread evenly over the length of an uninterrupted run, so every stage and phase is
hit: reading, the streaming stages, the exact and MinHash index, each reduce, apply,
tokenizer training, sharding and the final stats. Ctrl-C (SIGINT) must end with a one-line
message, leave no temporaries, and resume.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from corpuskit.layout import LOCK, is_temporary
from helpers import REPO

KILLS = 22


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A small corpus (the starts of six embedded books, two of them twice: duplicates to find)
    and the default pipeline with a tokenizer sized for it."""
    root = tmp_path_factory.mktemp("kill")
    inp = root / "in"
    inp.mkdir()
    books = sorted((REPO / "corpus").glob("pg*.txt.gz"))[:6]
    for book in books:
        head = gzip.decompress(book.read_bytes())[:60_000]
        (inp / book.name.replace(".gz", "")).write_bytes(head)
    (inp / "zz-copy.txt").write_bytes((inp / books[0].name.replace(".gz", "")).read_bytes())
    pipeline = yaml.safe_load((REPO / "pipelines" / "default.yaml").read_text())
    pipeline.update(input=str(inp), tokenizer={"vocab_size": 600}, reader={**pipeline["reader"], "glob": "*.txt"})
    pipeline["shards"]["shard_tokens"] = 20_000
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(pipeline))
    return root, path


def _command(pipeline: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "corpuskit", "run", str(pipeline), "--output", str(out), "--workers", "2", "--quiet"]


def _default_sigint() -> None:
    # A shell without job control starts background commands with SIGINT ignored, and an
    # ignored signal stays ignored across exec: give the run Ctrl-C back, as a terminal would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(pipeline: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(_command(pipeline, out), start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)


def _snapshot(out: Path) -> dict:
    """Every output a user or trainer reads, as bytes (stats without their timings)."""
    files = {}
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out).as_posix()
        if p.is_file() and not rel.startswith(("_work/", "logs/")) and rel not in ("stats.json", "config.json"):
            files[rel] = p.read_bytes()
    config = json.loads((out / "config.json").read_text())
    config["config"].pop("output")  # where the run went is the one thing allowed to differ
    files["config.json"] = json.dumps(config, sort_keys=True).encode()
    stats = json.loads((out / "stats.json").read_text())
    for s in stats["stages"].values():
        s.pop("time_s", None)
    files["stats.json"] = json.dumps(stats, sort_keys=True).encode()
    return files


def _ids(out: Path) -> list[str]:
    ids = []
    for p in sorted(out.glob("part-*.parquet")) + sorted((out / "rejected").glob("*.parquet")):
        ids += pq.read_table(p, columns=["id"])["id"].to_pylist()
    return ids


def _temporaries(out: Path) -> list[Path]:
    return [p for p in out.rglob(".*") if is_temporary(p.name)]


def test_killed_at_any_moment_the_rerun_gives_the_same_bytes(setup):
    root, pipeline = setup
    ref = root / "ref"
    t0 = time.monotonic()
    done = subprocess.run(_command(pipeline, ref), capture_output=True, text=True)
    duration = time.monotonic() - t0
    assert done.returncode == 0, done.stderr
    expected, expected_ids = _snapshot(ref), _ids(ref)
    assert len(expected_ids) == len(set(expected_ids)) > 50
    assert any(k.startswith("shards/train/") for k in expected) and "reports/minhash_dedup.json" in expected

    out, kills, completed = root / "out", 0, 0
    for k in range(KILLS):
        delay = duration * (k + 0.5) / KILLS
        proc = _start(pipeline, out)
        time.sleep(delay)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        _, err = proc.communicate()
        if proc.returncode == 0:  # the resumed run finished before the kill: check it, start again
            assert _snapshot(out) == expected
            completed += 1
            subprocess.run(["rm", "-rf", str(out)], check=True)
        else:
            assert proc.returncode == -signal.SIGKILL, err
    final = subprocess.run(_command(pipeline, out), capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert _snapshot(out) == expected
    assert sorted(_ids(out)) == sorted(expected_ids)  # no document lost or duplicated
    assert _temporaries(out) == []
    assert kills >= KILLS * 2 // 3, (kills, completed)


def test_ctrl_c_stops_cleanly_and_resumes(setup):
    root, pipeline = setup
    ref = root / "ref-sigint"
    t0 = time.monotonic()
    assert subprocess.run(_command(pipeline, ref), capture_output=True).returncode == 0
    length = time.monotonic() - t0  # the interrupts land at fractions of an uninterrupted run
    interrupted = 0
    for k, fraction in enumerate((0.0, 0.15, 0.3, 0.45, 0.6)):
        out = root / f"interrupted-{k}"
        proc = _start(pipeline, out)
        # Ctrl-C once the run holds its folder: before that the interpreter is still importing,
        # where Python's own KeyboardInterrupt is all there is.
        deadline = time.monotonic() + 60
        while not (out / LOCK).exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(fraction * length)
        os.killpg(proc.pid, signal.SIGINT)
        stdout, err = proc.communicate(timeout=60)
        if proc.returncode == -signal.SIGINT and not err:
            # Landed after the run had finished, while Python was exiting (its handlers are gone
            # by then): the run must be complete.
            assert _snapshot(out) == _snapshot(ref)
        elif proc.returncode != 0:
            interrupted += 1
            assert "Traceback" not in err and "interrupted: completed work is kept" in err, (fraction, proc.returncode,
                                                                                           err, stdout)
            # 130, or killed by SIGINT when a second Ctrl-C lands during the shutdown: the shell shows 130 for both
            assert proc.returncode in (130, -signal.SIGINT), err
            assert _temporaries(out) == []
        again = subprocess.run(_command(pipeline, out), capture_output=True, text=True)
        assert again.returncode == 0, again.stderr
        assert _snapshot(out) == _snapshot(ref)
    assert interrupted >= 2


# -- `corpuskit dedup --index`: a new index, an existing one, and --force ----------------------
INDEX_KILLS = 8


@pytest.fixture(scope="module")
def index_corpus(tmp_path_factory):
    """A batch of three files (near copies inside it), and an earlier batch, some of whose
    documents the batch repeats: the documents an existing index holds."""
    from helpers.dedup import edit, prose, write_jsonl

    root = tmp_path_factory.mktemp("kill-index")
    for f in range(3):
        docs = [(f"b{f}-{i}", prose(1000 * f + i)) for i in range(80)]
        docs += [(f"b{f}-near{i}", edit(prose(1000 * f + i), 2, seed=i)) for i in range(0, 80, 8)]
        docs += [(f"b{f}-old{i}", edit(prose(50_000 + i), 2, seed=i)) for i in range(f, 30, 3)]
        write_jsonl(root / "batch" / f"part{f}.jsonl", docs)
    write_jsonl(root / "earlier" / "e.jsonl", [(f"e{i}", prose(50_000 + i)) for i in range(60)])
    return root


def _dedup(inp: Path, out: Path, index: Path, force: bool = False) -> list[str]:
    return [sys.executable, "-m", "corpuskit", "dedup", str(inp), str(out), "--index", str(index),
            "--workers", "2", "-q"] + (["--force"] if force else [])


def _index_state(index: Path) -> dict:
    """The index as a later run reads it: its manifest (but the generation's number, which a
    redone publish advances) and the bytes of its current generation."""
    manifest = json.loads((index / "manifest.json").read_text())
    current = index / manifest.pop("current")
    manifest.pop("generation")
    return {"manifest": manifest, **{p.name: p.read_bytes() for p in sorted(current.iterdir())}}


def _kill_at_publish(cmd: list[str], manifest: Path) -> None:
    """Start `cmd` and SIGKILL it the moment the index manifest changes: between the publish and
    the reduce's completion marker, when the index already holds this run's documents."""
    before = manifest.stat().st_mtime_ns if manifest.exists() else None
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while proc.poll() is None:
        if manifest.exists() and manifest.stat().st_mtime_ns != before:
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.0005)
    proc.communicate()


@pytest.mark.parametrize("case", ["new", "existing", "force"])
def test_dedup_with_an_index_killed_at_any_moment_reruns_to_the_same_bytes(index_corpus, case):
    """Issue 33/2, 3, 26: killed anywhere (right after the index manifest is written too), the
    rerun writes the same bytes as an uninterrupted run, and the index holds each batch once.
    `existing`: the index holds an earlier batch; `force`: the run is redone with --force over
    its own finished run, whose documents the index already holds."""
    root = index_corpus
    work = root / case
    out, index = work / "out", work / "ix"
    force = case == "force"

    def prepare() -> None:
        subprocess.run(["rm", "-rf", str(work)], check=True)
        if case == "existing":
            assert subprocess.run(_dedup(root / "earlier", work / "earlier-out", index)).returncode == 0
        if force:
            assert subprocess.run(_dedup(root / "batch", out, index)).returncode == 0

    prepare()
    first = _snapshot(out) if force else None
    t0 = time.monotonic()
    done = subprocess.run(_dedup(root / "batch", out, index, force), capture_output=True, text=True)
    duration = time.monotonic() - t0
    assert done.returncode == 0, done.stderr
    expected, expected_index = _snapshot(out), _index_state(index)
    assert len(json.loads(expected["reports/minhash_dedup.json"])["examples"]) > 0
    if force:
        assert expected == first  # --force over a finished run: the same output
    n_batches = {"new": 1, "existing": 2, "force": 1}[case]
    assert len(expected_index["manifest"]["batches"]) == n_batches

    prepare()
    _kill_at_publish(_dedup(root / "batch", out, index, force), index / "manifest.json")
    for k in range(INDEX_KILLS):
        proc = _start_command(_dedup(root / "batch", out, index, force))
        time.sleep(duration * (k + 0.5) / INDEX_KILLS)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
        if proc.returncode == 0:  # finished before the kill: check it, start again
            assert _snapshot(out) == expected and _index_state(index) == expected_index
            prepare()
        else:
            assert proc.returncode == -signal.SIGKILL, err
    final = subprocess.run(_dedup(root / "batch", out, index), capture_output=True, text=True)  # resume
    assert final.returncode == 0, final.stderr
    assert _snapshot(out) == expected
    assert _index_state(index) == expected_index
    assert _temporaries(out) == [] and _temporaries(index) == []


def _start_command(cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=_default_sigint)
