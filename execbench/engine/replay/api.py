"""Replay: check allocations, run the kernel, wrap the arrays in a ``ReplayResult``.

Semantics (paper eq. 1–2 and 28–41 with hard masks).  Per order and scenario with allocations
a_1..a_T (fractions of the order in target units), bar prices P and volumes V:

* realised window end e = max(m, last bar with a_t > ``ALLOC_EPS``);
* quantity target: achieved = Σ a_t P_t / Σ a_t;  notional target: achieved = Σ a_t / Σ (a_t / P_t);
* VWAP benchmark = Σ_{t≤e} V_t P_t / Σ_{t≤e} V_t (NaN if no volume traded in 1..e);
  TWAP benchmark = mean of P_1..P_e;
* bps = (achieved / benchmark − 1)·1e4 (paper sign); perf_bps = −bps for buys, +bps for sells;
* participation of bar t = a_t·Q / V_t (quantity) or a_t·F / (P_t V_t) (notional).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from execbench.contracts import ScenarioGrid
from execbench.engine.impact import ImpactModel, impact_kernel, impact_numpy
from execbench.engine.replay.codes import BAD_SUM, MESSAGES, SUM_TOLERANCE
from execbench.engine.replay.kernel import replay_kernel
from execbench.engine.replay.result import ReplayResult
from execbench.engine.replay.twin import replay_numpy
from execbench.errors import AllocationError

Backend = Literal["numba", "numpy"]


def _raise_on_bad_allocations(codes: np.ndarray, where: np.ndarray, alloc: np.ndarray, grid: ScenarioGrid,
                              strategy: str, orders: pd.DataFrame, tol: float) -> None:
    """Raise ``AllocationError`` naming the strategy, the first offending order and its scenario."""
    bad = np.flatnonzero(codes)
    if bad.size == 0:
        return
    i = int(bad[0])
    s = int(where[i])
    who = f"order {i}"
    if len(orders) > i:
        who += " (" + ", ".join(f"{c}={orders.iloc[i][c]}" for c in orders.columns) + ")"
    detail = f": they sum to {alloc[i, :, s].sum():.9g}" if codes[i] == BAD_SUM else ""
    raise AllocationError(
        f"strategy {strategy!r} emitted {MESSAGES[int(codes[i])]} for {who}, scenario {grid.labels[s]}{detail} "
        f"({bad.size} of {alloc.shape[0]} orders affected); allocations must be >= 0 and sum to 1 "
        f"(tolerance {tol:g}) and are never renormalised"
    )


def _as_float_array(name: str, value, shape: tuple[int, ...]) -> np.ndarray:
    array = np.ascontiguousarray(value, dtype=np.float64)
    if array.shape != shape:
        raise AllocationError(f"replay: {name} has shape {array.shape}, expected {shape}")
    return array


def replay(
    prices: np.ndarray,
    volumes: np.ndarray,
    alloc: np.ndarray,
    grid: ScenarioGrid,
    *,
    order_qty: np.ndarray | None = None,
    order_notional: np.ndarray | None = None,
    orders: pd.DataFrame | None = None,
    strategy: str = "strategy",
    backend: Backend = "numba",
    check: bool = True,
    impact: ImpactModel | None = None,
    window_volume: np.ndarray | None = None,
) -> ReplayResult:
    """Replay allocations over orders and scenarios.

    Parameters
    ----------
    prices, volumes
        Bar prices and market volumes of each order's T bars, (n, T).
    alloc
        Allocation fractions, (n, T, S) with S = ``len(grid)``.
    grid
        The scenarios (columns of ``alloc``).
    order_qty, order_notional
        Order size in base units and in quote units, (n,); only participation depends on them
        (default 0).
    orders
        Per-order labels carried into the result (default: the order number).
    strategy
        Name used in error messages.
    backend
        ``"numba"`` (parallel kernel) or ``"numpy"`` (the reference twin).
    impact
        Market impact (see ``execbench.engine.impact``); ``None`` or an inactive model replays at the
        bar prices.  With impact, ``achieved`` includes it and ``achieved_no_impact`` does not.
    window_volume
        The order's expected window volume (n,), which scales permanent impact (default: the sum of
        the window's volumes).
    check
        Raise ``AllocationError`` (naming ``strategy``, the first offending order and scenario) if any
        allocation is negative or non-finite or a scenario's allocations do not sum to 1 within
        ``SUM_TOLERANCE``.  Allocations are never renormalised.

    Returns
    -------
    ReplayResult
    """
    prices = np.asarray(prices, dtype=np.float64)
    if prices.ndim != 2:
        raise AllocationError(f"replay: prices must be 2-D (orders, T), got shape {prices.shape}")
    n, horizon = prices.shape
    volumes = _as_float_array("volumes", volumes, (n, horizon))
    alloc = _as_float_array("alloc", alloc, (n, horizon, len(grid)))
    if horizon != grid.horizon:
        raise AllocationError(f"replay: prices cover {horizon} bars but the grid's horizon is {grid.horizon}")
    if not (np.isfinite(prices).all() and (prices > 0).all()):
        raise AllocationError("replay: prices must be finite and positive")
    if not (np.isfinite(volumes).all() and (volumes >= 0).all()):
        raise AllocationError("replay: volumes must be finite and non-negative")
    qty = np.zeros(n) if order_qty is None else _as_float_array("order_qty", order_qty, (n,))
    notional = np.zeros(n) if order_notional is None else _as_float_array("order_notional", order_notional, (n,))
    if orders is None:
        orders = pd.DataFrame({"order_id": np.arange(n)})
    kernel = replay_kernel if backend == "numba" else replay_numpy
    out = kernel(prices, volumes, alloc, qty, notional, *grid.arrays().values(), SUM_TOLERANCE)
    achieved, benchmark, executed, max_part, end_bar, violations, codes, where = out
    if check:
        _raise_on_bad_allocations(codes, where, alloc, grid, strategy, orders, SUM_TOLERANCE)
    achieved_no_impact = None
    if impact is not None and impact.active:
        arrays = grid.arrays()
        volume_scale = volumes.sum(axis=1) if window_volume is None else _as_float_array("window_volume", window_volume, (n,))
        run_impact = impact_kernel if backend == "numba" else impact_numpy
        with_impact, bench_impact = run_impact(
            prices, volumes, alloc, qty, notional, volume_scale, grid.side_sign, arrays["is_notional"], arrays["is_twap"],
            arrays["min_period"], impact.eps, impact.beta, impact.gamma, impact.delta, impact.benchmark_with_impact)
        achieved_no_impact, achieved = achieved, with_impact
        if impact.benchmark_with_impact:
            benchmark = bench_impact
    return ReplayResult(grid=grid, achieved=achieved, benchmark=benchmark, achieved_no_impact=achieved_no_impact,
                        executed=executed, max_participation=max_part, end_bar=end_bar,
                        violations=violations, orders=orders.reset_index(drop=True))
