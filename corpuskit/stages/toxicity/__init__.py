"""Toxicity scoring and filtering stages."""

STAGES: dict[str, str] = {
    "toxicity": "corpuskit.stages.toxicity.stage:ToxicityFilter",
}
