"""Per-order Numba policies (``execbench.strategy.policy``): each built-in kernel takes the decisions of
its strategy's NumPy ``step`` (the twin), and the driver hands a kernel one order's past only."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

import execbench as eb
from execbench.errors import AllocationError
from execbench.strategy import Strategy, fit_strategy, run_strategy
from execbench.strategy.registry import load_strategy

KERNELS = ("optstop", "dvwap", "pov", "flex")
HORIZON = 12  # past 8 bars, NumPy's sums pair terms: the twins must add in the same order


@pytest.fixture(scope="module")
def market():
    bars = eb.load_bars("BTCUSDT")
    train = eb.training_bars(bars, "2026-01-01")
    strategies = {name: fit_strategy(load_strategy(name, **({"paths": 512} if name == "optstop" else {})), train)
                  for name in KERNELS}
    strategies["pov-fast"] = fit_strategy(load_strategy("pov", rate=0.3, window=2), train)
    strategies["flex-edge"] = fit_strategy(load_strategy("flex", front=0.9, threshold_bps=3.0), train)
    return bars, strategies


@settings(max_examples=8, deadline=None, derandomize=True)
@given(day=st.integers(0, 100), size=st.sampled_from([0.01, 0.3]), capped=st.booleans(), zero_volume=st.booleans(),
       flat=st.booleans())
def test_every_kernel_takes_the_decisions_of_its_step(market, day, size, capped, zero_volume, flat):
    bars, strategies = market
    start = pd.Timestamp("2026-01-05", tz="UTC") + pd.Timedelta(days=day)
    hours = (bars.index >= start + pd.Timedelta(hours=5)) & (bars.index < start + pd.Timedelta(hours=9))
    if zero_volume or flat:
        bars = bars.copy()
    if zero_volume:  # a stretch of empty bars: the last price carries, no volume (the bar-price convention)
        bars.loc[hours, ["volume", "quote_volume"]] = 0.0
        bars.loc[hours, ["open", "high", "low", "close"]] = np.nan
    if flat:  # a price that does not move (0.1, which sums inexactly): last price and benchmark tie
        bars.loc[hours & (bars["volume"] > 0), "quote_volume"] = 0.1 * bars.loc[hours & (bars["volume"] > 0), "volume"]
    lookback = max(strategy.lookback for strategy in strategies.values())
    windows = eb.build_order_windows(bars, HORIZON, start=start, end=start + pd.Timedelta(days=1), min_history=lookback)
    windows = replace(windows, order_size=size)
    for name, strategy in strategies.items():
        cap = 0.05 if capped and name.startswith(("dvwap", "pov")) else None  # the others refuse caps
        grid = eb.scenario_grid(HORIZON, max_participation=cap)
        kernel = run_strategy(strategy, windows, grid)
        step = run_strategy(strategy, windows, grid, policies=False)
        np.testing.assert_allclose(kernel, step, rtol=0, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(kernel.sum(axis=1), 1.0, atol=1e-9, err_msg=name)


def _day_of_orders():
    return eb.build_order_windows(eb.load_bars("BTCUSDT"), HORIZON, start="2026-04-01", end="2026-04-02", min_history=1)


class Probe(Strategy):
    """Records, through its allocations, how much of the window its kernel was handed at each bar."""

    name = "probe"
    mode = "adaptive"

    def start(self, ctx, grid):
        return ctx.n_orders

    def step(self, state, obs):
        return np.full((state, obs.allocated.shape[2]), float(obs.prices.shape[1]))

    def policy_kernel(self, state):
        return _seen, np.zeros((state, 1)), ()


@njit
def _seen(s, row, shared, prices, volumes, done, out):
    for k in range(out.size):
        out[k] = prices.size + 100.0 * volumes.size + 1e4 * done.shape[0] + 1e6 * row.size


def test_the_driver_hands_a_kernel_one_orders_bars_before_s():
    windows = _day_of_orders()
    grid = eb.scenario_grid(HORIZON, sides=("buy",), targets=("quantity",))
    alloc = run_strategy(Probe(), windows, grid)
    s = np.arange(HORIZON)[None, :, None]
    np.testing.assert_array_equal(alloc, np.broadcast_to(s * (1 + 100 + 1e4) + 1e6, alloc.shape))
    stepped = run_strategy(Probe(), windows, grid, policies=False)  # step sees all the batch's orders' bars before s
    np.testing.assert_array_equal(stepped[:, :, 0], np.broadcast_to(s[:, :, 0], alloc.shape[:2]))


def test_a_kernel_declared_with_its_own_signature_is_driven_too():
    """A kernel compiled for A-layout arrays (``@njit(signature)``) cannot take the cached driver's exact
    C-layout signature: it is driven as a dispatcher instead, with the same result."""
    from numba import types

    readonly = types.Array(types.float64, 1, "A", readonly=True)
    signature = types.void(types.intp, readonly, types.Tuple(()), readonly, readonly, types.float64[:, :],
                           types.float64[:])
    typed = njit(signature)(_seen.py_func)  # once: a new dispatcher per call would be compiled per call

    class Typed(Probe):
        name = "typed"

        def policy_kernel(self, state):
            return typed, np.zeros((state, 1)), ()

    windows = _day_of_orders()
    grid = eb.scenario_grid(HORIZON, sides=("buy",), targets=("quantity",))
    np.testing.assert_array_equal(run_strategy(Typed(), windows, grid), run_strategy(Probe(), windows, grid))


def test_policy_rows_of_the_wrong_shape_are_named():
    class Short(Probe):
        name = "short"

        def policy_kernel(self, state):
            kernel, rows, shared = super().policy_kernel(state)
            return kernel, rows[:-1], shared

    windows = _day_of_orders()
    with pytest.raises(AllocationError, match="strategy 'short': policy rows have shape"):
        run_strategy(Short(), windows, eb.scenario_grid(HORIZON))


def test_a_subclass_that_changes_step_runs_its_own_step():
    """A plug-in deriving from a built-in with a kernel, with its own ``step``, is not run by the
    parent's kernel."""
    from execbench.strategies.flex import FlexHeuristic

    class Finisher(FlexHeuristic):
        name = "finisher"

        def step(self, state, obs):
            return np.full((state["n_orders"], state["min_period"].size), 1.0 if obs.step == 0 else 0.0)

    windows = _day_of_orders()
    grid = eb.scenario_grid(HORIZON, sides=("buy",), targets=("quantity",))
    alloc = run_strategy(Finisher(), windows, grid)
    np.testing.assert_array_equal(alloc[:, 0, :], 1.0)
    np.testing.assert_array_equal(alloc[:, 1:, :], 0.0)


def test_the_drivers_quick_type_key_tells_apart_every_numba_type():
    """``drive_policy`` picks its compiled driver by a key read from NumPy's attributes: arguments with the
    same key have the same Numba type (the key may tell apart more than Numba does, never less)."""
    from numba import typeof

    from execbench.strategy.policy import _type_key

    base = np.zeros((4, 3))
    read_only = base.copy()
    read_only.flags.writeable = False
    values = [base, base.T, base[:, ::2], base.astype(np.float32), base[0], read_only, np.zeros(3, np.int64),
              np.zeros((4, 3), order="F"), (base, base[0]), (base, read_only), np.array(1.0), 2.5]
    for a in values:
        for b in values:
            if _type_key(a) == _type_key(b):
                assert typeof(a) == typeof(b), (a, b)
    assert len({_type_key(v) for v in values}) == len({typeof(v) for v in values})  # here: as many keys as types


class CountingProbe(Probe):
    """A probe whose shared arrays differ from batch to batch (they number the batch)."""

    name = "counting-probe"

    def __init__(self):
        self.batches = 0

    def policy_kernel(self, state):
        self.batches += 1
        return _seen, np.zeros((state, 1)), (np.array([float(self.batches)]),)


def _count_drives(monkeypatch) -> list[int]:
    import execbench.strategy.policy as policy

    calls, real = [], policy.drive_policy
    monkeypatch.setattr(policy, "drive_policy", lambda *a, **k: calls.append(len(a[1])) or real(*a, **k))
    return calls


def test_batches_that_share_a_kernel_and_its_arrays_are_driven_in_one_call(market, monkeypatch):
    """Consecutive independent batches whose kernel and shared arrays are equal run in one driver call (each
    order's decisions read only its own row, the shared arrays and its bars), with the decisions of one call
    per batch; batches whose shared arrays differ are driven apart."""
    from execbench.orders import independent_batches

    bars, strategies = market
    windows = _day_of_orders()
    grid = eb.scenario_grid(HORIZON)
    for strategy in (strategies["dvwap"], strategies["optstop"], CountingProbe()):
        batches = independent_batches(windows, strategy.lookback)
        assert len(batches) > 3
        calls = _count_drives(monkeypatch)
        joined = run_strategy(strategy, windows, grid, batches=batches)
        assert calls == ([len(windows)] if strategy.name != "counting-probe" else [len(b) for b in batches]), calls
        apart = np.zeros_like(joined)
        for rows in batches:
            apart[rows] = run_strategy(strategy, windows.subset(rows), grid)
        np.testing.assert_array_equal(joined, apart, err_msg=strategy.name)


def test_a_kernel_asked_for_the_first_bars_decides_only_those(market):
    bars, strategies = market
    windows = _day_of_orders()
    grid = eb.scenario_grid(HORIZON)
    full = run_strategy(strategies["pov"], windows, grid)
    for k in (1, 5, HORIZON):
        first = run_strategy(strategies["pov"], windows, grid, bars=k)
        np.testing.assert_array_equal(first[:, :k], full[:, :k])
        assert not first[:, k:].any()
