"""Run units of work in this process (1 worker) or in a pool of spawned worker processes."""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterator


class LocalExecutor:
    """N worker processes on this machine; one worker runs inline, which is easiest to debug."""

    def __init__(self, workers: int = 1):
        self.workers = max(1, int(workers))

    def map(self, fn: Callable[[Any], Any], tasks: list[Any]) -> Iterator[Any]:
        if self.workers == 1 or len(tasks) <= 1:
            for task in tasks:
                yield fn(task)
            return
        # spawn, not fork: workers may use threaded libraries (tokenizers, pyarrow)
        # that are not fork-safe.
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(self.workers, len(tasks)), mp_context=ctx) as pool:
            pending = {pool.submit(fn, t) for t in tasks}
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                    for fut in done:
                        yield fut.result()  # re-raises a worker's exception here
            finally:
                for fut in pending:
                    fut.cancel()


def get_executor(name: str = "local", workers: int = 1):
    """The executor named in a pipeline or on the command line."""
    if name == "local":
        return LocalExecutor(workers)
    if name == "ray":
        from corpuskit.execute.ray import RayExecutor  # optional dependency

        return RayExecutor(workers)
    raise ValueError(f"unknown executor {name!r} (expected local or ray)")
