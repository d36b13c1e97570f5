"""Run units of work in this process (1 worker) or in a pool of spawned worker processes."""

from __future__ import annotations

import multiprocessing as mp
import signal
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterator


class LocalExecutor:
    """N worker processes on this machine; one worker runs inline, which is easiest to debug.

    Use it as a context manager to keep one pool of workers across several `map` calls
    (the runner's segments): starting a Python worker and importing the stages costs
    about a second, which would otherwise be paid again for every segment.
    """

    def __init__(self, workers: int = 1):
        self.workers = max(1, int(workers))
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: workers may use threaded libraries (tokenizers, pyarrow)
            # that are not fork-safe.
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"),
                                             initializer=_ignore_sigint)
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
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        pending: set = set()
        try:
            try:
                pending = {pool.submit(fn, t) for t in tasks}
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)  # a Ctrl-C meanwhile is raised here
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


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def get_executor(name: str = "local", workers: int = 1, address: str | None = None):
    """The executor named in a pipeline or on the command line (a context manager);
    `address`: the Ray cluster to join."""
    if name == "local":
        return LocalExecutor(workers)
    if name == "ray":
        from corpuskit.execute.ray import RayExecutor  # optional dependency

        return RayExecutor(workers, address=address)
    raise ValueError(f"unknown executor {name!r} (expected local or ray)")
