"""Per-stage counters, written per unit of work and merged from disk.

Merging from the files on disk (never from memory) keeps totals right after a
relaunch: a unit that completed in an earlier run still contributes its counts.

Besides the counters, a stage's stats can hold what the HTML report draws, recorded
as the documents stream past (docs/REPORT.md): `Histogram`s with fixed bins, so that
merging is adding counts, and `Reservoir`s of rejected examples that keep the k with
the smallest hash of the document id, so that the merged sample is the same whatever
the number of workers or the order the units ran in.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from corpuskit.document import Document
from corpuskit.io import atomic_write_text


@dataclass
class StageStats:
    docs_in: int = 0
    docs_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    time_s: float = 0.0
    # Drop reasons and other named events (for example `modified`), snake_case.
    counters: dict[str, int] = field(default_factory=dict)
    # For the report: distributions by name (`out:chars`, `dropped:toxicity`) and examples by drop reason.
    hists: dict[str, "Histogram"] = field(default_factory=dict)
    examples: dict[str, "Reservoir"] = field(default_factory=dict)

    def inc(self, key: str, n: int = 1) -> None:
        self.counters[key] = self.counters.get(key, 0) + n

    def drop(self, reason: str) -> None:
        self.inc(f"dropped_{reason}")

    @property
    def dropped(self) -> int:
        return sum(v for k, v in self.counters.items() if k.startswith("dropped_"))

    def observe(self, name: str, value: float | str, kind: str = "log") -> None:
        """Add `value` to the histogram `name` (created with `kind` on first use)."""
        hist = self.hists.get(name)
        if hist is None:
            hist = self.hists[name] = Histogram(kind)
        hist.add(value)

    def to_dict(self, profile: bool = True) -> dict:
        """Counters (and, with `profile`, the histograms and examples under `profile`)."""
        d = {
            "docs_in": self.docs_in,
            "docs_out": self.docs_out,
            "dropped": self.dropped,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "time_s": round(self.time_s, 4),
            **dict(sorted(self.counters.items())),
        }
        if profile and (self.hists or self.examples):
            d["profile"] = self.profile_dict()
        return d

    def profile_dict(self) -> dict:
        return {"hists": {k: h.to_dict() for k, h in sorted(self.hists.items())},
                "examples": {k: r.items for k, r in sorted(self.examples.items())}}

    @classmethod
    def from_dict(cls, d: dict) -> "StageStats":
        fixed = {"docs_in", "docs_out", "bytes_in", "bytes_out", "time_s", "dropped", "profile"}
        profile = d.get("profile") or {}
        return cls(
            docs_in=d.get("docs_in", 0),
            docs_out=d.get("docs_out", 0),
            bytes_in=d.get("bytes_in", 0),
            bytes_out=d.get("bytes_out", 0),
            time_s=d.get("time_s", 0.0),
            counters={k: v for k, v in d.items() if k not in fixed},
            hists={k: Histogram.from_dict(h) for k, h in profile.get("hists", {}).items()},
            examples={k: Reservoir(items=list(v)) for k, v in profile.get("examples", {}).items()},
        )

    def merge(self, other: "StageStats") -> None:
        self.docs_in += other.docs_in
        self.docs_out += other.docs_out
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
        self.time_s += other.time_s
        for k, v in other.counters.items():
            self.inc(k, v)
        for k, h in other.hists.items():
            self.hists.setdefault(k, Histogram(h.kind)).merge(h)
        for k, r in other.examples.items():
            self.examples.setdefault(k, Reservoir()).merge(r)


# Histogram kinds. "log": non-negative sizes (characters, words) in quarter-octave bins,
# so 10 characters and 10 million share one chart; "unit": scores in [0, 1] in 50 equal
# bins; "count": small integers (cluster sizes), one bin each; "cat": labels (languages).
HIST_KINDS = ("log", "unit", "count", "cat")
_UNIT_BINS = 50
_LOG_STEPS = 4  # bins per doubling


@dataclass
class Histogram:
    """Counts in fixed bins (merge = add), with the exact count, sum, min and max."""

    kind: str = "log"
    counts: dict[str, int] = field(default_factory=dict)  # bin key -> count (JSON keys are strings)
    n: int = 0
    total: float = 0.0
    lo: float | None = None
    hi: float | None = None

    def add(self, value: float | str) -> None:
        self.n += 1
        if self.kind == "cat":
            key = str(value)
        else:
            self.total += value
            self.lo = value if self.lo is None or value < self.lo else self.lo
            self.hi = value if self.hi is None or value > self.hi else self.hi
            if self.kind == "log":
                key = str(int(_LOG_STEPS * math.log2(1.0 + value)))
            elif self.kind == "unit":
                key = str(min(max(int(value * _UNIT_BINS), 0), _UNIT_BINS - 1))
            else:
                key = str(int(value))
        self.counts[key] = self.counts.get(key, 0) + 1

    def merge(self, other: "Histogram") -> None:
        self.n += other.n
        self.total += other.total
        for k, v in other.counts.items():
            self.counts[k] = self.counts.get(k, 0) + v
        if other.lo is not None:
            self.lo = other.lo if self.lo is None else min(self.lo, other.lo)
            self.hi = other.hi if self.hi is None else max(self.hi, other.hi)

    def bins(self) -> list[tuple[float | str, float | str, int]]:
        """(low edge, high edge, count) in order; for "cat", (label, label, count), most frequent first."""
        if self.kind == "cat":
            return [(k, k, v) for k, v in sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        out = []
        for key, count in sorted(((int(k), v) for k, v in self.counts.items())):
            if self.kind == "log":
                out.append((2 ** (key / _LOG_STEPS) - 1, 2 ** ((key + 1) / _LOG_STEPS) - 1, count))
            elif self.kind == "unit":
                out.append((key / _UNIT_BINS, (key + 1) / _UNIT_BINS, count))
            else:
                out.append((key, key + 1, count))
        return out

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "n": self.n, "counts": dict(sorted(self.counts.items()))}
        if self.kind != "cat":
            d.update(sum=round(self.total, 6), min=self.lo, max=self.hi)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Histogram":
        return cls(d.get("kind", "log"), dict(d.get("counts", {})), d.get("n", 0), d.get("sum", 0.0),
                   d.get("min"), d.get("max"))


def example_key(doc_id: str) -> str:
    """The reservoir's order: a stable hash of the id (never Python's salted `hash`)."""
    return hashlib.blake2b(doc_id.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


@dataclass
class Reservoir:
    """The `k` examples with the smallest `example_key`, sorted by it: a deterministic sample.

    Whichever units a document was in and however they were merged, the result is the k
    smallest keys of the union, so one worker or many give the same examples.
    """

    k: int = 5
    items: list[dict] = field(default_factory=list)  # each has "key" and "id"

    def wants(self, key: str) -> bool:
        """Whether an example with `key` would be kept (check before building it)."""
        return len(self.items) < self.k or key < self.items[-1]["key"]

    def offer(self, item: dict) -> None:
        if not self.wants(item["key"]):
            return
        bisect.insort(self.items, item, key=_order)
        del self.items[self.k:]

    def merge(self, other: "Reservoir") -> None:
        self.k = max(self.k, other.k)
        seen = {_order(i) for i in self.items}
        for item in other.items:
            if _order(item) not in seen:
                self.offer(item)


def _order(item: dict) -> tuple[str, str, str]:
    return item["key"], item["id"], item.get("text", "")


# What the runner records per document (docs/REPORT.md). Metadata values some stages
# leave on a document: (metadata key, histogram name, kind, how to read the value).
EXAMPLE_CHARS = 600  # characters of a rejected document kept as an example
_METADATA = (
    ("language", "language", "cat", lambda v: v),
    ("language_score", "language_score", "unit", float),
    ("toxicity", "toxicity", "unit", lambda v: float(v["score"])),
)


def observe_doc(stats: StageStats, prefix: str, doc: Document, words: bool = False, metadata: bool = False) -> None:
    """Record a document's length in characters (and words, and metadata values) under `prefix:`."""
    text = doc.text
    stats.observe(prefix + ":chars", len(text))
    if words:
        stats.observe(prefix + ":words", len(text.split()))
    if metadata and doc.metadata:
        for key, name, kind, read in _METADATA:
            value = doc.metadata.get(key)
            if value is not None:
                with contextlib.suppress(TypeError, ValueError, KeyError):
                    stats.observe(prefix + ":" + name, read(value), kind)


def observe_drop(stats: StageStats, doc: Document, reason: str, detail: dict) -> None:
    """Record a dropped document: its length and metadata under `dropped:`, and maybe as an example."""
    observe_doc(stats, "dropped", doc, words=True, metadata=True)
    box = stats.examples.get(reason)
    if box is None:
        box = stats.examples[reason] = Reservoir()
    key = example_key(doc.id)
    if box.wants(key):  # build the example only if it would be kept
        item = {"key": key, "id": doc.id, "source": doc.source, "chars": len(doc.text),
                "text": doc.text[:EXAMPLE_CHARS]}
        item.update({k: str(v) for k, v in sorted(detail.items()) if v is not None})
        box.offer(item)


def write_unit_stats(path: Path, stages: dict[str, StageStats]) -> None:
    """Write one unit's counters, keyed by stage name in pipeline order."""
    atomic_write_text(path, json.dumps({n: s.to_dict() for n, s in stages.items()}, indent=1))


def merge_stats(paths: list[Path], order: list[str]) -> dict[str, StageStats]:
    """Merge unit stats files from disk; stages listed in `order` first, in that order."""
    merged: dict[str, StageStats] = {name: StageStats() for name in order}
    for path in sorted(paths):
        for name, d in json.loads(path.read_text()).items():
            merged.setdefault(name, StageStats()).merge(StageStats.from_dict(d))
    return merged


def format_table(stages: dict[str, StageStats]) -> str:
    """A per-stage summary: documents and MB in/out, drops by reason, seconds."""
    rows = [("stage", "docs in", "docs out", "dropped", "MB in", "MB out", "time s", "drop reasons")]
    for name, s in stages.items():
        reasons = ", ".join(
            f"{k[len('dropped_'):]}={v}" for k, v in sorted(s.counters.items()) if k.startswith("dropped_")
        )
        rows.append((
            name, str(s.docs_in), str(s.docs_out), str(s.dropped),
            f"{s.bytes_in / 1e6:.2f}", f"{s.bytes_out / 1e6:.2f}", f"{s.time_s:.1f}", reasons,
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:-1], widths[1:])]
        lines.append("  ".join(cells + [r[-1]]).rstrip())
    return "\n".join(lines)
