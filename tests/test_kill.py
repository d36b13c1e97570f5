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
        if p.is_file() and not rel.startswith("_work/") and rel not in ("stats.json", "config.json"):
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
