"""One schema and one default per parameter.

A parameter is declared once: a dataclass field (or a stage's `__init__` parameter) whose
type annotation is the check and whose default is the default. `coerce` checks a value
from YAML or the command line against the annotation, the same way for every section:

    int, float, bool, str       `5e-1` (which YAML reads as a string) is the float 0.5,
                                an int is accepted where a float is expected, a bool never
                                counts as a number
    X | None                    None switches the parameter off
    list[X], tuple[X, ...]      every element checked (tuple[X, Y]: one type per position)
    Literal["a", "b"]           one of the listed values
    dict, Any, unannotated      taken as given
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from typing import Any, Literal, Union

from corpuskit.errors import ConfigError

_NUMBER_WORDS = (int, float)


def _describe(annotation) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def coerce(key: str, value: Any, annotation: Any) -> Any:
    """`value` checked against `annotation` (and converted where lossless); ConfigError naming `key`."""
    if annotation in (Any, inspect.Parameter.empty, object):
        return value
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return coerce(key, value, option)
            except ConfigError:
                pass
        raise ConfigError(f"{key}: expected {_describe(annotation)}, got {value!r}")
    if origin is Literal:
        allowed = typing.get_args(annotation)
        if value not in allowed:
            raise ConfigError(f"{key}: must be one of {', '.join(map(repr, allowed))}; got {value!r}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        args = typing.get_args(annotation)
        if origin is tuple and args and Ellipsis not in args:  # tuple[int, float]: one type per position
            if len(value) != len(args):
                raise ConfigError(f"{key}: expected {len(args)} values ({_describe(annotation)}), got {value!r}")
            return tuple(coerce(f"{key}[{i}]", v, a) for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        items = [coerce(f"{key}[{i}]", v, item) for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return value
    if annotation is type(None):
        if value is not None:
            raise ConfigError(f"{key}: expected null, got {value!r}")
        return None
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if annotation in _NUMBER_WORDS:
        if isinstance(value, str):  # YAML 1.1 reads 5e-1 (no dot) as a string
            try:
                value = annotation(value)
            except ValueError:
                raise ConfigError(f"{key}: expected {annotation.__name__}, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, _NUMBER_WORDS):
            raise ConfigError(f"{key}: expected {annotation.__name__}, got {value!r}")
        if annotation is int and not isinstance(value, int):
            if not float(value).is_integer():
                raise ConfigError(f"{key}: expected int, got {value!r}")
            value = int(value)
        return value
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    if isinstance(annotation, type) and not isinstance(value, annotation):
        raise ConfigError(f"{key}: expected {annotation.__name__}, got {value!r}")
    return value


def field_types(cls) -> dict[str, Any]:
    """The resolved type annotations of a dataclass's fields."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls)}


def field_default(cls, name: str) -> Any:
    """A dataclass field's default, for a CLI option that must not restate it."""
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    raise KeyError(f"{cls.__name__}.{name} has no default")


def from_mapping(cls, mapping: dict | None, section: str):
    """Build a config dataclass from a YAML mapping: unknown keys and bad values are ConfigErrors
    naming `section.key`; checks in `__post_init__` (ValueError) are reported the same way.

    The keys the user gave are remembered (`given_keys`), so that a section serializes as
    written: adding a field with a default later does not change old runs' fingerprints.
    """
    if mapping is not None and not isinstance(mapping, dict):
        raise ConfigError(f"{section}: must be a mapping of parameters")
    mapping = dict(mapping or {})
    types_ = field_types(cls)
    unknown = sorted(set(mapping) - set(types_))
    if unknown:
        raise ConfigError(f"{section}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(types_))})")
    values = {k: coerce(f"{section}.{k}", v, types_[k]) for k, v in mapping.items()}
    try:
        obj = cls(**values)
    except ConfigError as err:
        raise ConfigError(f"{section}: {err}") from None
    except ValueError as err:
        raise ConfigError(f"{section}: {err}") from None
    object.__setattr__(obj, "_given_keys", tuple(mapping))
    return obj


def given_dict(obj) -> dict:
    """The fields of a config built by `from_mapping`, as the user wrote them (all fields otherwise)."""
    keys = getattr(obj, "_given_keys", None)
    full = dataclasses.asdict(obj)
    return full if keys is None else {k: full[k] for k in keys}


def signature_types(cls) -> dict[str, inspect.Parameter]:
    """A stage class's keyword parameters, with annotations resolved, in declaration order."""
    sig = inspect.signature(cls.__init__)
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # an annotation that does not resolve: check nothing rather than guess
        hints = {}
    return {
        n: p.replace(annotation=hints.get(n, p.annotation if not isinstance(p.annotation, str) else Any))
        for n, p in sig.parameters.items()
        if n != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }
