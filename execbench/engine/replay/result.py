"""What the replay returns: per (order, scenario) arrays (``ReplayResult``), and their tidy DataFrame."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from execbench.contracts import PerScenario, ScenarioGrid, paper_bps
from execbench.engine.replay.columns import Columns, StoredRows

METRICS = ("achieved", "benchmark", "bps", "perf_bps", "executed", "max_participation", "end_bar", "violations")


@dataclass(frozen=True, eq=False, repr=False)  # not slots: cached_property needs __dict__
class ReplayResult(PerScenario):
    """Outcome of replaying one strategy over n orders and S scenarios; every metric is (n, S).

    ``bps`` is the paper's sign, ``(achieved / benchmark − 1)·1e4`` (a good buy is negative, a good
    sell positive); ``perf_bps`` is side-adjusted, positive = better than the benchmark.
    ``end_bar`` is the last bar (1-based) of the realised window; ``violations`` counts bars that
    break the contract's min/max trading rate or participation cap.  ``orders`` holds per-order
    labels (asset, origin).  ``allocations`` optionally keeps the allocations of the scenarios named
    in ``kept`` (for execution curves).  A result too large for memory (``store.ResultStore``) holds its
    metrics as ``Columns``, read one scenario at a time, and its allocations as ``StoredRows``.
    """

    grid: ScenarioGrid
    achieved: np.ndarray
    benchmark: np.ndarray
    executed: np.ndarray
    max_participation: np.ndarray
    end_bar: np.ndarray
    violations: np.ndarray
    orders: pd.DataFrame
    allocations: np.ndarray | StoredRows | None = None  # (n, T, K) float32 for the scenarios in ``kept``
    kept: tuple[str, ...] = ()
    achieved_no_impact: np.ndarray | None = None  # (n, S), when replayed with market impact
    reference: dict[str, np.ndarray] | None = None  # per-order reference prices (arrival, first, last, full VWAP/TWAP)

    def __repr__(self) -> str:
        extras = [f"allocations kept for {len(self.kept)} scenarios"] if self.kept else []
        extras += ["with impact"] if self.achieved_no_impact is not None else []
        return (f"ReplayResult({self.n_orders:,} orders × {len(self.grid)} scenarios, T={self.horizon}"
                + "".join(f", {e}" for e in extras) + ")")

    @cached_property
    def bps(self) -> np.ndarray:
        """``(achieved / benchmark − 1)·1e4``, the paper's sign (``metrics.paper_bps``)."""
        return paper_bps(self.achieved, self.benchmark)

    @cached_property
    def perf_bps(self) -> np.ndarray:
        """Side-adjusted bps, positive = better than the benchmark (``metrics.perf_bps``)."""
        return PerScenario.perf_bps.fget(self)

    def bps_against(self, reference: str) -> np.ndarray:
        """Paper-sign bps of the achieved price against a fixed reference, (n, S): ``"full"``, the
        scenario's benchmark (VWAP or TWAP) over all T bars, whatever window the strategy realised;
        ``"arrival"``, the last bar price before the origin.  Needs ``reference`` (set by
        ``evaluate``)."""
        if self.reference is None:
            raise ValueError("bps_against: the result has no reference prices (replay it through evaluate)")
        if reference == "full":
            twap = self.grid.arrays()["is_twap"]
            if isinstance(self.achieved, Columns):  # one scenario's reference at a time
                return Columns(self.achieved.shape, np.float64, lambda s, start, stop: paper_bps(
                    self.achieved.part(s, start, stop), self.reference["full_twap" if twap[s] else "full_vwap"][start:stop]))
            price = np.where(twap[None, :], self.reference["full_twap"][:, None], self.reference["full_vwap"][:, None])
        elif reference == "arrival":
            price = self.reference["arrival"][:, None]
        else:
            raise ValueError(f"bps_against: reference {reference!r}; expected 'full' or 'arrival'")
        return paper_bps(self.achieved, price)

    def valid(self) -> np.ndarray:
        """(n, S) mask of results with a defined benchmark (a VWAP over a window with no volume is NaN)."""
        return np.isfinite(self.bps)

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one row per (order, scenario) with the scenario's fields and every metric."""
        n, n_scen = self.bps.shape
        specs = self.grid.specs
        frame = pd.DataFrame({
            "order": np.repeat(np.arange(n), n_scen),
            "scenario": np.tile(np.array(self.grid.labels, dtype=object), n),
            "side": np.tile(np.array([s.side for s in specs], dtype=object), n),
            "benchmark_type": np.tile(np.array([s.benchmark for s in specs], dtype=object), n),
            "target": np.tile(np.array([s.target for s in specs], dtype=object), n),
            "min_period": np.tile(np.array([s.min_period for s in specs]), n),
            "match": np.tile(np.array([s.match for s in specs]), n),
        })
        for metric in METRICS:
            frame[metric] = getattr(self, metric).reshape(-1)
        for column in self.orders.columns:
            frame.insert(1, column, np.repeat(self.orders[column].to_numpy(), n_scen))
        return frame
