"""The replay engine: kernel == NumPy twin, semantics by hand, invariants, bad allocations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from execbench.contracts import scenario_grid
from execbench.engine import replay
from execbench.engine.replay.kernel import replay_kernel
from execbench.engine.replay.twin import replay_numpy
from execbench.errors import AllocationError

METRICS = ("achieved", "benchmark", "bps", "perf_bps", "executed", "max_participation", "end_bar", "violations")


def random_market(rng, n, horizon, zero_volume_share=0.0):
    prices = 100.0 * np.exp(np.cumsum(rng.normal(0, 2e-3, (n, horizon)), axis=1))
    volumes = rng.gamma(2.0, 1.0, (n, horizon))
    volumes[rng.random((n, horizon)) < zero_volume_share] = 0.0
    return prices, volumes


def random_allocations(rng, n, horizon, n_scen, sparse=True):
    alloc = rng.dirichlet(np.ones(horizon) * 0.7, size=(n, n_scen)).transpose(0, 2, 1)
    if sparse:  # stop early on some scenarios so the realised window varies
        stop = rng.integers(1, horizon + 1, size=(n, n_scen))
        mask = np.arange(horizon)[None, :, None] < stop[:, None, :]
        alloc = alloc * mask
        alloc /= alloc.sum(axis=1, keepdims=True)
    return alloc


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40), horizon=st.integers(1, 8),
       zero_share=st.sampled_from([0.0, 0.3, 0.9]), cap=st.sampled_from([None, 0.05, 1.0]),
       min_rate=st.sampled_from([None, 0.0]))
def test_kernel_equals_numpy_twin(seed, n, horizon, zero_share, cap, min_rate):
    rng = np.random.default_rng(seed)
    grid = scenario_grid(horizon, max_participation=cap, min_rate=min_rate)
    prices, volumes = random_market(rng, n, horizon, zero_share)
    alloc = random_allocations(rng, n, horizon, len(grid))
    qty = rng.gamma(1.0, 1.0, n)
    notional = qty * prices[:, 0]
    fast = replay(prices, volumes, alloc, grid, order_qty=qty, order_notional=notional)
    slow = replay(prices, volumes, alloc, grid, order_qty=qty, order_notional=notional, backend="numpy")
    for metric in METRICS:
        a, b = getattr(fast, metric), getattr(slow, metric)
        if a.dtype.kind == "i":
            np.testing.assert_array_equal(a, b, err_msg=metric)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9, equal_nan=True, err_msg=metric)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 20), horizon=st.integers(1, 6),
       corrupt=st.sampled_from(["none", "negative", "nan", "inf", "sum", "zero"]))
def test_allocation_problem_codes_equal_twin(seed, n, horizon, corrupt):
    rng = np.random.default_rng(seed)
    grid = scenario_grid(horizon, sides=("buy",), benchmarks=("vwap",), targets=("quantity",))
    alloc = random_allocations(rng, n, horizon, len(grid))
    if corrupt != "none":
        i, t, s = rng.integers(n), rng.integers(horizon), rng.integers(len(grid))
        if corrupt == "zero":  # nothing traded in a scenario: 0/0 prices, which must not raise ZeroDivisionError
            alloc[i, :, s] = 0.0
        else:
            alloc[i, t, s] = {"negative": -0.5, "nan": np.nan, "inf": np.inf, "sum": alloc[i, t, s] + 0.1}[corrupt]
    prices, volumes = random_market(rng, n, horizon)
    args = (prices, volumes, alloc, np.ones(n), np.ones(n), *grid.arrays().values(), 1e-6)
    codes_a, where_a = replay_kernel(*args)[-2:]
    codes_b, where_b = replay_numpy(*args)[-2:]
    np.testing.assert_array_equal(codes_a, codes_b)
    np.testing.assert_array_equal(where_a, where_b)
    assert (codes_a != 0).sum() == (0 if corrupt == "none" else 1)


def test_semantics_by_hand():
    grid = scenario_grid(3, sides=("buy",), min_periods=(1, 2))
    prices = np.array([[100.0, 110.0, 90.0]])
    volumes = np.array([[1.0, 3.0, 6.0]])
    alloc = np.zeros((1, 3, len(grid)))
    alloc[0, :, :] = np.array([0.5, 0.5, 0.0])[:, None]  # stops after bar 2
    r = replay(prices, volumes, alloc, grid)
    # quantity: achieved = (0.5*100 + 0.5*110) = 105; notional: 1 / (0.5/100 + 0.5/110)
    notional_price = 1.0 / (0.5 / 100 + 0.5 / 110)
    for label, achieved, bench, end in [
        ("buy-vwap-quantity-m1", 105.0, (100 + 330) / 4, 2),  # window ends at the last traded bar (2)
        ("buy-vwap-notional-m2", notional_price, (100 + 330) / 4, 2),
        ("buy-twap-quantity-m1", 105.0, 105.0, 2),
        ("buy-vwap-quantity-match", 105.0, (100 + 330 + 540) / 10, 3),  # match: full horizon
        ("buy-twap-notional-match", notional_price, 100.0, 3),
    ]:
        assert r.column("achieved", label)[0] == pytest.approx(achieved)
        assert r.column("benchmark", label)[0] == pytest.approx(bench)
        assert r.column("end_bar", label)[0] == end
        bps = (achieved / bench - 1) * 1e4
        assert r.column("bps", label)[0] == pytest.approx(bps)
        assert r.column("perf_bps", label)[0] == pytest.approx(-bps)  # buy: lower is better


def test_min_period_extends_benchmark_window():
    grid = scenario_grid(4, sides=("sell",), benchmarks=("vwap",), targets=("quantity",), include_match=False)
    prices = np.array([[10.0, 20.0, 30.0, 40.0]])
    volumes = np.ones((1, 4))
    alloc = np.zeros((1, 4, 4))
    alloc[0, 0, :] = 1.0  # everything in bar 1
    r = replay(prices, volumes, alloc, grid)
    np.testing.assert_array_equal(r.end_bar[0], [1, 2, 3, 4])
    np.testing.assert_allclose(r.benchmark[0], [10.0, 15.0, 20.0, 25.0])
    np.testing.assert_allclose(r.perf_bps[0], r.bps[0])  # sell: higher is better, same sign


def test_volume_profile_allocation_has_zero_vwap_slippage():
    rng = np.random.default_rng(1)
    grid = scenario_grid(12, benchmarks=("vwap",), targets=("quantity",), min_periods=())
    prices, volumes = random_market(rng, 500, 12)
    alloc = np.repeat((volumes / volumes.sum(axis=1, keepdims=True))[:, :, None], len(grid), axis=2)
    r = replay(prices, volumes, alloc, grid)
    assert np.abs(r.bps).max() < 1e-9


def test_twap_quantity_against_twap_benchmark_is_zero():
    rng = np.random.default_rng(2)
    grid = scenario_grid(12, benchmarks=("twap",), targets=("quantity",))
    prices, volumes = random_market(rng, 500, 12)
    alloc = np.full((500, 12, len(grid)), 1 / 12)
    r = replay(prices, volumes, alloc, grid)
    assert np.abs(r.bps).max() < 1e-9
    assert (r.end_bar == 12).all()


def test_scaling_prices_changes_nothing_and_runs_are_identical():
    rng = np.random.default_rng(3)
    grid = scenario_grid(6)
    prices, volumes = random_market(rng, 200, 6)
    alloc = random_allocations(rng, 200, 6, len(grid))
    base = replay(prices, volumes, alloc, grid)
    scaled = replay(prices * 1234.5, volumes, alloc, grid)
    np.testing.assert_allclose(scaled.bps, base.bps, atol=1e-9)
    again = replay(prices, volumes, alloc, grid)
    for metric in METRICS:
        np.testing.assert_array_equal(getattr(again, metric), getattr(base, metric))


def test_undefined_vwap_benchmark_is_nan_not_a_number():
    grid = scenario_grid(3, sides=("buy",), targets=("quantity",), min_periods=(1,), include_match=False)
    prices = np.array([[100.0, 101.0, 102.0]])
    volumes = np.array([[0.0, 0.0, 5.0]])
    alloc = np.zeros((1, 3, 2))
    alloc[0, 0, :] = 1.0
    r = replay(prices, volumes, alloc, grid)
    assert np.isnan(r.column("bps", "buy-vwap-quantity-m1")[0])  # no volume traded in the window
    assert r.column("bps", "buy-twap-quantity-m1")[0] == pytest.approx(0.0)
    assert not r.valid()[0, 0] and r.valid()[0, 1]


def test_constraint_violations_and_participation():
    grid = scenario_grid(4, sides=("buy",), benchmarks=("vwap",), targets=("quantity",), include_match=False,
                         min_periods=(4,), max_rate=0.5, max_participation=0.2)
    prices = np.full((1, 4), 100.0)
    volumes = np.array([[10.0, 10.0, 10.0, 10.0]])
    alloc = np.array([[0.6, 0.0, 0.2, 0.2]])[:, :, None]
    r = replay(prices, volumes, alloc, grid, order_qty=np.array([5.0]))
    # bar 1 > max_rate; bar 2 below min rate 1/16 while incomplete; bar 1 participation 3/10 > 0.2
    assert r.violations[0, 0] == 3
    assert r.max_participation[0, 0] == pytest.approx(0.3)


@pytest.mark.parametrize("corrupt, message", [
    (-0.1, "negative allocation"),
    (np.nan, "NaN/inf allocation"),
    (0.3, "do not sum to 1"),
    ("zero", "do not sum to 1"),
])
def test_bad_allocations_name_strategy_order_and_scenario(corrupt, message):
    grid = scenario_grid(4)
    alloc = np.full((10, 4, len(grid)), 0.25)
    if corrupt == "zero":
        alloc[7, :, 5] = 0.0
    else:
        alloc[7, 2, 5] = corrupt
    with pytest.raises(AllocationError, match=message) as info:
        replay(np.full((10, 4), 100.0), np.ones((10, 4)), alloc, grid, strategy="mystrat")
    text = str(info.value)
    assert "'mystrat'" in text and "order 7" in text and grid.labels[5] in text and "renormalised" in text


def test_unchecked_zero_allocations_give_the_twins_nan_prices():
    grid = scenario_grid(3)
    alloc = np.full((2, 3, len(grid)), 1 / 3)
    alloc[1, :, :4] = 0.0
    prices, volumes = np.full((2, 3), 50.0), np.ones((2, 3))
    fast = replay(prices, volumes, alloc, grid, check=False)
    slow = replay(prices, volumes, alloc, grid, check=False, backend="numpy")
    assert np.isnan(fast.achieved[1, :4]).all() and np.isfinite(fast.achieved[0]).all()
    for metric in METRICS:
        np.testing.assert_array_equal(getattr(fast, metric), getattr(slow, metric), err_msg=metric)


def test_a_subnormal_price_equals_the_twin():
    # 1/p overflows to inf; a quantity target never uses 1/p (the old kernel multiplied it by 0: NaN)
    grid = scenario_grid(2, sides=("buy",), max_participation=0.5)
    prices, volumes = np.array([[1e-309, 1.0]]), np.ones((1, 2))
    alloc = np.full((1, 2, len(grid)), 0.5)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        slow = replay(prices, volumes, alloc, grid, order_qty=np.array([2.0]), order_notional=np.array([2.0]),
                      backend="numpy")
    fast = replay(prices, volumes, alloc, grid, order_qty=np.array([2.0]), order_notional=np.array([2.0]))
    quantity = ~grid.arrays()["is_notional"]
    assert np.isfinite(fast.achieved[0, quantity]).all()
    for metric in ("achieved", "benchmark", "executed", "max_participation", "end_bar", "violations"):
        np.testing.assert_array_equal(getattr(fast, metric), getattr(slow, metric), err_msg=metric)


def test_bad_shapes_and_prices_are_clear_errors():
    grid = scenario_grid(4)
    with pytest.raises(AllocationError, match="alloc has shape"):
        replay(np.full((2, 4), 1.0), np.ones((2, 4)), np.full((2, 4, 3), 0.25), grid)
    with pytest.raises(AllocationError, match="prices must be finite and positive"):
        replay(np.zeros((2, 4)), np.ones((2, 4)), np.full((2, 4, len(grid)), 0.25), grid)
    with pytest.raises(AllocationError, match="horizon"):
        replay(np.ones((2, 3)), np.ones((2, 3)), np.full((2, 3, len(grid)), 1 / 3), grid)


def test_threaded_kernel_equals_twin_on_many_orders():
    rng = np.random.default_rng(7)
    grid = scenario_grid(6, max_participation=0.1)
    n = 9000  # above the threading threshold: rows are split across worker threads
    prices, volumes = random_market(rng, n, 6, zero_volume_share=0.1)
    alloc = random_allocations(rng, n, 6, len(grid))
    qty = rng.gamma(1.0, 1.0, n)
    fast = replay(prices, volumes, alloc, grid, order_qty=qty, order_notional=qty * 100)
    slow = replay(prices, volumes, alloc, grid, order_qty=qty, order_notional=qty * 100, backend="numpy")
    for metric in METRICS:
        np.testing.assert_allclose(getattr(fast, metric), getattr(slow, metric), rtol=1e-12, atol=1e-9,
                                   equal_nan=True, err_msg=metric)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300), reps=st.integers(1, 20), width=st.integers(0, 400))
def test_resampled_sums_kernel_equals_numpy_twin(seed, n, reps, width):
    from execbench.engine.resample import resampled_sums, resampled_sums_numpy

    rng = np.random.default_rng(seed)
    values = rng.normal(0, 10, n)
    indices = rng.integers(0, n, (reps, width))
    np.testing.assert_allclose(resampled_sums(values, indices), resampled_sums_numpy(values, indices),
                               rtol=1e-12, atol=1e-9)
    with pytest.raises(IndexError, match="positions must lie"):
        resampled_sums(values, np.array([[n]]))



@given(seed=st.integers(0, 2**32 - 1), n_dates=st.integers(1, 60), per_date=st.integers(1, 4),
       reps=st.integers(1, 12), width=st.integers(0, 80), nan_share=st.sampled_from([0.0, 0.3, 1.0]),
       decimals=st.sampled_from([None, 0]))
def test_resampled_medians_kernel_equals_numpy_twin(seed, n_dates, per_date, reps, width, nan_share, decimals):
    """Dates holding several orders (or one), NaN values, tied values, empty resamples."""
    from execbench.engine.resample import index_runs, resampled_medians, resampled_medians_numpy

    rng = np.random.default_rng(seed)
    date_of = np.sort(rng.integers(0, n_dates, n_dates * per_date))
    values = rng.normal(0, 10, date_of.size)
    values = values if decimals is None else np.round(values, decimals)  # ties
    values[rng.random(date_of.size) < nan_share] = np.nan
    indices = rng.integers(0, n_dates, (reps, width))
    np.testing.assert_array_equal(resampled_medians(values, date_of, n_dates, index_runs(indices)),
                                  resampled_medians_numpy(values, date_of, n_dates, indices))
    with pytest.raises(IndexError, match="positions must lie"):
        resampled_medians(values, date_of, n_dates, index_runs(np.array([[n_dates]])))


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300), reps=st.integers(1, 20), block=st.integers(1, 60),
       scattered=st.booleans())
def test_run_sums_equal_index_sums_up_to_rounding(seed, n, reps, block, scattered):
    """Sums over a block bootstrap's rows, read as runs of consecutive positions (differences of running
    sums), equal the sums over the positions themselves up to rounding: at most about 2·runs·ε·Σ|values|."""
    from execbench.analysis.inference import bootstrap_indices
    from execbench.engine.resample import index_runs, resampled_run_sums, resampled_sums

    rng = np.random.default_rng(seed)
    values = rng.normal(0, 10, n) * 10.0 ** rng.integers(-4, 4, n)  # magnitudes that make the order matter
    indices = rng.integers(0, n, (reps, n)) if scattered else bootstrap_indices(n, block, reps, seed=seed % 1000)
    runs = index_runs(indices)
    np.testing.assert_array_equal(np.concatenate([np.arange(a, a + k) for a, k in zip(runs.start, runs.length)]),
                                  indices.ravel())
    bound = 4 * n * np.finfo(float).eps * np.abs(values).sum()
    np.testing.assert_allclose(resampled_run_sums(values, runs), resampled_sums(values, indices), rtol=0, atol=bound)
    empty = index_runs(np.zeros((reps, 0), dtype=np.int64))
    np.testing.assert_array_equal(resampled_run_sums(values, empty), np.zeros(reps))
    with pytest.raises(ValueError, match="must be finite"):
        resampled_run_sums(np.where(np.arange(n) == 0, np.nan, values), runs)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 200), reps=st.integers(0, 12), k=st.integers(1, 9),
       block=st.integers(1, 40), scattered=st.booleans())
def test_run_sums_kernel_equals_numpy_twin(seed, n, reps, k, block, scattered):
    from execbench.analysis.inference import bootstrap_runs
    from execbench.engine.resample import index_runs, resampled_run_sums_columns, resampled_run_sums_numpy

    rng = np.random.default_rng(seed)
    values = rng.normal(0, 10, (n, k)) * 10.0 ** rng.integers(-8, 8, (n, k))
    runs = index_runs(rng.integers(0, n, (reps, n))) if scattered else bootstrap_runs(n, block, reps, seed=seed % 1000)
    together = resampled_run_sums_columns(values, runs)
    assert together.shape == (reps, k)
    np.testing.assert_array_equal(together, resampled_run_sums_numpy(values, runs))
    for c in range(k):  # a column's sums do not depend on the other columns
        np.testing.assert_array_equal(together[:, c], resampled_run_sums_columns(values[:, c:c + 1], runs)[:, 0])


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 200), block=st.floats(1.0, 50.0))
def test_stationary_runs_kernel_equals_numpy_twin(seed, n, block):
    """The runs written straight from the draws are ``index_runs`` of the positions the rule gives,
    wrap-around and blocks that happen to continue the previous one included."""
    from execbench.engine.resample import stationary_runs, stationary_runs_numpy

    rng = np.random.default_rng(seed)
    starts, u = rng.integers(max(n, 1), size=n, dtype=np.int64), rng.random(n)
    start, length = np.full(max(n, 1), -1, dtype=np.int64), np.full(max(n, 1), -1, dtype=np.int64)
    count = stationary_runs(starts, u, 1.0 / block, start, length)
    expected_start, expected_length = stationary_runs_numpy(starts, u, 1.0 / block)
    np.testing.assert_array_equal(start[:count], expected_start)
    np.testing.assert_array_equal(length[:count], expected_length)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 200), block=st.floats(1.0, 50.0))
def test_stationary_sample_kernel_equals_numpy_twin(seed, n, block):
    from execbench.engine.resample import stationary_sample, stationary_sample_numpy

    rng = np.random.default_rng(seed)
    starts, u = rng.integers(max(n, 1), size=n, dtype=np.int64), rng.random(n)
    np.testing.assert_array_equal(stationary_sample(starts.copy(), u, 1.0 / block),
                                  stationary_sample_numpy(starts.copy(), u, 1.0 / block))




@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="fork: Linux and macOS")
def test_row_kernels_run_in_a_forked_child_after_the_parent_used_its_threads():
    """The thread pools are kept between calls; a forked child (a report's figure worker) must not inherit
    pools whose threads it does not have (its jobs would wait forever)."""
    import multiprocessing

    from execbench.threads import run_rows

    def add_one(values, start, stop, out):
        out[start:stop] = values[start:stop] + 1

    values = np.arange(10_000.0)
    run_rows(add_one, len(values), (values,), (np.empty_like(values),), min_rows=10)  # the parent's pool exists
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        assert pool.apply_async(_row_sum_in_child, ()).get(timeout=60) == float(np.arange(10_000.0).sum() + 10_000)


def _row_sum_in_child() -> float:
    from execbench.threads import run_rows

    values = np.arange(10_000.0)
    out = np.empty_like(values)

    def add_one(values, start, stop, out):
        out[start:stop] = values[start:stop] + 1

    run_rows(add_one, len(values), (values,), (out,), min_rows=10)
    return float(out.sum())
