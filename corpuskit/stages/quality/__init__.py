"""Model-based quality scoring: the `quality` stage, its model and its training."""

STAGES: dict[str, str] = {
    "quality": "corpuskit.stages.quality.stage:QualityFilter",
}
