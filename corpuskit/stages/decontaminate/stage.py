"""Benchmark decontamination: find evaluation items inside training documents, then drop the
document, cut the item out of it, or only report it.

A streaming stage with a working folder (`Stage.uses_workdir`): each document's decision
depends only on the document and the eval index, so it takes one pass, with no copy of the
documents in between as a global stage would need.

`prepare` (once per run): build the eval index in the stage's working folder (`index.py`).
`setup` (per unit): memory-map it. `run`: search each document; `drop` sends a contaminated
    document to rejected/ with reason `contaminated` (detail: benchmark, item, characters,
    the matched text); `cut` removes each matched span plus `margin` characters (to word
    boundaries) and keeps the rest, unless fewer than `min_chars` are left (then it is
    dropped as `contaminated`); `report_only` changes nothing.
`finish` (per unit): write what the unit found to found-NNNNN.jsonl in the working folder.
`report` (once, after the pass): merge the findings into the report the runner writes to
    OUTPUT/reports/decontaminate.json: per benchmark, items found and documents; per item,
    where (document id and characters); and the eval files' sha256.

The findings depend only on a unit's documents, so outputs are the same whatever the
number of workers or the executor.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Iterable, Iterator, Literal

from corpuskit.document import Document
from corpuskit.io import atomic_write_text
from corpuskit.schema import NonEmpty, NonEmptyStr, Range
from corpuskit.stage import Stage, StageContext
from corpuskit.stages.decontaminate.evalsets import read_eval_sets

MAX_NGRAM = 64  # text.py's table of n-gram multipliers has this many; numpy is imported on first use, not here
_EXAMPLES = 20  # places listed per item in the report; the count is always whole
_QUOTE = 200  # characters of matched text in a rejected document's detail
_BATCH = 256  # documents hashed and looked up together before any is searched alone


class Decontaminate(Stage):
    name = "decontaminate"
    uses_workdir = True

    def __init__(
        self,
        eval: Annotated[list[NonEmptyStr], NonEmpty()],  # eval files or folders, PATH or NAME=PATH
        fields: list[str] | None = None,  # the row keys that hold an item's text; None: every string
        action: Literal["drop", "cut"] = "drop",  # drop the document, or cut the item out of it
        report_only: bool = False,  # find and count only; no document changes
        ngram: Annotated[int, Range(1, MAX_NGRAM)] = 13,  # this many item words in a row is a match (GPT-3)
        probe: Annotated[int, Range(1, MAX_NGRAM)] = 5,  # words per indexed n-gram
        min_coverage: Annotated[float, Range(0, 1, low_open=True)] = 0.6,  # or this share of the pieces touched
        min_words: Annotated[int, Range(1)] = 8,  # and at least this many words (all, if the pieces are shorter)
        max_items: Annotated[int, Range(1)] = 10,  # an n-gram in more eval items than this is no evidence
        margin: Annotated[int, Range(0)] = 200,  # cut: characters removed on each side of a match
        min_chars: Annotated[int, Range(0)] = 200,  # cut: a document left shorter is dropped
    ):
        super().__init__()
        if probe > ngram:
            raise ValueError(f"probe ({probe}) must be at most ngram ({ngram})")
        if not eval:
            raise ValueError("eval names no eval set")
        self.entries, self.fields = list(eval), list(fields) if fields else None
        self.action, self.report_only = action, report_only
        self.ngram, self.probe, self.min_coverage, self.max_items = ngram, probe, min_coverage, max_items
        self.min_words = min_words
        self.margin, self.min_chars = margin, min_chars
        self.sets = read_eval_sets(self.entries, self.fields)  # now: a bad eval file fails at load, before any work
        self._idx, self._found = None, []  # set by `setup`: the unit's index, and its findings so far

    # -- the index --------------------------------------------------------------------
    def index_key(self) -> str:
        """The eval files' contents and the settings the index depends on."""
        record = {"sets": [s.record() for s in self.sets], "fields": self.fields, "probe": self.probe,
                  "max_items": self.max_items, "version": 4}
        return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()

    def content_key(self) -> str:
        return self.index_key()  # the eval files' sha256 and the settings: a changed file redoes the stage

    def eval_index(self, workdir: Path):
        from corpuskit.stages.decontaminate.index import Index, build, build_once

        folder = workdir / f"index-{self.index_key()[:16]}"
        meta = {"benchmarks": [s.name for s in self.sets], "probe": self.probe, "max_items": self.max_items}
        build_once(folder, lambda: (build(self.sets, self.probe, self.max_items), meta))
        return Index.load(folder, self.probe, self.ngram, self.min_coverage, self.min_words)

    def find(self, text: str, idx) -> list[dict]:
        """The eval items `text` holds: benchmark, item, characters [start, end), coverage."""
        from corpuskit.stages.decontaminate.text import word_hashes

        hashes = word_hashes(text)
        return self._places(text, idx.search(hashes), len(hashes), idx)

    def _places(self, text: str, hits: list, n_words: int, idx) -> list[dict]:
        """The hits (in words) of `text`, which has `n_words` words, as `find` gives them (in characters)."""
        from corpuskit.stages.decontaminate.text import word_bounds

        if not hits:
            return []
        bounds = word_bounds(text)
        bounds = bounds if bounds is not None and len(bounds[0]) == n_words else None
        out = []
        for h in hits:
            start, end = (int(bounds[0][h.start]), int(bounds[1][h.end - 1])) if bounds else (0, len(text))
            out.append({"benchmark": idx.benchmarks[h.bench], "item": h.item, "start": start, "end": end,
                        "coverage": h.coverage})
        return out

    # -- the runner's hooks and the documents ----------------------------------------------
    def prepare(self, ctx: StageContext) -> None:
        self.eval_index(ctx.workdir)

    def setup(self, ctx: StageContext) -> None:
        self._idx, self._found = self.eval_index(ctx.workdir), []

    def finish(self, ctx: StageContext) -> list[Path]:
        path = ctx.workdir / f"found-{ctx.unit:05d}.jsonl"
        atomic_write_text(path, "".join(self._found))
        return [path]

    def run(self, docs: Iterable[Document]) -> Iterator[Document]:
        if self._idx is None:
            raise TypeError(f"{self.name} searches an index in its working folder: call setup(ctx) first "
                            "(the runner does)")
        batch: list[tuple[int, Document]] = []
        for pos, doc in enumerate(docs):
            batch.append((pos, doc))
            if len(batch) == _BATCH:
                yield from self._run_batch(batch)
                batch = []
        yield from self._run_batch(batch)

    def _run_batch(self, batch: list[tuple[int, Document]]) -> Iterator[Document]:
        try:  # the batch hashed and looked up at once (most documents hold no item)
            hits, n_words = self._idx.search_many([doc.text for _, doc in batch])
        except Exception:  # a bad record: each document is searched alone below, the bad one dropped
            hits = n_words = None
        for i, (pos, doc) in enumerate(batch):
            try:
                found = (self.find(doc.text, self._idx) if hits is None
                         else self._places(doc.text, hits[i], n_words[i], self._idx))
            except Exception as err:  # one bad record: dropped as stage_error, the run goes on
                self.failed(doc, err)
                continue
            if not found:
                yield doc
                continue
            self._found.append(json.dumps({"pos": pos, "id": doc.id, "found": found}, ensure_ascii=False) + "\n")
            self.stats.inc("contaminated_found")
            if self.report_only:
                yield doc
                continue
            first = found[0]
            detail = (f"{first['benchmark']} item {first['item']}, characters {first['start']}-{first['end']}: "
                      f"{doc.text[first['start']:first['end']][:_QUOTE]!r}")
            if len(found) > 1:
                detail += f" (and {len(found) - 1} more)"
            if self.action == "drop":
                self.drop(doc, "contaminated", detail=detail)
                continue
            kept = cut_spans(doc.text, [(f["start"], f["end"]) for f in found], self.margin)
            if len(kept.strip()) < self.min_chars:
                self.drop(doc, "contaminated", detail=f"{detail}; {len(kept.strip())} characters left after the cut")
                continue
            self.stats.inc("cut")
            doc.text = kept
            yield doc

    def report(self, ctx: StageContext) -> dict:
        # items with no word outside what every item shares (a prompt template) or under `probe` words
        unfindable = self.eval_index(ctx.workdir).meta["unfindable"]
        per_item: dict[tuple[str, int], dict] = {}
        docs_per_bench: dict[str, int] = {}
        contaminated = 0
        for unit in range(ctx.n_units):
            for rec in _read_found(ctx.workdir, unit):
                contaminated += 1
                for name in sorted({f["benchmark"] for f in rec["found"]}):
                    docs_per_bench[name] = docs_per_bench.get(name, 0) + 1
                seen = set()
                for f in rec["found"]:
                    entry = per_item.setdefault((f["benchmark"], f["item"]), {"documents": 0, "where": []})
                    entry["documents"] += (f["benchmark"], f["item"]) not in seen
                    seen.add((f["benchmark"], f["item"]))
                    if len(entry["where"]) < _EXAMPLES:
                        entry["where"].append({"id": rec["id"], "start": f["start"], "end": f["end"],
                                               "coverage": f["coverage"]})
        benchmarks = {}
        for s in self.sets:
            found = {item: e for (name, item), e in sorted(per_item.items()) if name == s.name}
            benchmarks[s.name] = {"items": len(s.items), "items_found": len(found),
                                  "items_unfindable": unfindable.get(s.name, 0),
                                  "documents": docs_per_bench.get(s.name, 0), "files": s.record()["files"],
                                  "found": {str(k): v for k, v in found.items()}}
        return {"action": "report_only" if self.report_only else self.action, "ngram": self.ngram,
                "probe": self.probe, "min_coverage": self.min_coverage, "min_words": self.min_words,
                "max_items": self.max_items,
                "documents_contaminated": contaminated, "benchmarks": benchmarks}


def cut_spans(text: str, spans: list[tuple[int, int]], margin: int) -> str:
    """`text` without each span widened by `margin` characters and then to whole words; the parts
    left are joined by a blank line where a cut fell inside the text."""
    parts, last = [], 0
    for a, b in widen(text, spans, margin):
        parts.append(text[last:a])
        last = b
    parts.append(text[last:])
    return "\n\n".join(p.strip() for p in parts if p.strip())


def widen(text: str, spans: list[tuple[int, int]], margin: int) -> list[tuple[int, int]]:
    """The character ranges `cut_spans` removes: sorted, merged, widened by `margin` and to whole words."""
    widened: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        a, b = max(start - margin, 0), min(end + margin, len(text))
        while a > 0 and not text[a - 1].isspace():  # not half a word at either edge
            a -= 1
        while b < len(text) and not text[b].isspace():
            b += 1
        if widened and a <= widened[-1][1]:
            widened[-1] = (widened[-1][0], max(b, widened[-1][1]))
        else:
            widened.append((a, b))
    return widened


def _read_found(workdir: Path, unit: int) -> list[dict]:
    with open(workdir / f"found-{unit:05d}.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]
