"""Declared strategy parameters: a type and a valid range per parameter, checked before ``__init__`` runs.

A strategy declares ``param_specs = {"rate": Param(float, low=0, high=1, low_open=True), ...}``; the
base class checks every declared value — from the CLI, the API or a saved state — and a bad one is
a one-line ``ParameterError`` naming the strategy, the parameter, the value and what is valid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from execbench.errors import ParameterError


@dataclass(frozen=True)
class Param:
    """One parameter's type (``int``, ``float``, ``str`` or ``bool``) and valid values."""

    kind: type
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    allow_none: bool = False

    def describe(self) -> str:
        """What is valid, in words: 'a number in (0, 1]', 'a whole number >= 1', 'one of a, b'."""
        if self.choices is not None:
            return "one of " + ", ".join(map(str, self.choices))
        what = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}[self.kind]
        if self.low is not None and self.high is not None:
            what += f" in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        elif self.low is not None:
            what += f" {'>' if self.low_open else '>='} {self.low:g}"
        elif self.high is not None:
            what += f" {'<' if self.high_open else '<='} {self.high:g}"
        return what + (" (or none)" if self.allow_none else "")

    def check(self, owner: str, name: str, value: Any) -> Any:
        """``value`` converted to the declared type, or ``ParameterError`` in one line."""
        try:
            return self._convert(owner, name, value)
        except _Invalid:
            raise ParameterError(f"strategy {owner!r}: parameter {name}={value!r} is not valid; expected "
                                 f"{self.describe()}") from None

    def _convert(self, owner: str, name: str, value: Any) -> Any:
        if value is None or (isinstance(value, str) and value.lower() == "none" and self.allow_none):
            if self.allow_none:
                return None
            self._fail(owner, name, value)
        if self.choices is not None:
            if value not in self.choices:
                self._fail(owner, name, value)
            return value
        if self.kind is bool:
            if not isinstance(value, bool):
                self._fail(owner, name, value)
            return value
        if self.kind is str:
            return str(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self._fail(owner, name, value)
        if self.kind is int:
            if float(value) != int(value):
                self._fail(owner, name, value)
            value = int(value)
        else:
            value = float(value)
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            self._fail(owner, name, value)
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            self._fail(owner, name, value)
        return value

    @staticmethod
    def _fail(owner: str, name: str, value: Any) -> None:
        raise _Invalid


class _Invalid(Exception):
    """Raised inside ``Param._convert``; ``Param.check`` turns it into the one-line ``ParameterError``."""
