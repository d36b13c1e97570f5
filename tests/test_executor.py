"""The local executor: how its workers start, and that they never outlive the run."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from corpuskit.execute.local import LocalExecutor, start_method
from corpuskit.pipeline import parse_pipeline
from corpuskit.runner import run_pipeline
from helpers import REPO


def _pids(n):
    time.sleep(0.05)  # long enough that every worker takes a task
    return os.getpid()


def test_workers_fork_only_without_python_threads(monkeypatch):
    monkeypatch.delenv("CORPUSKIT_START_METHOD", raising=False)
    assert start_method() == ("fork" if threading.active_count() == 1 else "spawn")
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert start_method() == "spawn"  # a thread could hold a lock the forked child needs
    finally:
        stop.set()
        t.join()
    monkeypatch.setenv("CORPUSKIT_START_METHOD", "spawn")
    assert start_method() == "spawn"


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_pool_runs_on_other_processes(monkeypatch, method):
    monkeypatch.setenv("CORPUSKIT_START_METHOD", method)
    with LocalExecutor(2) as ex:
        pids = set(ex.map(_pids, list(range(6))))
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def _threads(n):
    import torch

    time.sleep(0.05)
    return os.environ.get("OMP_NUM_THREADS"), torch.get_num_threads()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_workers_share_the_cores_for_threads(monkeypatch, method):
    """2 workers on C cores get C // 2 OpenMP threads each (not C each), unless the user chose."""
    from corpuskit.execute.local import _cores

    monkeypatch.setenv("CORPUSKIT_START_METHOD", method)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    share = max(1, _cores() // 2)
    with LocalExecutor(2) as ex:
        assert set(ex.map(_threads, list(range(4)))) == {(str(share), share)}
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    with LocalExecutor(2) as ex:
        assert {env for env, _ in ex.map(_threads, list(range(4)))} == {"3"}


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_workers_die_with_their_parent(tmp_path, method):
    """A parent killed outright (or interrupted while it starts workers, before it has recorded
    them) must not leave workers waiting for tasks forever."""
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from corpuskit.execute.local import LocalExecutor
        with LocalExecutor(2) as ex:
            list(ex.map(abs, [-1, -2, -3]))  # the pool is running
            print(" ".join(map(str, ex._pool._processes)), flush=True)
            time.sleep(60)
    """)
    env = {**os.environ, "CORPUSKIT_START_METHOD": method}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    try:
        workers = [int(p) for p in proc.stdout.readline().split()]
        assert len(workers) == 2
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(p) for p in workers)
    finally:
        proc.kill()


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_forked_and_spawned_runs_write_the_same_bytes(tmp_path, monkeypatch):
    stages = [{"normalize": {}}, {"exact_dedup": {}}, {"minhash_dedup": {}}]
    outputs = {}
    for method in ("fork", "spawn"):
        monkeypatch.setenv("CORPUSKIT_START_METHOD", method)
        out = tmp_path / method
        cfg = parse_pipeline({"input": str(REPO / "corpus"), "output": str(out), "stages": stages,
                              "reader": {"glob": "pg1[12]*.txt.gz"}})
        run_pipeline(cfg, workers=2, quiet=True)
        outputs[method] = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.glob("part-*"))}
    assert outputs["fork"] == outputs["spawn"] and len(outputs["fork"]) == 3


def test_sigint_during_worker_start_leaves_no_worker(tmp_path):
    """Ctrl-C can land while the pool is forking; whatever the parent had recorded or not, no
    worker stays behind holding the terminal's pipes."""
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(REPO)!r})
        from corpuskit.execute.local import LocalExecutor
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.kill(os.getpid(), signal.SIGINT) if len(sys.argv) > 1 else None
        with LocalExecutor(2) as ex:
            list(ex.map(abs, [-1, -2, -3]))
    """)
    for delay in (0.0, 0.001, 0.003, 0.01, 0.03):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True, env={**os.environ, "CORPUSKIT_START_METHOD": "fork"})
        time.sleep(0.25 + delay)  # interpreter start-up, then somewhere around the fork
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=30)  # returns only once every holder of the pipes has exited
