"""Run units of work as Ray tasks: on a local Ray instance, or on a cluster when one is running.

The tasks are the same `UnitTask` objects the local executor runs, so the output is
byte-identical. Ray is optional (`pip install corpuskit[ray]`) and imported lazily.
Set RAY_ADDRESS to join an existing cluster; otherwise a local instance is started
with `workers` CPUs and shut down afterwards.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterator


class RayExecutor:
    def __init__(self, workers: int = 1):
        self.workers = max(1, int(workers))
        self._started_here = False

    def __enter__(self) -> "RayExecutor":
        try:
            import ray
        except ImportError as err:
            raise RuntimeError("the ray executor needs Ray: pip install 'corpuskit[ray]'") from err
        if not ray.is_initialized():
            self._started_here = True
            if os.environ.get("RAY_ADDRESS"):
                ray.init(log_to_driver=False)
            else:
                ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
        return self

    def __exit__(self, *exc) -> None:
        if self._started_here:
            import ray

            ray.shutdown()
            self._started_here = False

    def map(self, fn: Callable[[Any], Any], tasks: list[Any]) -> Iterator[Any]:
        import ray

        remote = ray.remote(num_cpus=1, max_retries=0)(fn)
        pending = [remote.remote(t) for t in tasks]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                yield ray.get(ref)  # re-raises a task's exception here
