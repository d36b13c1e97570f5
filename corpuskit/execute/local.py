"""Run units of work in this process (1 worker) or in a pool of worker processes."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import sys
import threading
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterator


class LocalExecutor:
    """N worker processes on this machine; one worker runs inline, which is easiest to debug.

    Use it as a context manager to keep one pool of workers across several `map` calls
    (the runner's segments): a spawned worker imports the stages again (~0.5 s), which would
    otherwise be paid again for every segment. Where it is safe the pool is forked instead
    (see `start_method`).
    """

    def __init__(self, workers: int = 1):
        self.workers = max(1, int(workers))
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "LocalExecutor":
        if self.workers > 1 and start_method() == "fork":
            # Fork the workers now, before this process reads any documents or starts threads of its
            # own; they stay for every pass of the run. A pool made later (after a failure) spawns.
            self._pool = self._new_pool("fork")
            try:
                with _sigint_ignored():  # a Ctrl-C in these milliseconds is lost, never half-handled
                    self._pool.submit(os.getpid)  # a fork pool starts all its workers at the first submit
            except BaseException:
                self._terminate()
                raise
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _new_pool(self, method: str) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context(method),
                                   initializer=_init_worker, initargs=(os.getpid(), self.workers))

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = self._new_pool("spawn")
        return self._pool

    def map(self, fn: Callable[[Any], Any], tasks: list[Any]) -> Iterator[Any]:
        if self.workers == 1 or (len(tasks) <= 1 and self._pool is None):
            for task in tasks:
                yield fn(task)
            return
        pool = self._get_pool()
        # Workers start during submit. A Ctrl-C reaching one before its initializer ignores
        # SIGINT would print its traceback, so SIGINT is blocked meanwhile: the children
        # inherit the mask (and then ignore the signal), and this process gets it right after.
        # (The kernel may still hand it to another thread, which raises it here mid-submit; a
        # worker started but not yet recorded then dies with this process: _init_worker.)
        pending: set = set()
        try:
            with _sigint_blocked():
                pending = {pool.submit(fn, t) for t in tasks}
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for fut in done:
                    yield fut.result()  # re-raises a worker's exception here
        except KeyboardInterrupt:
            # Ctrl-C reaches the whole process group; workers ignore it and this process stops
            # them, so the user gets one message instead of a traceback from every worker.
            # Their half-written files are temporaries, removed by the runner.
            self._terminate()
            raise
        except BaseException:
            for fut in pending:
                fut.cancel()
            # A failed or killed worker can leave the pool broken: start a fresh one next time.
            self.__exit__()
            raise

    def _terminate(self) -> None:
        if self._pool is None:
            return
        for proc in list(getattr(self._pool, "_processes", {}).values()):  # no public API for this
            proc.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None


def start_method() -> str:
    """How a run's workers start: "fork" where the platform has it and this process runs no
    Python thread besides the main one, else "spawn"; CORPUSKIT_START_METHOD=fork|spawn decides.

    A forked worker is ready in ~10 ms with every module imported; a spawned one imports
    corpuskit, numpy and pyarrow again (~0.5 s a worker, most of a small run: the 12 MB dedup
    bench took 1.0-1.2 s forked against 1.4-1.7 s spawned). Forking a process is unsafe where
    another thread may hold a lock. The pool is forked when the run starts, before this process
    has read any documents; the only other threads then are the idle pools of numpy's OpenBLAS,
    jemalloc and pyarrow, which register at-fork handlers (datasets' `map(num_proc=...)` and
    torch's DataLoader fork in the same state). A Python thread (a server, a progress thread, a
    test's fixtures) could hold any lock, so then workers are spawned.
    """
    forced = os.environ.get("CORPUSKIT_START_METHOD", "")
    if forced in ("fork", "spawn"):
        return forced
    if "fork" not in mp.get_all_start_methods() or threading.active_count() > 1:
        return "spawn"
    return "fork"


@contextlib.contextmanager
def _sigint_blocked():
    """SIGINT blocked meanwhile: workers started now inherit the mask (their initializer then
    ignores the signal), and a Ctrl-C that arrived is raised here as the mask is restored."""
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


@contextlib.contextmanager
def _sigint_ignored():
    """SIGINT ignored process-wide while the pool forks. Blocking it in this thread is not enough
    here: the kernel then hands it to another thread (numpy's OpenBLAS pool), whose C-level
    Python handler can run in the middle of a fork; ignored, it is discarded on arrival. The
    forked workers start with it ignored, too."""
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _init_worker(parent: int, workers: int = 1) -> None:
    """Ignore Ctrl-C (the parent stops the workers), and die with the parent: a Ctrl-C can reach
    the parent while it is starting workers, before it has recorded them all, and a worker it
    does not know of would otherwise wait for tasks forever (Linux: PR_SET_PDEATHSIG).

    Each worker gets its share of the cores for OpenMP/BLAS threads (unless the user set them):
    torch would otherwise start one thread per core in every worker, and the cascade scorer ran
    10x slower with 2 workers x 2 threads on 2 cores (0.10 against 1.07 MB/s, docs/TOXICITY.md)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threads = max(1, _cores() // workers)
    user_set = "OMP_NUM_THREADS" in os.environ
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))
    if "torch" in sys.modules and not user_set:  # forked from a parent that imported torch: the variable came too late
        sys.modules["torch"].set_num_threads(threads)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def get_executor(name: str = "local", workers: int = 1, address: str | None = None):
    """The executor named in a pipeline or on the command line (a context manager);
    `address`: the Ray cluster to join."""
    if name == "local":
        return LocalExecutor(workers)
    if name == "ray":
        from corpuskit.execute.ray import RayExecutor  # optional dependency

        return RayExecutor(workers, address=address)
    raise ValueError(f"unknown executor {name!r} (expected local or ray)")
