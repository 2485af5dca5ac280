"""The look-ahead audit: does any allocation depend on bars the strategy could not have seen?

The allocation for bar origin+s is decided at the close of bar origin+s−1.  The framework already
shows a strategy only the past (``execbench.strategy.runner``); the audit checks what that structure
cannot see, such as state a strategy keeps or finds outside its inputs.

It re-runs some of the very calls a real run makes — the same independent batches of orders
(``independent_batches``), each spread over the whole test period — on a market in which, for every
order of the call, the bars from origin+s up to the start of the next order's information are
perturbed (prices, or volumes), and checks that the allocations for bars origin … origin+s are
unchanged, for every step s.  The perturbed market has the same form as the real one (the same
series, orders and batch), so the audited call cannot be told from a real one without the true data.
Each audited call runs on its series cut to the bars its orders can reach (``OrderWindows.around_orders``:
every history and window reads what it reads on the whole series), so that perturbing a call of a few
orders copies a few bars rather than the whole series, 24 times.
A perturbed run decides bars origin … origin+s only (``run_strategy(bars=s + 1)``: an adaptive or
sequence strategy is not called for the later bars, which no check reads).

What it cannot see: a strategy that re-reads the data from disk or from the caller's memory; the
``impossible result`` checks of ``execbench.analysis.sanity`` are the backstop there (README, "The
look-ahead audit").  Fitted state comes from the training period and is not refitted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from execbench.contracts import ScenarioGrid, scenario_grid
from execbench.errors import DataError
from execbench.orders import DateSplit, OrderWindows, build_order_windows, default_split, strategy_calls, training_bars
from execbench.orders.batches import INT64_MAX, cohorts, information_lookback
from execbench.strategy import Strategy, check_fitted_for, check_supported, fit_strategy, run_strategy
from execbench.strategy.runner import calls_map

INPUTS = ("prices", "volumes")
AUDIT_TOLERANCE = 1e-12
AUDIT_ORDERS = 500  # a leak on 1 % of orders is caught with probability 1 − 0.99^500 = 99.3 %
POWER_RATES = (0.01, 0.05)  # leak rates the report states its power for


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
    n_calls: int = 0  # strategy calls (independent batches) audited
    available: int = 0  # orders in the test period
    first_origin: str = ""
    last_origin: str = ""

    def miss_probability(self, leak_rate: float) -> float:
        """Probability that a leak on a share ``leak_rate`` of the orders (independently) touches none
        of the audited orders: (1 − rate)^orders."""
        return float((1.0 - leak_rate) ** self.n_orders)

    def power_text(self) -> str:
        """What the audit would catch, in words."""
        parts = [f"{1 - self.miss_probability(r):.1%} for a leak on {r:.0%} of orders" for r in POWER_RATES]
        return (f"{self.n_orders:,} of {self.available:,} orders in {self.n_calls} calls from {self.first_origin} to "
                f"{self.last_origin}; probability of catching: " + ", ".join(parts))

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
            return (f"look-ahead audit of {self.strategy!r} passed: {self.horizon} steps × {len(INPUTS)} inputs, no "
                    f"allocation changed ({self.power_text()})")
        leak = self.first_leak
        return (f"look-ahead audit of {self.strategy!r} FAILED at step {leak.step}: perturbing {leak.input} at bars "
                f">= origin+{leak.step} changed the allocation for bar origin+{leak.first_bar} (order "
                f"{leak.first_order}, by {leak.max_change:.3g}); that allocation may only use bars < origin+"
                f"{leak.first_bar}")

    def weak(self) -> bool:
        """Whether the audit covered too few orders to catch a 1 % leak with 99 % probability."""
        return self.miss_probability(0.01) > 0.01

    def to_frame(self) -> pd.DataFrame:
        """One row per check (step × input)."""
        return pd.DataFrame([c.__dict__ for c in self.checks])

    def to_dict(self) -> dict:
        """The record kept in ``run.json``."""
        leak = self.first_leak
        return {"passed": self.passed, "strategy": self.strategy, "asset": self.asset, "horizon": self.horizon,
                "orders": self.n_orders, "steps": self.horizon, "inputs": list(INPUTS), "calls": self.n_calls,
                "orders_available": self.available, "period": [self.first_origin, self.last_origin],
                "miss_probability": {f"{r:g}": self.miss_probability(r) for r in POWER_RATES},
                "first_leak": None if leak is None else {"step": leak.step, "input": leak.input,
                                                           "bar": leak.first_bar, "order": leak.first_order}}


def call_layout(windows: OrderWindows, lookback: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What ``perturbed_call`` reads of a call's orders at every step: each order's cohort, each cohort's
    first visible bar (``cohorts``) and the orders' bar times (int64 ns)."""
    cohort_of, start_at, _ = cohorts(windows, lookback)
    return cohort_of, start_at, windows.bar_times().astype("int64")


def perturbed_call(windows: OrderWindows, lookback: int, step: int, name: str, rng: np.random.Generator,
                   layout: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> OrderWindows:
    """``windows`` (one call's orders) on a market whose ``name`` is perturbed, for each order, from
    bar origin+``step`` up to the first bar the next order of the call may see (module docstring).
    ``layout``: ``call_layout(windows, lookback)``, if the caller has it (the same for every step)."""
    cohort_of, start_at, bar_times = layout or call_layout(windows, lookback)
    cut_at = np.full(len(start_at), INT64_MAX)
    np.minimum.at(cut_at, cohort_of, bar_times[:, step])
    stop_at = np.append(start_at[1:], INT64_MAX)  # the next cohort's first visible bar
    # a bar belongs to the latest cohort cut at or before it: cohort c perturbs [cut c, min(cut c+1, stop c))
    ends = np.minimum(np.append(cut_at[1:], INT64_MAX), stop_at)
    series = []
    for ms in windows.series:
        times = ms.times.view("int64") if ms.times.dtype == "datetime64[ns]" else ms.times.astype("int64")
        lo, hi = np.searchsorted(times, cut_at), np.searchsorted(times, ends)
        lo, hi = lo[lo < hi], hi[lo < hi]
        hit = np.empty(0, dtype=np.int64)  # the perturbed bars, in time order
        if lo.size:
            first = lo.min()
            edges = np.zeros(hi.max() - first + 1, dtype=np.int64)
            np.add.at(edges, lo - first, 1)
            np.add.at(edges, hi - first, -1)
            hit = first + np.flatnonzero(np.cumsum(edges[:-1]) > 0)
        if hit.size == 0:  # nothing of this series changes
            series.append(ms)
            continue
        values = getattr(ms, name).copy()
        noise = rng.normal(0.0, 0.02 if name == "prices" else 0.5, hit.size)
        values[hit] = values[hit] * np.exp(noise)
        series.append(replace(ms, **{name: values}))
    return windows.on_series(tuple(series))  # its sizes: from bars before the origins, which no perturbation reaches


def _one_call(strategy: Strategy, windows: OrderWindows, grid: ScenarioGrid, bars: int | None = None) -> np.ndarray:
    return run_strategy(strategy, windows, grid, batches=[np.arange(len(windows))], bars=bars)


def audit_windows(strategy: Strategy, windows: OrderWindows, grid: ScenarioGrid, calls: list[np.ndarray], *,
                  seed: int = 0, tol: float = AUDIT_TOLERANCE) -> tuple[StepCheck, ...]:
    """Run the audit on the given calls (row sets of ``windows``, already-fitted strategy); returns one
    check per step × input, over the orders of all the calls (numbered in call order)."""
    rng = np.random.default_rng(seed)
    reach = information_lookback(strategy.lookback)  # the most history any call shows (sizes included)
    subsets = [windows.subset(rows).around_orders(reach) for rows in calls]
    layouts = [call_layout(sub, strategy.lookback) for sub in subsets]
    calls_of = calls_map(strategy, ahead=2 * len(subsets))  # two perturbed runs' markets in memory at most
    base = np.concatenate(list(calls_of(lambda sub: _one_call(strategy, sub, grid), subsets)))
    # every perturbed run's calls in one map, so that the threads stay busy from one run to the next (a run
    # of 7 calls on 2 threads left one idle at its end: 2.6–3.0 s against 2.2 s for LEM's audit); the
    # markets are drawn in run, then call order, as before, and made as the threads need them
    runs = [(step, name) for step in range(windows.horizon) for name in INPUTS]
    markets = ((step, perturbed_call(sub, strategy.lookback, step, name, rng, layout))
               for step, name in runs for sub, layout in zip(subsets, layouts, strict=True))
    perturbed = iter(calls_of(lambda job: _one_call(strategy, job[1], grid, bars=job[0] + 1), markets))
    checks = []
    for step, name in runs:
        alloc = np.concatenate([next(perturbed) for _ in subsets])
        # only bars ≤ step are compared
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


def choose_calls(calls: list[np.ndarray], n_orders: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Whole calls, in random order, until at least ``n_orders`` orders are covered (or all calls)."""
    chosen, covered = [], 0
    for k in rng.permutation(len(calls)):
        if covered >= n_orders:
            break
        chosen.append(calls[k])
        covered += len(calls[k])
    return chosen


def audit_calls(strategy: Strategy, windows: OrderWindows, grid: ScenarioGrid, calls: list[np.ndarray], *,
                asset: str, n_orders: int = AUDIT_ORDERS, seed: int = 0, tol: float = AUDIT_TOLERANCE) -> AuditReport:
    """Audit a strategy as it is (fitted or loaded) on whole ``calls`` of a run over ``windows``, chosen with
    ``seed`` until at least ``n_orders`` orders are covered (``evaluate`` calls this with its own calls)."""
    if isinstance(n_orders, bool) or not isinstance(n_orders, (int, np.integer)) or n_orders < 1:
        raise DataError(f"look-ahead audit: parameter 'n_orders' must be a whole number >= 1, got {n_orders!r} "
                        "(an audit of no orders proves nothing)")
    chosen = choose_calls(calls, int(n_orders), np.random.default_rng(seed))
    checks = audit_windows(strategy, windows, grid, chosen, seed=seed, tol=tol)
    origins = windows.origin_times()[np.concatenate(chosen)]
    return AuditReport(strategy=strategy.name, asset=asset, horizon=windows.horizon,
                       n_orders=int(sum(len(c) for c in chosen)), checks=checks, n_calls=len(chosen),
                       available=len(windows), first_origin=str(origins.min())[:10], last_origin=str(origins.max())[:10])


def audit_strategy(strategy: Strategy, bars: pd.DataFrame, *, horizon: int = 12, split: DateSplit | None = None,
                   grid: ScenarioGrid | None = None, n_orders: int = AUDIT_ORDERS, seed: int = 0, fit: bool = True,
                   tol: float = AUDIT_TOLERANCE) -> AuditReport:
    """Look-ahead audit of ``strategy`` on whole calls of a run over the test period of ``bars``.

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
        At least this many orders are audited: whole strategy calls of the run, chosen at random, each
        spread over the test period.  ``AUDIT_ORDERS`` (500) catches a leak on 1 % of orders with
        probability 99.3 %; the report states the power.
    seed
        Seeds the order sample and the perturbations.
    fit
        Fit the strategy on the training bars first (else check what a saved state was fitted on).
    tol
        Largest allowed absolute change of a fixed allocation.

    Returns
    -------
    AuditReport
    """
    split = split or default_split(bars)
    grid = grid or scenario_grid(horizon)
    check_supported(strategy, grid)
    if fit:
        fit_strategy(strategy, training_bars(bars, split.train_end))
    else:
        check_fitted_for(strategy, bars, split.train_end)
    windows = build_order_windows(bars, horizon, start=split.test_start, end=split.test_end,
                                  min_history=max(1, strategy.lookback))
    if len(windows) == 0:
        raise DataError("look-ahead audit: no complete order windows in the test period")
    return audit_calls(strategy, windows, grid, strategy_calls(windows, strategy.lookback), asset=str(bars.attrs.get("asset")),
                       n_orders=n_orders, seed=seed, tol=tol)
