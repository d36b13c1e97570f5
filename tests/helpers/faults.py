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


class DieOnce(Stage):
    """Pass documents through; the first worker past `after` documents of `source` creates
    `marker` and dies on the spot (os._exit), as a killed worker would. Later attempts pass."""

    name = "die_once"

    def __init__(self, marker: str = "", source: str = "", after: int = 1):
        super().__init__()
        self.marker, self.source, self.after = marker, source, after

    def run(self, docs):
        seen = 0
        for doc in docs:
            if doc.source.startswith(self.source):
                seen += 1
                if seen > self.after and self.marker and not os.path.exists(self.marker):
                    try:
                        open(self.marker, "x").close()  # exclusive: one worker dies, not two
                    except FileExistsError:
                        pass
                    else:
                        os._exit(17)
            yield doc


class RecordNode(Stage):
    """Pass documents through; write the id of the Ray node this unit runs on into `folder`."""

    name = "record_node"

    def __init__(self, folder: str = ""):
        super().__init__()
        self.folder = folder

    def run(self, docs):
        import ray

        if ray.is_initialized():  # in a Ray worker; a local worker records nothing
            node = ray.get_runtime_context().get_node_id()
            with open(os.path.join(self.folder, f"{node}-{os.getpid()}"), "w"):
                pass
        yield from docs


class Fail(Stage):
    """Raise on the first document of `source`: a bug in a stage, which no retry can cure."""

    name = "fail"

    def __init__(self, source: str = ""):
        super().__init__()
        self.source = source

    def run(self, docs):
        for doc in docs:
            if doc.source.startswith(self.source):
                raise ValueError(f"injected failure at {doc.id}")
            yield doc
