"""Fault injection for resume tests: a pass-through stage that crashes when told to."""

from __future__ import annotations

import os

from corpuskit.stage import Stage


class CrashAfter(Stage):
    """Pass documents through; when CORPUSKIT_TEST_CRASH is set, die after `after` documents of `source`.

    `hard=True` kills the worker process outright (os._exit), as an out-of-memory kill would.
    """

    name = "crash_after"

    def __init__(self, source: str = "", after: int = 1, hard: bool = False):
        super().__init__()
        self.source, self.after, self.hard = source, after, hard

    def run(self, docs):
        seen = 0
        for doc in docs:
            if os.environ.get("CORPUSKIT_TEST_CRASH") and doc.source.startswith(self.source):
                seen += 1
                if seen > self.after:
                    if self.hard:
                        os._exit(17)
                    raise RuntimeError("injected crash")
            yield doc
