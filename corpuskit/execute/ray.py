"""Run units of work as Ray tasks: on a local Ray instance, or on a cluster that is running.

The tasks are the same `UnitTask` objects the local executor runs, so the output is
byte-identical. Ray is optional (`pip install corpuskit[ray]`) and imported lazily.

- Joining a cluster: `address` (the CLI's `--address`, or RAY_ADDRESS) names it; otherwise
  a local instance is started with `workers` CPUs and shut down afterwards.
- Code on the workers: when joining a cluster, the `corpuskit` package of this driver is
  shipped in the job's runtime_env (`py_modules`), so worker nodes need only Ray and the
  dependencies, and run the driver's exact code; `runtime_env` adds to or replaces that.
- Retries: a unit whose worker dies (killed, out of memory, node lost) is retried up to
  `max_retries` times; units are idempotent (temporary names, rename, marker last), so a
  retried unit writes the same bytes. An exception raised by the unit's own code is not
  retried: it would happen again.
- Failures name the unit, its input and the node, with the worker's error; worker output
  (warnings, tracebacks) is forwarded to the driver's stderr, prefixed by Ray with the
  worker's pid and node.

Every node must see the run folder and the inputs at the same paths (a shared file
system, or remote inputs): the runner hands tasks absolute paths.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable, Iterator

from corpuskit.errors import CorpuskitError


class UnitFailed(CorpuskitError, RuntimeError):
    """A unit of work failed on a Ray worker (after its retries, if its worker died)."""


class RayExecutor:
    def __init__(self, workers: int = 1, address: str | None = None, runtime_env: dict | None = None,
                 max_retries: int = 3):
        self.workers = max(1, int(workers))
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.runtime_env = runtime_env
        self.max_retries = max_retries
        self._started_here = False

    def __enter__(self) -> "RayExecutor":
        try:
            import ray
        except ImportError as err:
            raise RuntimeError("the ray executor needs Ray: pip install 'corpuskit[ray]'") from err
        if not ray.is_initialized():
            self._started_here = True
            if self.address:
                ray.init(address=self.address, runtime_env=self._runtime_env(), log_to_driver=True,
                         configure_logging=False)
            else:
                ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=True,
                         configure_logging=False, runtime_env=self.runtime_env)
        return self

    def _runtime_env(self) -> dict:
        import corpuskit

        env = {"py_modules": [str(Path(corpuskit.__file__).parent)]}
        return {**env, **(self.runtime_env or {})}

    def __exit__(self, *exc) -> None:
        if self._started_here:
            import ray

            ray.shutdown()
            self._started_here = False

    def map(self, fn: Callable[[Any], Any], tasks: list[Any]) -> Iterator[Any]:
        import ray

        remote = ray.remote(num_cpus=1, max_retries=self.max_retries, retry_exceptions=False)(fn)
        pending = {remote.remote(t): t for t in tasks}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    task = pending.pop(ref)
                    try:
                        yield ray.get(ref)
                    except ray.exceptions.RayError as err:
                        raise UnitFailed(_describe(task, err, self.max_retries)) from None
        finally:
            for ref in pending:  # a failure or Ctrl-C: stop the rest rather than leave them running
                ray.cancel(ref, force=True)


def _describe(task, err, retries: int) -> str:
    """One paragraph naming the unit, its input, the pass, the node and what went wrong."""
    import ray

    src = getattr(task, "source", None)
    unit = f"unit {src.name} ({src.rel})" if src is not None else "a unit"
    if hasattr(task, "pass_index"):
        unit += f", pass {task.pass_index + 1}"
    if isinstance(err, ray.exceptions.RayTaskError):
        cause = err.cause if getattr(err, "cause", None) is not None else err
        # The error's first line is "ray::run_unit() (pid=123, ip=10.0.0.5)": where it ran.
        where = re.search(r"\(pid=(\d+), ip=([^)\s]+)\)", str(err))
        node = f" on node {where.group(2)} (worker pid {where.group(1)})" if where else ""
        return f"{unit}, failed{node}: {type(cause).__name__}: {cause}"
    first = (str(err).strip().splitlines() or [""])[0]
    return (f"{unit}: its worker died {retries + 1} times ({type(err).__name__}: {first}); "
            "the worker logs are under /tmp/ray/session_latest/logs on its node")
