"""The scenario grid: an ordered set of contracts sharing one horizon, and the full grid's order."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import product

import numpy as np

from execbench.contracts.labels import BENCHMARKS, SIDES, TARGETS, Benchmark, Side, Target
from execbench.contracts.spec import ContractSpec
from execbench.errors import ContractError


def grid_position(spec: ContractSpec) -> int:
    """Index of ``spec`` in the full grid ``scenario_grid(spec.horizon)`` (and in the LEM's flattened
    output): ``slot·8 + side·4 + benchmark·2 + target`` with slot m−1 for minimum period m and T for match."""
    slot = spec.horizon if spec.match else spec.min_period - 1
    kind = SIDES.index(spec.side) * len(BENCHMARKS) + BENCHMARKS.index(spec.benchmark)
    return (slot * len(SIDES) * len(BENCHMARKS) + kind) * len(TARGETS) + TARGETS.index(spec.target)


@dataclass(frozen=True)
class ScenarioGrid:
    """An ordered set of contracts sharing one horizon, with the flat arrays the engine reads.

    The full grid (``scenario_grid(T)``) is ordered like the LEM's output (``grid_position``): scenario
    index ``s = n·8 + k·2 + a`` for minimum-period slot n (0..T−1 for m = n+1, T for match),
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

    def __repr__(self) -> str:
        sides = sorted({s.side for s in self.specs}, key=SIDES.index)
        periods = sorted({s.min_period for s in self.specs if not s.match})
        shown = f"m={periods[0]}..{periods[-1]}" if len(periods) > 1 else (f"m={periods[0]}" if periods else "")
        match = " + match" if any(s.match for s in self.specs) else ""
        return f"ScenarioGrid(T={self.horizon}, {len(self)} scenarios: {'/'.join(sides)}, {shown}{match})"

    @property
    def horizon(self) -> int:
        return self.specs[0].horizon

    @property
    def labels(self) -> list[str]:
        return list(self._positions)

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {s.label: k for k, s in enumerate(self.specs)}

    def index(self, label: str) -> int:
        """Position of the scenario with ``label``."""
        try:
            return self._positions[label]
        except KeyError:
            raise ContractError(f"scenario {label!r}: not in the grid") from None

    @property
    def side_sign(self) -> np.ndarray:
        """+1 for buys, −1 for sells, (S,)."""
        return np.array([1.0 if s.side == "buy" else -1.0 for s in self.specs])

    def arrays(self) -> dict[str, np.ndarray]:
        """Flat per-scenario arrays for the engine kernels (in their argument order), read-only (built
        once per grid)."""
        return dict(self._arrays)

    @cached_property
    def _arrays(self) -> dict[str, np.ndarray]:
        out = {
            "is_notional": np.array([s.target == "notional" for s in self.specs]),
            "is_twap": np.array([s.benchmark == "twap" for s in self.specs]),
            "min_period": np.array([s.min_period for s in self.specs], dtype=np.int64),
            "min_rate": np.array([s.effective_min_rate for s in self.specs]),
            "max_rate": np.array([s.max_rate for s in self.specs]),
            "max_participation": np.array(
                [np.inf if s.max_participation is None else s.max_participation for s in self.specs]
            ),
        }
        for array in out.values():
            array.flags.writeable = False
        return out


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
    specs = [ContractSpec(side=side, target=target, benchmark=bench, horizon=horizon, min_period=m, match=match,
                          min_rate=min_rate, max_rate=max_rate, max_participation=max_participation)
             for (m, match), side, bench, target in product(slots, sides, benchmarks, targets)]
    return ScenarioGrid(tuple(specs))  # product order = grid_position order for the full grid
