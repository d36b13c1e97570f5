"""The stage registry: the names pipelines use, mapped to classes imported on first use.

Heavy stages (language identification, toxicity models) import their dependencies only
when a pipeline names them, so `corpuskit --help` stays fast. A pipeline may also name
any importable class as `package.module:ClassName`.
"""

from __future__ import annotations

import importlib
import inspect

from corpuskit.stage import Stage

from corpuskit.stages.clean import STAGES as _CLEAN
from corpuskit.stages.dedup import STAGES as _DEDUP
from corpuskit.stages.toxicity import STAGES as _TOXICITY

# Each stage family lists its own names in its package's __init__ (strings only: cheap to import).
REGISTRY: dict[str, str] = {
    "normalize": "corpuskit.stages.basic:Normalize",
    "length_filter": "corpuskit.stages.basic:LengthFilter",
    **_CLEAN,
    **_DEDUP,
    **_TOXICITY,
}


class StageConfigError(ValueError):
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


def check_params(type_name: str, params: dict) -> None:
    """Raise StageConfigError naming any unknown parameter or a missing required one."""
    cls = stage_class(type_name)
    sig = inspect.signature(cls.__init__)
    accepted = {
        n: p for n, p in sig.parameters.items()
        if n != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }
    for key, value in params.items():
        if key not in accepted:
            raise StageConfigError(
                f"stage {type_name!r}: unknown parameter {key!r} (accepted: {', '.join(accepted) or 'none'})")
        default = accepted[key].default
        if not _same_kind(default, value):
            raise StageConfigError(
                f"stage {type_name!r}: parameter {key!r} should be like {default!r}, got {value!r}")
    for n, p in accepted.items():
        if p.default is p.empty and n not in params:
            raise StageConfigError(f"stage {type_name!r}: missing required parameter {n!r}")


def _same_kind(default, value) -> bool:
    """A light type check against the default: enough to catch `min_words: ten`."""
    if default is inspect.Parameter.empty or default is None or value is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return True


def build_stage(type_name: str, params: dict, name: str | None = None) -> Stage:
    """Instantiate a stage from its pipeline name and parameters."""
    check_params(type_name, params)
    try:
        stage = stage_class(type_name)(**params)
    except (TypeError, ValueError) as err:
        raise StageConfigError(f"stage {type_name!r}: {err}") from err
    if name:
        stage.name = name
    return stage
