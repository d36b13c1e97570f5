r"""Field checks declared in the annotation, so that a config dataclass states each rule once:

    batch_size: Annotated[int, Range(1)] = 32           # at least 1
    dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.0   # in [0, 1)
    norm: Literal["rmsnorm", "layernorm"] = "rmsnorm"   # one of the choices
    device: Annotated[str, Pattern(r"cpu|cuda(:\d+)?", "cpu, cuda or cuda:N")] = "cpu"

A float field is also refused when it is NaN or infinite, whatever its range (`lr=.inf` would
train to NaN). `check_fields` runs them all; the dataclasses call it from `__post_init__`, so a
value is refused when a config is made or loaded (YAML, overrides, a checkpoint's config.json),
before any work.
"""

import math
import re
import typing
from dataclasses import dataclass

from .errors import ConfigError


@dataclass(frozen=True)
class Range:
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself is excluded (a learning rate > 0)
    high_open: bool = False  # high itself is excluded (dropout < 1)

    def describe(self):
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"

    def holds(self, value):
        above = value > self.low if self.low_open else value >= self.low
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below


@dataclass(frozen=True)
class Pattern:
    regex: str  # the whole value must match
    describe: str  # the accepted forms, in words

    def holds(self, value):
        return re.fullmatch(self.regex, value) is not None


def check_fields(obj, prefix=""):
    """ConfigError for the first field of dataclass `obj` outside its Range or its Literal choices."""
    for name, hint in typing.get_type_hints(type(obj), include_extras=True).items():
        value = getattr(obj, name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{prefix}{name}: must be a finite number, got {value!r}")
        for rule in getattr(hint, "__metadata__", ()):
            if isinstance(rule, Range) and not rule.holds(value):
                raise ConfigError(f"{prefix}{name}: must be {rule.describe()}, got {value!r}")
            if isinstance(rule, Pattern) and not rule.holds(value):
                raise ConfigError(f"{prefix}{name}: must be {rule.describe}, got {value!r}")
        choices = typing.get_args(hint) if typing.get_origin(hint) is typing.Literal else ()
        if choices and value not in choices:
            raise ConfigError(f"unknown {name} {value!r}; expected {' or '.join(map(repr, choices))}")
