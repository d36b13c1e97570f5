"""The `toxicity` stage: score sentences or lines, aggregate per document, then drop, redact or annotate.

Every kept document gets `metadata["toxicity"]` with its document score and the
unit figures behind it, so a threshold can be tuned afterwards from the output alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from corpuskit.document import Document
from corpuskit.stage import Stage, files_digest, files_stamp
from corpuskit.stages.toxicity.aggregate import AGGREGATES, UNITS, DocScore, redact, split_units

ACTIONS = ("drop", "redact", "annotate")
CHUNK_DOCS, CHUNK_CHARS = 256, 1 << 20  # documents scored together (one MiniLM call per chunk for `cascade`)


class ToxicityFilter(Stage):
    """Drop documents that are mostly abuse (reason `toxic`); keep books with a curse in them.

    Parameters (the YAML parameters):
      scorer: "ensemble" (default: the classifier and the word list, the higher score wins,
        the word list's times 0.88), "classifier" (hashed character + word n-grams), "lexicon",
        "embedding" (MiniLM sentence embeddings and a logistic head; needs the `embed` extra),
        "cascade" (classifier on every unit, embedding only on units scoring at least
        `cascade_cut`), or "hf" (a Hugging Face text-classification model saved in `model`).
      model: a folder for "hf"; another weights .npz for "classifier" / "ensemble", another
        head .npz for "embedding" (default: the shipped ones).
      wordlist: another TERM<TAB>WEIGHT file for the lexicon (default: the shipped one).
      unit: "sentence" (also cut at line breaks) or "line": what gets one score.
      threshold: a unit scoring at least this is toxic.
      aggregate: the document score: "char_fraction" (share of characters in toxic units),
        "fraction" (share of toxic units) or "max" (highest unit score).
      doc_threshold: action "drop" drops a document whose score is at least this.
      cascade_cut: "cascade" sends a unit to the embedding scorer when the classifier scores it
        at least this (chosen on the dev fold; see docs/TOXICITY.md).
      action: "drop", "redact" (remove toxic units; a document left empty is dropped as
        `toxic`), or "annotate" (scores in metadata only).
    """

    name = "toxicity"

    def __init__(self, scorer: str = "ensemble", model: str = "", wordlist: str = "", unit: str = "sentence",
                 threshold: float = 0.8, aggregate: str = "char_fraction", doc_threshold: float = 0.3,
                 action: str = "drop", cascade_cut: float = 0.7):
        super().__init__()
        from corpuskit.stages.toxicity.scorers import SCORERS

        for key, value, allowed in (("scorer", scorer, SCORERS), ("unit", unit, UNITS),
                                    ("aggregate", aggregate, AGGREGATES), ("action", action, ACTIONS)):
            if value not in allowed:
                raise ValueError(f"{key} must be one of {', '.join(allowed)}; got {value!r}")
        for key, value in (("threshold", threshold), ("doc_threshold", doc_threshold),
                           ("cascade_cut", cascade_cut)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{key} must be between 0 and 1; got {value!r}")
        if scorer == "hf" and not model:
            raise ValueError("scorer 'hf' needs model: the folder of a saved text-classification model")
        for key, value in (("model", model), ("wordlist", wordlist)):
            if value and not Path(value).exists():
                raise ValueError(f"{key} {value!r}: no such file or folder")
        self.scorer_name, self.model, self.wordlist = scorer, model, wordlist
        self.unit, self.threshold, self.aggregate = unit, threshold, aggregate
        self.doc_threshold, self.action, self.cascade_cut = doc_threshold, action, cascade_cut
        self._scorer = None

    def content_key(self) -> str | None:
        # a model or word list of the user's, replaced in place, redoes the stage
        given = [p for p in (self.model, self.wordlist) if p]
        return files_digest(*given) if given else None

    @property
    def scorer(self):
        if self._scorer is None:  # loaded on first use, so building a pipeline stays cheap
            from corpuskit.errors import ConfigError
            from corpuskit.stages.toxicity.scorers import load_scorer

            try:
                self._scorer = load_scorer(self.scorer_name, self.model, self.wordlist,
                                           self.cascade_cut if self.scorer_name == "cascade" else 0.0,
                                           files_stamp(*(p for p in (self.model, self.wordlist) if p)))
            except ValueError as err:  # a model or word list the scorer cannot use: the user's file
                raise ConfigError(f"stage 'toxicity': {err}") from None
        return self._scorer

    def score(self, text: str) -> DocScore:
        """Unit spans, unit scores and document aggregates for one text."""
        return self.score_many([text])[0]

    def score_many(self, texts: list[str]) -> list[DocScore]:
        """`score` of several texts, with one batched call to the scorer."""
        import numpy as np  # here, not at import: building a pipeline or the CLI needs no numpy

        from corpuskit.stages.toxicity.scorers import score_many

        items = [(text, split_units(text, self.unit)) for text in texts]
        return [DocScore(spans, np.asarray(scores, dtype=np.float64).tolist(), self.threshold)
                for (_, spans), scores in zip(items, score_many(self.scorer, items))]

    def run(self, docs: Iterable[Document]) -> Iterator[Document]:
        chunk: list[Document] = []
        chars = 0
        for doc in docs:
            chunk.append(doc)
            chars += len(doc.text)
            if len(chunk) >= CHUNK_DOCS or chars >= CHUNK_CHARS:
                yield from self._decide(chunk)
                chunk, chars = [], 0
        yield from self._decide(chunk)

    def _decide(self, docs: list[Document]) -> Iterator[Document]:
        for doc, result in zip(docs, self.score_many([d.text for d in docs])):
            value = result.value(self.aggregate)
            doc.metadata["toxicity"] = {"score": round(value, 4), **result.summary()}
            if self.action == "drop" and value >= self.doc_threshold:
                self.drop(doc, "toxic", detail=f"{self.aggregate} {value:.3f} >= {self.doc_threshold}")
                continue
            if self.action == "redact" and any(result.toxic):
                text = redact(doc.text, result.spans, result.toxic)
                if not text.strip():
                    self.drop(doc, "toxic", detail="every unit is toxic")
                    continue
                self.stats.inc("modified")
                self.stats.inc("redacted_units", sum(result.toxic))
                doc.text = text
            yield doc
