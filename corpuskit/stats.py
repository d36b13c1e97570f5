"""Per-stage counters, written per unit of work and merged from disk.

Merging from the files on disk (never from memory) keeps totals right after a
relaunch: a unit that completed in an earlier run still contributes its counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

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

    def inc(self, key: str, n: int = 1) -> None:
        self.counters[key] = self.counters.get(key, 0) + n

    def drop(self, reason: str) -> None:
        self.inc(f"dropped_{reason}")

    @property
    def dropped(self) -> int:
        return sum(v for k, v in self.counters.items() if k.startswith("dropped_"))

    def to_dict(self) -> dict:
        return {
            "docs_in": self.docs_in,
            "docs_out": self.docs_out,
            "dropped": self.dropped,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "time_s": round(self.time_s, 4),
            **dict(sorted(self.counters.items())),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "StageStats":
        fixed = {"docs_in", "docs_out", "bytes_in", "bytes_out", "time_s", "dropped"}
        return cls(
            docs_in=d.get("docs_in", 0),
            docs_out=d.get("docs_out", 0),
            bytes_in=d.get("bytes_in", 0),
            bytes_out=d.get("bytes_out", 0),
            time_s=d.get("time_s", 0.0),
            counters={k: v for k, v in d.items() if k not in fixed},
        )

    def merge(self, other: "StageStats") -> None:
        self.docs_in += other.docs_in
        self.docs_out += other.docs_out
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
        self.time_s += other.time_s
        for k, v in other.counters.items():
            self.inc(k, v)


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
