"""The `quality` stage: score every document with a quality model, then keep the best.

It decides over the whole corpus, so it is a global stage (like de-duplication):

1. `index` (each unit): score the unit's documents (`QualityModel`, batched) and write the
   scores, rounded to 4 decimals, and a few example pages per score band to the workdir;
2. `reduce` (once): the cut. `threshold`: documents scoring below it go. `keep_fraction`:
   the top share of the corpus stays, ties broken by input order, so the same documents stay
   for any number of workers and on Ray (units are the input files, not the workers). Writes
   each unit's keep mask and returns the report: a score histogram, examples per band, the cut;
3. `apply` (each unit): every document gets `metadata["quality_score"]` (higher is better);
   the others go to rejected/ with the reason `low_quality` and their score.

`annotate: true` scores and drops nothing.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Iterable, Iterator

import numpy as np

from corpuskit.document import Document
from corpuskit.io import atomic_write_bytes, atomic_write_text
from corpuskit.schema import Fraction
from corpuskit.stage import GlobalStage, StageContext, files_digest, files_stamp

BATCH = 256  # documents scored together
BANDS = 10  # the report's score bands of 0.1, each with a few example pages
EXAMPLES = 3  # example pages per band
SNIPPET = 300  # characters of an example page


@lru_cache(maxsize=4)
def load_quality_model(folder: str, stamp: tuple = ()):
    """The model of `folder` ('' for the shipped one), one copy per process; `stamp` (`files_stamp`
    of the folder) is only part of the key: a model replaced in place is loaded again."""
    from corpuskit.stages.quality.model import DEFAULT_MODEL, QualityModel

    return QualityModel(folder or DEFAULT_MODEL)


class QualityFilter(GlobalStage):
    """Score documents with a quality model (`metadata.quality_score`, higher is better) and keep the best.

    Parameters (the YAML parameters):
      model: a model folder (`corpuskit quality train`); default: the shipped one.
      threshold: drop a document scoring below this; default: the model card's threshold.
      keep_fraction: instead, keep this share of the corpus, the highest scores (DCLM keeps 0.1).
      annotate: score only; drop nothing.
    """

    name = "quality"

    def __init__(self, model: str = "", threshold: Fraction | None = None, keep_fraction: Fraction | None = None,
                 annotate: bool = False):
        super().__init__()
        if threshold is not None and keep_fraction is not None:
            raise ValueError("give threshold or keep_fraction, not both")
        self.model_dir, self.keep_fraction, self.annotate = model, keep_fraction, annotate
        self._threshold = threshold
        self.model  # now: a missing or damaged model folder fails at load, before any work

    def content_key(self) -> str:
        from corpuskit.stages.quality.model import DEFAULT_MODEL

        return files_digest(self.model_dir or DEFAULT_MODEL)  # a model replaced in place redoes the stage

    @property
    def model(self):
        return load_quality_model(self.model_dir, files_stamp(self.model_dir) if self.model_dir else ())

    @property
    def threshold(self) -> float:
        return self.model.threshold if self._threshold is None else self._threshold

    # -- phase 1 ----------------------------------------------------------------------
    def index(self, docs: Iterable[Document], ctx: StageContext) -> None:
        scores: list[float] = []
        examples: dict[int, list[dict]] = {}
        batch: list[Document] = []

        def flush() -> None:
            for doc, s in zip(batch, self.model.score_texts([d.text for d in batch])):
                s = round(float(s), 4)
                scores.append(s)
                band = examples.setdefault(min(int(s * BANDS), BANDS - 1), [])
                if len(band) < EXAMPLES:
                    band.append({"id": doc.id, "score": s, "text": doc.text[:SNIPPET]})
            batch.clear()

        for doc in docs:
            batch.append(doc)
            if len(batch) >= BATCH:
                flush()
        flush()
        atomic_write_text(ctx.workdir / f"examples-{ctx.unit:05d}.json", json.dumps(examples, ensure_ascii=False))
        atomic_write_bytes(ctx.workdir / f"scores-{ctx.unit:05d}.bin", np.array(scores, dtype="<f8").tobytes())

    # -- phase 2 ----------------------------------------------------------------------
    def reduce(self, ctx: StageContext) -> dict:
        per_unit = [np.frombuffer((ctx.workdir / f"scores-{u:05d}.bin").read_bytes(), dtype="<f8")
                    for u in range(ctx.n_units)]
        scores = np.concatenate(per_unit) if per_unit else np.zeros(0)
        keep = self._decide(scores)
        start = 0
        for u, part in enumerate(per_unit):
            atomic_write_bytes(ctx.workdir / f"keep-{u:05d}.bin", np.packbits(keep[start:start + len(part)]).tobytes())
            start += len(part)
        return self._report(ctx, scores, keep)

    def _decide(self, scores: np.ndarray) -> np.ndarray:
        """Which documents stay, in corpus order."""
        if self.annotate:
            return np.ones(len(scores), dtype=bool)
        if self.keep_fraction is None:
            return scores >= self.threshold
        n = int(math.floor(self.keep_fraction * len(scores) + 0.5))
        order = np.lexsort((np.arange(len(scores)), -scores))  # best first; among equals, input order
        keep = np.zeros(len(scores), dtype=bool)
        keep[order[:n]] = True
        return keep

    def _report(self, ctx: StageContext, scores: np.ndarray, keep: np.ndarray) -> dict:
        counts, _ = np.histogram(scores, bins=20, range=(0.0, 1.0))
        bands: dict[str, list] = {}
        for u in range(ctx.n_units):
            found = json.loads((ctx.workdir / f"examples-{u:05d}.json").read_text(encoding="utf-8"))
            for band, pages in sorted(found.items(), key=lambda kv: int(kv[0])):
                key = f"{int(band) / BANDS:.1f}-{(int(band) + 1) / BANDS:.1f}"
                bands.setdefault(key, []).extend(pages[:EXAMPLES - len(bands.get(key, []))])
        card = self.model.card
        report = {"documents": int(len(scores)), "kept": int(keep.sum()), "dropped": int((~keep).sum()),
                  "model": self.model_dir or "shipped", "model_dev": card.get("dev"),
                  "histogram": {"bins": [round(i / 20, 2) for i in range(21)], "counts": counts.tolist()},
                  "examples": dict(sorted(bands.items()))}
        if self.annotate:
            report["rule"] = "annotate: nothing dropped"
        elif self.keep_fraction is not None:
            cut = float(scores[keep].min()) if keep.any() else None
            report["rule"] = f"keep the top {self.keep_fraction:g} of the corpus (lowest score kept: {cut})"
        else:
            report["rule"] = f"drop quality_score < {self.threshold:g}"
        if len(scores):
            report["score_quantiles"] = {f"p{q}": round(float(np.percentile(scores, q)), 4) for q in (10, 50, 90)}
        return report

    # -- phase 3 ----------------------------------------------------------------------
    def apply(self, docs: Iterable[Document], ctx: StageContext) -> Iterator[Document]:
        scores = np.frombuffer((ctx.workdir / f"scores-{ctx.unit:05d}.bin").read_bytes(), dtype="<f8")
        keep = np.unpackbits(np.frombuffer((ctx.workdir / f"keep-{ctx.unit:05d}.bin").read_bytes(), dtype=np.uint8),
                             count=len(scores)).astype(bool)
        rule = (f"not in the top {self.keep_fraction:g} of the corpus" if self.keep_fraction is not None
                else f"below the threshold {self.threshold:g}")
        for pos, doc in enumerate(docs):
            score = float(scores[pos])
            doc.metadata["quality_score"] = score
            if keep[pos]:
                yield doc
            else:
                self.drop(doc, "low_quality", detail=f"quality_score {score:.4f} {rule}")
