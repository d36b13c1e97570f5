"""Cleaning stages: text repair and normalization, boilerplate removal, quality rules, PII."""

STAGES: dict[str, str] = {}
