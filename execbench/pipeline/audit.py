"""The look-ahead audit: does any allocation depend on bars the strategy could not have seen?

The allocation for bar origin+s is decided at the close of bar origin+s−1.  So for every step s the
audit perturbs one input (bar prices, or bar volumes — and with them everything a strategy derives
from them) at all bars ≥ origin+s, re-runs the strategy, and checks that the allocations for bars
origin … origin+s are unchanged.  Each audited order gets its own copy of the market, so perturbing
one order's future cannot reach another order's past.  Fitted state comes from the training period
and is not refitted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from execbench.contracts import ScenarioGrid, scenario_grid
from execbench.errors import DataError
from execbench.orders import DateSplit, MarketSeries, OrderWindows, build_order_windows, default_split, training_bars
from execbench.strategy import Strategy, check_supported, fit_strategy, run_strategy

INPUTS = ("prices", "volumes")
AUDIT_TOLERANCE = 1e-12


@dataclass(frozen=True)
class StepCheck:
    """One perturbation: ``input`` changed at bars ≥ origin+``step``."""

    step: int
    input: str
    passed: bool
    max_change: float  # largest absolute change of an allocation that had to stay fixed
    first_order: int | None  # first audited order whose allocations changed
    first_bar: int | None  # the earliest changed bar (0-based in the window), for that order


@dataclass(frozen=True)
class AuditReport:
    """Result of ``audit_strategy``."""

    strategy: str
    asset: str
    horizon: int
    n_orders: int
    checks: tuple[StepCheck, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def first_leak(self) -> StepCheck | None:
        """The first failing check, by step then input."""
        failed = [c for c in self.checks if not c.passed]
        return min(failed, key=lambda c: (c.step, INPUTS.index(c.input))) if failed else None

    def __repr__(self) -> str:
        return f"AuditReport({self.label()}: {self.strategy!r} on {self.asset}, {self.n_orders} orders, T={self.horizon})"

    def label(self) -> str:
        """``passed`` or ``FAILED step s`` (for tables)."""
        return "passed" if self.passed else f"FAILED step {self.first_leak.step}"

    def summary(self) -> str:
        """One line: passed, or where the first leak is."""
        if self.passed:
            return (f"look-ahead audit of {self.strategy!r} passed: {self.horizon} steps × {len(INPUTS)} inputs on "
                    f"{self.n_orders} orders of {self.asset}, no allocation changed")
        leak = self.first_leak
        return (f"look-ahead audit of {self.strategy!r} FAILED at step {leak.step}: perturbing {leak.input} at bars "
                f">= origin+{leak.step} changed the allocation for bar origin+{leak.first_bar} (order "
                f"{leak.first_order}, by {leak.max_change:.3g}); that allocation may only use bars < origin+"
                f"{leak.first_bar}")

    def to_frame(self) -> pd.DataFrame:
        """One row per check (step × input)."""
        return pd.DataFrame([c.__dict__ for c in self.checks])

    def to_dict(self) -> dict:
        """The record kept in ``run.json``."""
        leak = self.first_leak
        return {"passed": self.passed, "strategy": self.strategy, "asset": self.asset, "horizon": self.horizon,
                "orders": self.n_orders, "steps": self.horizon, "inputs": list(INPUTS),
                "first_leak": None if leak is None else {"step": leak.step, "input": leak.input,
                                                           "bar": leak.first_bar, "order": leak.first_order}}


def _sample_orders(windows: OrderWindows, n_orders: int, rng: np.random.Generator) -> OrderWindows:
    if len(windows) == 0:
        raise DataError("look-ahead audit: no complete order windows in the audit period")
    rows = np.sort(rng.choice(len(windows), size=min(n_orders, len(windows)), replace=False))
    return windows.subset(rows)


def _isolated(windows: OrderWindows, series: list[MarketSeries]) -> OrderWindows:
    """One market copy per order (series k for order k)."""
    return replace(windows, series=tuple(series), asset_id=np.arange(len(series)))


def audit_windows(strategy: Strategy, windows: OrderWindows, grid: ScenarioGrid, *, seed: int = 0,
                  tol: float = AUDIT_TOLERANCE) -> tuple[StepCheck, ...]:
    """Run the audit on given order windows (already-fitted strategy); returns one check per step × input."""
    rng = np.random.default_rng(seed)
    copies = [windows.series[k] for k in windows.asset_id]
    base = run_strategy(strategy, _isolated(windows, copies), grid)
    horizon = windows.horizon
    checks = []
    for step in range(horizon):
        for name in INPUTS:
            perturbed = []
            for k, ms in enumerate(copies):
                cut = int(windows.origin[k]) + step
                values = getattr(ms, name).copy()
                tail = values.shape[0] - cut
                noise = rng.normal(0.0, 0.02 if name == "prices" else 0.5, tail)
                values[cut:] = values[cut:] * np.exp(noise)
                perturbed.append(replace(ms, **{name: values}))
            alloc = run_strategy(strategy, _isolated(windows, perturbed), grid)
            fixed = slice(0, step + 1)  # bars origin .. origin+step may not see bar origin+step
            change = np.abs(alloc[:, fixed, :] - base[:, fixed, :])
            change = np.where(np.isnan(change), np.inf, change)
            worst = float(change.max()) if change.size else 0.0
            bad = change > tol
            first_order = first_bar = None
            if bad.any():
                first_order = int(np.flatnonzero(bad.any(axis=(1, 2)))[0])
                first_bar = int(np.flatnonzero(bad[first_order].any(axis=1))[0])
            checks.append(StepCheck(step=step, input=name, passed=not bad.any(), max_change=worst,
                                    first_order=first_order, first_bar=first_bar))
    return tuple(checks)


def audit_strategy(strategy: Strategy, bars: pd.DataFrame, *, horizon: int = 12, split: DateSplit | None = None,
                   grid: ScenarioGrid | None = None, n_orders: int = 16, seed: int = 0, fit: bool = True,
                   tol: float = AUDIT_TOLERANCE, windows: OrderWindows | None = None) -> AuditReport:
    """Look-ahead audit of ``strategy`` on orders sampled from the test period of ``bars``.

    Parameters
    ----------
    strategy
        The strategy (fitted on the training bars here unless ``fit=False``).
    bars
        From ``load_bars``.
    horizon
        T.
    split
        Train/test dates (default ``default_split``).
    grid
        Scenarios (default the full grid).
    n_orders
        Orders sampled from the test period (each gets its own market copy).
    seed
        Seeds the order sample and the perturbations.
    fit
        Fit the strategy on the training bars first.
    tol
        Largest allowed absolute change of a fixed allocation.
    windows
        The test period's order windows, when the caller already built them (``evaluate`` does).

    Returns
    -------
    AuditReport
    """
    split = split or default_split(bars)
    if n_orders < 1:
        raise DataError(f"look-ahead audit: parameter 'n_orders' must be at least 1, got {n_orders}")
    grid = grid or scenario_grid(horizon)
    check_supported(strategy, grid)
    if fit:
        fit_strategy(strategy, training_bars(bars, split.train_end))
    if windows is None:
        windows = build_order_windows(bars, horizon, start=split.test_start, end=split.test_end,
                                      min_history=max(1, strategy.lookback))
    sample = _sample_orders(windows, n_orders, np.random.default_rng(seed))
    checks = audit_windows(strategy, sample, grid, seed=seed, tol=tol)
    return AuditReport(strategy=strategy.name, asset=str(bars.attrs.get("asset")), horizon=horizon,
                       n_orders=len(sample), checks=checks)
