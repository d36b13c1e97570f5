"""Benchmark decontamination: evaluation items found in training documents."""

STAGES: dict[str, str] = {
    "decontaminate": "corpuskit.stages.decontaminate.stage:Decontaminate",
}
