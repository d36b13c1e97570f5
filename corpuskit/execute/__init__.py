"""Executors run units of work: in this process, in local worker processes, or on Ray.

An executor only needs `map(fn, tasks)`, yielding each task's result as it completes.
Tasks are plain picklable dataclasses and `fn` a module-level function, so any
engine can run the same units unchanged.
"""

from corpuskit.execute.local import LocalExecutor, get_executor

__all__ = ["LocalExecutor", "get_executor"]
