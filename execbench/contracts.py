"""Flexible-horizon contracts and the scenario grid.

A contract: buy or sell, a fixed quantity or a fixed notional, a VWAP or TWAP benchmark, a maximum
horizon of T bars and a minimum period m ≤ T.  Execution may end at any bar e in [m, T]; the
benchmark is computed over the realised window 1..e.  The "match" case is the fixed-horizon
contract (m = T) whose goal is to track the benchmark rather than beat it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from execbench.errors import ContractError

Side = Literal["buy", "sell"]
Target = Literal["quantity", "notional"]
Benchmark = Literal["vwap", "twap"]

SIDES: tuple[Side, ...] = ("buy", "sell")
BENCHMARKS: tuple[Benchmark, ...] = ("vwap", "twap")
TARGETS: tuple[Target, ...] = ("quantity", "notional")


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
    def label(self) -> str:
        """Short unique name, e.g. ``buy-vwap-quantity-m3`` or ``sell-twap-notional-match``."""
        period = "match" if self.match else f"m{self.min_period}"
        return f"{self.side}-{self.benchmark}-{self.target}-{period}"


@dataclass(frozen=True)
class ScenarioGrid:
    """An ordered set of contracts sharing one horizon, with the flat arrays the engine reads.

    The full grid (``scenario_grid(T)``) is ordered like the LEM's output: scenario index
    ``s = n·8 + k·2 + a`` for minimum-period slot n (0..T−1 for m = n+1, T for match),
    k in (buy-VWAP, buy-TWAP, sell-VWAP, sell-TWAP) and a in (quantity, notional).
    """

    specs: tuple[ContractSpec, ...]

    def __post_init__(self) -> None:
        if not self.specs:
            raise ContractError("scenario grid: no scenarios")
        horizons = {s.horizon for s in self.specs}
        if len(horizons) != 1:
            raise ContractError(f"scenario grid: all scenarios must share one horizon, got {sorted(horizons)}")
        labels = [s.label for s in self.specs]
        if len(set(labels)) != len(labels):
            raise ContractError("scenario grid: duplicate scenarios")

    def __len__(self) -> int:
        return len(self.specs)

    @property
    def horizon(self) -> int:
        return self.specs[0].horizon

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self.specs]

    def index(self, label: str) -> int:
        """Position of the scenario with ``label``."""
        try:
            return self.labels.index(label)
        except ValueError:
            raise ContractError(f"scenario {label!r}: not in the grid") from None

    @property
    def side_sign(self) -> np.ndarray:
        """+1 for buys, −1 for sells, (S,)."""
        return np.array([1.0 if s.side == "buy" else -1.0 for s in self.specs])

    def arrays(self) -> dict[str, np.ndarray]:
        """Flat per-scenario arrays for the engine kernels (in their argument order)."""
        return {
            "is_notional": np.array([s.target == "notional" for s in self.specs]),
            "is_twap": np.array([s.benchmark == "twap" for s in self.specs]),
            "min_period": np.array([s.min_period for s in self.specs], dtype=np.int64),
            "min_rate": np.array([s.effective_min_rate for s in self.specs]),
            "max_rate": np.array([s.max_rate for s in self.specs]),
            "max_participation": np.array(
                [np.inf if s.max_participation is None else s.max_participation for s in self.specs]
            ),
        }


def scenario_grid(
    horizon: int,
    *,
    sides: tuple[Side, ...] = SIDES,
    benchmarks: tuple[Benchmark, ...] = BENCHMARKS,
    targets: tuple[Target, ...] = TARGETS,
    min_periods: tuple[int, ...] | None = None,
    include_match: bool = True,
    min_rate: float | None = None,
    max_rate: float = 1.0,
    max_participation: float | None = None,
) -> ScenarioGrid:
    """Build the paper's scenario grid (or a sub-grid).

    The full grid has 2 sides × 2 benchmarks × 2 targets × (T minimum periods + match)
    = 8·(T+1) scenarios, ordered as documented on ``ScenarioGrid``.

    Parameters
    ----------
    horizon
        Maximum horizon T in bars.
    sides, benchmarks, targets
        Subsets to include.
    min_periods
        Minimum periods to include (default 1..T).
    include_match
        Add the fixed-horizon match-benchmark case.
    min_rate, max_rate, max_participation
        Trading-rate and participation constraints shared by every scenario (see ``ContractSpec``).
    """
    periods = tuple(range(1, horizon + 1)) if min_periods is None else tuple(min_periods)
    slots = [(m, False) for m in periods] + ([(horizon, True)] if include_match else [])
    specs = tuple(
        ContractSpec(side=side, target=target, benchmark=bench, horizon=horizon, min_period=m, match=match,
                     min_rate=min_rate, max_rate=max_rate, max_participation=max_participation)
        for m, match in slots
        for side in sides
        for bench in benchmarks
        for target in targets
    )
    return ScenarioGrid(specs)
