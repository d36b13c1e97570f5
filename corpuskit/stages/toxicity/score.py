"""Toxicity scores outside a pipeline, for `corpuskit toxicity score` and `corpuskit toxicity eval`.

The `toxicity` stage is used for its scores only (nothing is dropped), so a score here is
the document score the stage computes in a pipeline with the same options.
"""

from __future__ import annotations

from typing import Iterator

from corpuskit.errors import ConfigError
from corpuskit.stages.toxicity.stage import ToxicityFilter

# A text scored on its own reports its worst unit unless told otherwise (the stage's own
# default, char_fraction, suits whole documents in a pipeline).
SCORE_AGGREGATE = "max"


def scoring_stage(scorer: str = "ensemble", model: str = "", unit: str = "sentence", aggregate: str | None = None,
                  **params) -> ToxicityFilter:
    """A `ToxicityFilter` to score with (aggregate default: the highest unit score); ConfigError for a bad value."""
    try:
        return ToxicityFilter(scorer=scorer, model=model, unit=unit, aggregate=aggregate or SCORE_AGGREGATE, **params)
    except ValueError as err:  # the stage's range and choice checks
        raise ConfigError(str(err)) from None


def score_input(path: str, text_field: str = "text", **scorer) -> Iterator[dict]:
    """`{"id": ..., "score": ...}` per document of `path` (`-`: JSON Lines on stdin), score in [0, 1].

    `scorer` are `scoring_stage`'s options; a bad one raises here, before anything is read.
    Records that cannot be read are reported on standard error and not scored.
    """
    from corpuskit.readers.stdin import iter_input

    stage = scoring_stage(**scorer)
    return ({"id": doc.id, "score": round(stage.score(doc.text).value(stage.aggregate), 6)}
            for doc in iter_input(path, text_field))
