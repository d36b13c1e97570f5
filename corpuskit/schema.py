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

A float must be finite (NaN and infinity are refused) and an int must fit in 64 bits: no
parameter means anything with those, and they fail far from the pipeline file. A range or
other rule is declared in the annotation, next to the default, so it is stated once:

    min_chars: Annotated[int, Range(0)] = 1            # at least 0
    min_score: Annotated[float, Range(0, 1)] = 0.5     # in [0, 1]
    shard: Annotated[float, Range(0, 1, high_open=True)] = 0.05   # in [0, 1)
    stop_words: tuple[NonEmptyStr, ...] = ("the",)      # no empty string

`Fraction`, `NonNegative` and `Positive` name the common ones. A rule that relates two
parameters (min <= max) is checked by the stage or the dataclass (`check_order`).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from corpuskit.errors import ConfigError

_NUMBER_WORDS = (int, float)
_INT_LIMIT = 2**63  # an int past a C int64 overflows numpy, Arrow and the tokenizer, not Python


def _number(x: float | None) -> str:
    """A bound as people write it: 1_000_000_000 for an int (not 1e+09), 0.5 for a float."""
    if x is None:
        return ""
    return f"{x:_}" if isinstance(x, int) else f"{x:g}"


@dataclass(frozen=True)
class Range:
    """A number's bounds, in its annotation: `Annotated[int, Range(1)]` is at least 1."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself is excluded (a rate > 0)
    high_open: bool = False  # high itself is excluded (a held-out fraction < 1)

    def describe(self) -> str:
        low, high = _number(self.low), _number(self.high)
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {low}"
        if self.low is None:
            return f"{'<' if self.high_open else '<='} {high}"
        return f"in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"

    def holds(self, value) -> bool:
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below


@dataclass(frozen=True)
class NonEmpty:
    """A string (or list) that must not be empty, in its annotation: `Annotated[str, NonEmpty()]`.
    A string of spaces counts as empty: as a phrase or a word it matches everything."""


Fraction = Annotated[float, Range(0, 1)]  # a ratio or probability threshold, in [0, 1]
NonNegative = Annotated[int, Range(0)]  # a count or length where 0 means none (or off)
Positive = Annotated[int, Range(1)]  # a count or size that must be at least 1
NonEmptyStr = Annotated[str, NonEmpty()]


def check_order(low_name: str, low: Any, high_name: str, high: Any) -> None:
    """ConfigError naming both parameters when `low` exceeds `high` (None: unbounded): such a
    range is empty, and the stage would drop or refuse everything without a word."""
    if low is not None and high is not None and low > high:
        raise ConfigError(f"{low_name} ({low!r}) is greater than {high_name} ({high!r}): nothing could pass both")


def _describe(annotation) -> str:
    if typing.get_origin(annotation) is Annotated:
        return _describe(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return " | ".join(_describe(a) for a in typing.get_args(annotation))
    if isinstance(annotation, type):
        return "None" if annotation is type(None) else annotation.__name__
    return str(annotation).replace("typing.", "")


def _check_rules(key: str, value: Any, rules: tuple) -> None:
    for rule in rules:
        if isinstance(rule, Range) and not rule.holds(value):
            raise ConfigError(f"{key}: must be {rule.describe()}; got {value!r}")
        if isinstance(rule, NonEmpty) and not (value.strip() if isinstance(value, str) else len(value)):
            raise ConfigError(f"{key}: must not be empty" + (f"; got {value!r}" if value else ""))


def coerce(key: str, value: Any, annotation: Any) -> Any:
    """`value` checked against `annotation` (and converted where lossless); ConfigError naming `key`."""
    if annotation in (Any, inspect.Parameter.empty, object):
        return value
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        base, *rules = typing.get_args(annotation)
        value = coerce(key, value, base)
        if value is not None:
            _check_rules(key, value, tuple(rules))
        return value
    if origin in (Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        real = [o for o in options if o is not type(None)]
        if len(real) == 1:  # X | None: X's own message ("must be >= 0") says more than "expected X"
            return coerce(key, value, real[0])
        for option in real:
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
        if annotation is float and not math.isfinite(value):
            raise ConfigError(f"{key}: must be a finite number; got {value!r}")
        if annotation is int and not -_INT_LIMIT < value < _INT_LIMIT:
            raise ConfigError(f"{key}: {value} is out of range (at most 2**63 - 1)")
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
    hints = typing.get_type_hints(cls, include_extras=True)
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
        hints = typing.get_type_hints(cls.__init__, include_extras=True)
    except Exception:  # an annotation that does not resolve: check nothing rather than guess
        hints = {}
    return {
        n: p.replace(annotation=hints.get(n, p.annotation if not isinstance(p.annotation, str) else Any))
        for n, p in sig.parameters.items()
        if n != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }


def check_fields(obj, section: str = "") -> None:
    """Every field of dataclass `obj` checked against its annotation, ranges included: called
    from `__post_init__`, a config built in Python obeys the rules a YAML one does."""
    for name, annotation in field_types(type(obj)).items():
        coerce(f"{section}.{name}" if section else name, getattr(obj, name), annotation)
