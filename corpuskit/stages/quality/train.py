"""Train a quality model folder from labelled rows: the n-gram and statistics classifiers, dev figures, card.

Deterministic: rows in the order given, a stable-hash dev split, full-batch Adam from zeros
(`corpuskit.classify.train`), so the same inputs and options write the same folder byte for
byte. Each source weighs the same within its label and the two labels weigh the same, so a
large source does not make the model a detector of that source (docs/QUALITY.md).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from corpuskit.classify.hashed import FEATURES
from corpuskit.classify.metrics import binary_metrics
from corpuskit.classify.model import save_model
from corpuskit.errors import ConfigError
from corpuskit.stages.quality.data import Row
from corpuskit.stages.quality.features import STATS, normalize, rule_stats
from corpuskit.stages.quality.model import CLIP, FORMAT, QualityModel


@dataclass(frozen=True)
class TrainOptions:
    n_buckets: int = 1 << 18  # hashed n-gram slots (2**18: a 1.3 MB weights file; more did not help on dev)
    max_chars: int = 10_000  # characters of each text read (whitespace collapsed first)
    steps: int = 200  # full-batch Adam steps for the n-gram classifier
    ngram_l2: float = 1e-2  # strong: weaker L2 learns the sources' topics (docs/QUALITY.md, dev ROC-AUC)
    stats_l2: float = 1e-3
    threshold: float | None = None  # the card's default cut; None: the best balanced accuracy on dev
    notes: dict = field(default_factory=dict)  # what the card says about the data (names, sha256, licences)


def source_weights(rows: list[Row]) -> np.ndarray:
    """Per-row weights, mean 1: every (label, source) of a label weighs the same, and the labels the same."""
    count = Counter((r.label, r.source) for r in rows)
    per_label = Counter(label for label, _ in count)
    return np.array([len(rows) / (2 * per_label[r.label] * count[(r.label, r.source)]) for r in rows])


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The cut (rounded to 0.01) with the highest balanced accuracy: as many good kept as bad dropped."""
    cuts = np.round(np.arange(0.01, 1.0, 0.01), 2)
    y = labels.astype(bool)
    tpr = np.array([(scores[y] >= c).mean() for c in cuts])
    tnr = np.array([(scores[~y] < c).mean() for c in cuts])
    return float(cuts[int(np.argmax(tpr + tnr))])


def train_quality(rows: list[Row], dev: list[Row], out: str | Path, options: TrainOptions = TrainOptions(),
                  progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Fit both classifiers on `rows`, score `dev`, write the model folder `out`; returns the card."""
    from corpuskit.classify import train

    labels = np.array([r.label for r in rows])
    if labels.min() == labels.max():
        raise ConfigError(f"training needs both labels; every training document is labelled {labels[0]}")
    if dev and len({r.label for r in dev}) < 2:
        raise ConfigError("the dev documents need both labels for ROC-AUC")
    weights = source_weights(rows)
    say = progress or (lambda stage, done, total: None)
    say("features", 0, len(rows))
    counts = train.featurize([normalize(r.text, options.max_chars) for r in rows], options.n_buckets,
                             options.max_chars)
    idf = train.fitted_idf(counts)
    x = train.tfidf(counts, idf.astype(np.float32))
    say("features", len(rows), len(rows))
    w, b = train.fit(x, labels, weights, steps=options.steps, l2=options.ngram_l2,
                     progress=lambda step: say("n-gram classifier", step, options.steps))
    stats = rule_stats([r.text for r in rows], options.max_chars)
    mean, sd = stats.mean(axis=0), stats.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    sw, sb = train.fit(np.clip((stats - mean) / sd, -CLIP, CLIP), labels, weights, steps=500, l2=options.stats_l2,
                       progress=lambda step: say("statistics classifier", step, 500))
    arrays = {"ngram_weights": w.astype(np.float16), "ngram_bias": np.float64(b), "ngram_idf": idf,
              "ngram_n_buckets": np.int64(options.n_buckets), "ngram_features": np.str_(FEATURES),
              "stats_mean": mean, "stats_sd": sd, "stats_w": sw, "stats_b": np.float64(sb),
              "center": np.zeros(2), "scale": np.ones(2)}
    card = {"format": FORMAT, "max_chars": options.max_chars, "stats": list(STATS),
            "features": {"ngram": FEATURES, "n_buckets": options.n_buckets,
                         "normalize": "whitespace runs to one space, first max_chars characters",
                         "stats": "rule statistics, standardized on the training rows"},
            "training": {"rows": len(rows), "by_source": _by_source(rows), "steps": options.steps,
                         "ngram_l2": options.ngram_l2, "stats_l2": options.stats_l2,
                         "balance": "each source the same within its label, the labels the same"},
            "data": options.notes, "threshold": 0.5}
    save_model(out, card, **arrays)
    # each part's balanced mean and spread on the training rows, from the model as written (float16
    # weights included): centered, a score of 0.5 sits between the two labels as trained
    parts = QualityModel(out).parts([r.text for r in rows])
    arrays["center"] = (parts * weights[:, None]).sum(axis=0) / weights.sum()
    arrays["scale"] = np.maximum(parts.std(axis=0), 1e-6)
    save_model(out, card, **arrays)
    if dev:
        scores = QualityModel(out).score_texts([r.text for r in dev])
        y = np.array([r.label for r in dev])
        threshold = options.threshold if options.threshold is not None else best_threshold(scores, y)
        m = binary_metrics(scores, y, threshold)
        card["dev"] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()}
        card["threshold"] = threshold
    elif options.threshold is not None:
        card["threshold"] = options.threshold
    save_model(out, card, **arrays)
    return card


def _by_source(rows: list[Row]) -> dict:
    count = Counter((r.source, r.label) for r in rows)
    return {f"{source} (label {label})": n for (source, label), n in sorted(count.items())}


def train_command(inputs: list[str], positive: list[str], negative: list[str], out: str | Path,
                  label_field: str = "label", min_score: float | None = None, text_field: str = "text",
                  dev_path: str | None = None, dev_fraction: float = 0.1, seed: int = 0,
                  threshold: float | None = None, steps: int | None = None, buckets: int | None = None,
                  echo: Callable[[str], None] = print) -> dict:
    """What `corpuskit quality train` does: read, split, train, write `out`; returns the card."""
    from corpuskit.stages.quality.data import file_sha256, in_dev, read_rows

    out = Path(out)
    if out.is_file() or (out.is_dir() and any(out.iterdir()) and not (out / "card.json").is_file()):
        raise ConfigError(f"{out} is not empty and holds no model; refusing to write a model there "
                          "(choose a new or empty folder)")
    rows: list[Row] = []
    data = []
    for paths, label in ((inputs, None), (positive, 1), (negative, 0)):
        for path in paths:
            got = read_rows(path, label, label_field, min_score, text_field)
            rows += got
            data.append({"file": Path(path).name, "sha256": file_sha256(path), "documents": len(got),
                         "label": label if label is not None else (
                             f"{label_field} >= {min_score}" if min_score is not None else label_field)})
    if dev_path:
        dev = read_rows(dev_path, None, label_field, min_score, text_field)
        data.append({"dev": Path(dev_path).name, "sha256": file_sha256(dev_path), "documents": len(dev)})
    else:
        held = [in_dev(r.id, seed, dev_fraction) for r in rows]
        dev = [r for r, h in zip(rows, held) if h]
        rows = [r for r, h in zip(rows, held) if not h]
        data.append({"dev": f"{dev_fraction:g} of the documents, by a hash of the id with seed {seed}",
                     "documents": len(dev)})
    echo(f"{len(rows)} training documents ({sum(r.label for r in rows)} good), {len(dev)} dev documents")
    options = TrainOptions(**{k: v for k, v in (("steps", steps), ("n_buckets", buckets)) if v is not None},
                           threshold=threshold, notes={"inputs": data})
    with _progress_bar() as bar:
        return train_quality(rows, dev, out, options, progress=bar)


class _progress_bar:
    """A tqdm bar per training phase on stderr, when progress bars are on (corpuskit.progress)."""

    def __enter__(self):
        from corpuskit.progress import show_progress

        self.on, self.bar, self.phase = show_progress(), None, None
        return self

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.on:
            return
        if phase != self.phase:
            self.__exit__()
            from tqdm import tqdm

            self.bar, self.phase = tqdm(total=total, desc=phase, unit="step" if "classifier" in phase else "doc"), phase
        self.bar.n = done
        self.bar.refresh()

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
