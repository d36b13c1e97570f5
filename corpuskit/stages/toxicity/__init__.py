"""Toxicity scoring and filtering stages."""

STAGES: dict[str, str] = {}
