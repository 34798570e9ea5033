"""Numeric option types whose errors say what is allowed ("must be zero or positive"), not "not a valid float"."""

from __future__ import annotations

import math
from typing import Any

import click


class Bounded(click.ParamType):
    """A whole number (kind=int) or a finite number (kind=float) within [minimum, maximum]."""

    def __init__(self, kind: type[int] | type[float], minimum: float | None = None, maximum: float | None = None, unit: str = "") -> None:
        self.kind = kind
        self.minimum = minimum
        self.maximum = maximum
        self.unit = unit
        self.name = "integer" if kind is int else "number"

    def allowed(self) -> str:
        """What the option takes, e.g. `a whole number, 1 or more` or `a number of seconds, zero or positive`."""
        what = "a whole number" if self.kind is int else "a number"
        if self.unit:
            what += f" of {self.unit}"
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            return f"{what} from {low:g} to {high:g}"
        if low == 0:
            return f"{what}, zero or positive"
        if low is not None:
            return f"{what}, {low:g} or more"
        return what if high is None else f"{what}, at most {high:g}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, self.kind) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = self.kind(str(value).strip())
            except ValueError:
                self.fail(f"must be {self.allowed()}, not {value!r}", param, ctx)
        if (self.kind is float and not math.isfinite(number)) or (self.minimum is not None and number < self.minimum) \
                or (self.maximum is not None and number > self.maximum):
            self.fail(f"must be {self.allowed()}, not {value!r}", param, ctx)
        return number


SECONDS = Bounded(float, minimum=0, unit="seconds")


class EngineChoice(click.Choice):
    """One of the registered engines (adapters/registry.py), read when the option is shown or parsed: listing the
    commands does not import the adapters."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        from rockway.adapters.registry import engine_names

        return engine_names()

    @choices.setter
    def choices(self, value: Any) -> None:  # click.Choice.__init__ assigns it; the registry is the one source
        pass
