"""Pipeline stages, one folder per family: formatters, filters, dedup, toxicity.

The names pipelines use live in `corpuskit.stages.registry`.
"""

from corpuskit.stages.registry import REGISTRY, StageConfigError, build_stage, check_params, stage_class

__all__ = ["REGISTRY", "StageConfigError", "build_stage", "check_params", "stage_class"]
