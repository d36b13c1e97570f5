"""The stage registry: the names pipelines use, mapped to classes imported on first use.

Heavy stages (language identification, toxicity models) import their dependencies only
when a pipeline names them, so `corpuskit --help` stays fast. A pipeline may also name
any importable class as `package.module:ClassName`.

A stage's parameters are its `__init__` keyword parameters: the annotation is the check
(`corpuskit.schema.coerce`), the default is the default.
"""

from __future__ import annotations

import importlib

from corpuskit.errors import ConfigError
from corpuskit.schema import coerce, signature_types
from corpuskit.stage import Stage
from corpuskit.stages.decontaminate import STAGES as _DECONTAMINATE
from corpuskit.stages.dedup import STAGES as _DEDUP
from corpuskit.stages.filters import STAGES as _FILTERS
from corpuskit.stages.formatters import STAGES as _FORMATTERS
from corpuskit.stages.quality import STAGES as _QUALITY
from corpuskit.stages.toxicity import STAGES as _TOXICITY

# Each stage family lists its own names in its package's __init__ (strings only: cheap to import).
REGISTRY: dict[str, str] = {**_FORMATTERS, **_FILTERS, **_DEDUP, **_TOXICITY, **_DECONTAMINATE, **_QUALITY}


class StageConfigError(ConfigError):
    """A stage name or parameter in a pipeline is wrong."""


def stage_class(type_name: str) -> type[Stage]:
    target = REGISTRY.get(type_name, type_name if ":" in type_name else None)
    if target is None:
        known = ", ".join(sorted(REGISTRY))
        raise StageConfigError(f"unknown stage {type_name!r} (known stages: {known})")
    module, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise StageConfigError(f"cannot import stage {type_name!r} ({target}): {err}") from err
    if not (isinstance(cls, type) and issubclass(cls, Stage)):
        raise StageConfigError(f"{target} is not a corpuskit Stage")
    return cls


def check_params(type_name: str, params: dict) -> dict:
    """The parameters checked against the stage's annotations (`5e-1` becomes 0.5);
    StageConfigError naming an unknown, missing or ill-typed parameter."""
    accepted = signature_types(stage_class(type_name))
    checked = {}
    for key, value in params.items():
        if key not in accepted:
            raise StageConfigError(
                f"stage {type_name!r}: unknown parameter {key!r} (accepted: {', '.join(accepted) or 'none'})")
        try:
            checked[key] = coerce(repr(key), value, accepted[key].annotation)
        except ConfigError as err:
            raise StageConfigError(f"stage {type_name!r}: parameter {err}") from None
    for n, p in accepted.items():
        if p.default is p.empty and n not in params:
            raise StageConfigError(f"stage {type_name!r}: missing required parameter {n!r}")
    return checked


def build_stage(type_name: str, params: dict, name: str | None = None) -> Stage:
    """Instantiate a stage from its pipeline name and parameters."""
    checked = check_params(type_name, params)
    try:
        stage = stage_class(type_name)(**checked)
    except ValueError as err:  # the stage's own range checks; a TypeError stays a bug
        raise StageConfigError(f"stage {type_name!r}: {err}") from err
    if name:
        stage.name = name
    return stage
