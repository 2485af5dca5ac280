"""Flexible-horizon contracts: one ``ContractSpec`` per scenario.

A contract: buy or sell, a fixed quantity or a fixed notional, a VWAP or TWAP benchmark, a maximum
horizon of T bars and a minimum period m ≤ T.  Execution may end at any bar e in [m, T]; the
benchmark is computed over the realised window 1..e.  The "match" case is the fixed-horizon
contract (m = T) whose goal is to track the benchmark rather than beat it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from execbench.contracts.labels import BENCHMARKS, SIDES, TARGETS, Benchmark, Side, Target, scenario_label
from execbench.errors import ContractError

# An allocation above this is a trade: it can extend the realised window (end = max(m, last trade)).
ALLOC_EPS = 1e-9


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ContractError(f"parameter {name!r}: expected one of {', '.join(choices)}, got {value!r}")


@dataclass(frozen=True)
class ContractSpec:
    """One execution contract (a scenario of the grid).

    Parameters
    ----------
    side
        ``"buy"`` or ``"sell"``.
    target
        ``"quantity"`` (fixed number of units; allocations are fractions of the quantity) or
        ``"notional"`` (fixed amount of quote currency; allocations are fractions of the notional).
    benchmark
        ``"vwap"`` or ``"twap"``, computed over the realised window.
    horizon
        Maximum horizon T in bars.
    min_period
        Minimum period m in 1..T: execution may end at any bar from m to T.
    match
        The fixed-horizon "match benchmark" case (requires ``min_period == horizon``).
    min_rate
        Minimum fraction of the order per bar while the order is incomplete (paper: 1/T²).
        ``None`` means 1/T².
    max_rate
        Maximum fraction of the order per bar (paper: 1).
    max_participation
        Optional cap on the order's share of each bar's market volume.
    """

    side: Side
    target: Target
    benchmark: Benchmark
    horizon: int
    min_period: int
    match: bool = False
    min_rate: float | None = None
    max_rate: float = 1.0
    max_participation: float | None = None
    effective_min_rate: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_choice("side", self.side, SIDES)
        _check_choice("target", self.target, TARGETS)
        _check_choice("benchmark", self.benchmark, BENCHMARKS)
        if not isinstance(self.horizon, (int, np.integer)) or self.horizon < 1:
            raise ContractError(f"parameter 'horizon': expected an integer T >= 1, got {self.horizon!r}")
        if not isinstance(self.min_period, (int, np.integer)) or not 1 <= self.min_period <= self.horizon:
            raise ContractError(
                f"parameter 'min_period': expected an integer m in 1..T={self.horizon}, got {self.min_period!r}"
            )
        if self.match and self.min_period != self.horizon:
            raise ContractError("parameter 'match': the match-benchmark case is fixed-horizon (min_period == horizon)")
        rate = 1.0 / self.horizon**2 if self.min_rate is None else float(self.min_rate)
        if not 0.0 <= rate <= 1.0 / self.horizon:
            raise ContractError(
                f"parameter 'min_rate': expected 0 <= min_rate <= 1/T = {1 / self.horizon:.6g} "
                f"(otherwise no allocation can satisfy it), got {rate!r}"
            )
        if not 1.0 / self.horizon <= self.max_rate <= 1.0:
            raise ContractError(
                f"parameter 'max_rate': expected 1/T = {1 / self.horizon:.6g} <= max_rate <= 1, got {self.max_rate!r}"
            )
        if self.max_participation is not None and not self.max_participation > 0:
            raise ContractError(f"parameter 'max_participation': expected > 0 or None, got {self.max_participation!r}")
        object.__setattr__(self, "effective_min_rate", rate)

    @property
    def period(self) -> int | str:
        """The minimum period, or ``"match"`` for the fixed-horizon match case."""
        return "match" if self.match else self.min_period

    @cached_property
    def label(self) -> str:
        """Short unique name, e.g. ``buy-vwap-quantity-m3`` or ``sell-twap-notional-match`` (built once:
        tables and kernels ask for it hundreds of thousands of times)."""
        return scenario_label(self.side, self.benchmark, self.target, self.period)

    def __repr__(self) -> str:
        extra = "".join(f", {k}={getattr(self, k)!r}" for k in ("min_rate", "max_participation")
                        if getattr(self, k) is not None)
        extra += f", max_rate={self.max_rate!r}" if self.max_rate != 1.0 else ""
        return f"ContractSpec({self.label!r}, T={self.horizon}{extra})"
