"""Block-bootstrap confidence intervals, paired tests and the multiple-comparison adjustment."""

from __future__ import annotations

import numpy as np
import pytest

from execbench.analysis.inference import (
    DateBlocks,
    block_length,
    bootstrap_ci,
    bootstrap_indices,
    data_block_length,
    hac_se,
    holm,
    mean_inference,
    median_interval,
    non_overlapping,
    paired_comparison,
)


def overlapping_window_means(rng, n, horizon, mu):
    """Like slippages of overlapping orders: each value averages T consecutive shocks."""
    shocks = rng.normal(0.0, 1.0, n + horizon - 1)
    return mu + np.convolve(shocks, np.ones(horizon) / np.sqrt(horizon), mode="valid")


def coverage(block, reps=120, n=1500, horizon=12, mu=0.7):
    rng = np.random.default_rng(11)
    hits = 0
    for k in range(reps):
        x = overlapping_window_means(rng, n, horizon, mu)
        ci = bootstrap_ci(x, bootstrap_indices(n, block, reps=200, seed=k), "mean")
        hits += ci.low <= mu <= ci.high
    return hits / reps


def test_block_bootstrap_covers_the_true_mean_where_iid_does_not():
    horizon = 12
    good = coverage(block_length(horizon))
    naive = coverage(1)
    assert 0.85 <= good <= 0.995, good
    assert naive < 0.6, naive  # ignoring the overlap makes the interval far too narrow


def test_median_interval_and_nan_handling():
    rng = np.random.default_rng(0)
    x = rng.standard_t(4, 3000) + 2.0
    idx = bootstrap_indices(x.size, 10, reps=300, seed=1)
    ci = bootstrap_ci(x, idx, "median")
    assert ci.low < 2.0 < ci.high and ci.low < ci.estimate < ci.high
    x[::7] = np.nan
    assert np.isfinite(bootstrap_ci(x, idx, "mean").estimate)
    with pytest.raises(ValueError, match="statistic"):
        bootstrap_ci(x, idx, "mode")


def test_paired_comparison_of_identical_strategies_finds_no_difference():
    rng = np.random.default_rng(2)
    a = rng.normal(size=2400)
    blocks = DateBlocks.from_dates(np.arange(a.size), 12, reps=200)
    same = paired_comparison(a, a + 1e-12, blocks)  # rounding noise only
    assert same.mean.estimate == 0.0 and same.mean.low == 0.0 == same.mean.high
    assert same.p_value == 1.0 and same.n_orders == 2400 and same.n_dates == 2400
    better = paired_comparison(a + 0.5, a + rng.normal(0, 0.5, a.size), blocks)
    assert better.mean.low > 0 and better.p_value < 1e-6


def test_the_test_agrees_with_the_interval():
    """The p-value tests the mean the CI is about: a small mean difference with a heavy-tailed, skewed
    spread (median far from the mean) is neither in the CI nor rejected; the old rank test said p < 1e-10."""
    rng = np.random.default_rng(4)
    diff = overlapping_window_means(rng, 6000, 12, 0.0) + rng.exponential(1.0, 6000) - 1.0  # mean 0, median < 0
    blocks = DateBlocks.from_dates(np.arange(diff.size), 12, reps=300)
    test = paired_comparison(diff, np.zeros_like(diff), blocks)
    inside = test.mean.low <= 0.0 <= test.mean.high
    assert inside == (test.p_value >= 0.05) or abs(test.p_value - 0.05) < 0.02
    assert 0.5 < test.se_boot / test.se_hac < 2.0


def clustered_window_means(rng, n, horizon, mu, persistence=0.98, scale=0.1):
    """Overlapping-window slippages on a slow regime z (AR(1), mean 0) that moves both the level and
    the volatility: an edge that is larger in volatile weeks, as flex − TWAP's is."""
    from scipy.signal import lfilter

    regime = lfilter([1.0], [1.0, -persistence], rng.normal(0.0, scale, n + 500))[500:]
    noise = np.convolve(rng.normal(0.0, 1.0, n + horizon - 1), np.ones(horizon) / np.sqrt(horizon), mode="valid")
    return mu + regime + np.exp(regime / 2) * noise


def test_data_driven_blocks_cover_under_volatility_clustering():
    """With a persistent regime the 2·T floor is too short (measured: 77 % coverage of a 95 % CI);
    the data-driven block length (median 68 dates here) does better (87 %)."""
    hits_data = hits_floor = 0
    reps, n, horizon, mu = 60, 3000, 12, 0.5
    rng = np.random.default_rng(21)
    for k in range(reps):
        x = clustered_window_means(rng, n, horizon, mu)
        blocks = DateBlocks.from_dates(np.arange(n), horizon, reps=200, seed=k)
        ci = mean_inference(x, blocks).mean
        floor_ci = bootstrap_ci(x, blocks.indices(blocks.floor), "mean")
        hits_data += ci.low <= mu <= ci.high
        hits_floor += floor_ci.low <= mu <= floor_ci.high
    assert hits_data / reps >= 0.8, hits_data / reps
    assert hits_floor <= hits_data - 5, (hits_floor, hits_data)


def test_a_universe_is_resampled_by_dates_across_assets():
    """30 assets sharing a common shock per date: the information is in the dates, not in 30× the
    orders.  Resampling dates covers the true mean; treating the orders as independent does not."""
    rng = np.random.default_rng(8)
    n_dates, n_assets, horizon, mu = 400, 30, 12, 0.3
    hits = naive_hits = 0
    reps = 40
    for k in range(reps):
        common = overlapping_window_means(rng, n_dates, horizon, 0.0)
        values = mu + np.repeat(common, n_assets) + rng.normal(0.0, 0.3, n_dates * n_assets)
        dates = np.repeat(np.arange(n_dates), n_assets)
        ci = mean_inference(values, DateBlocks.from_dates(dates, horizon, reps=200, seed=k)).mean
        naive = bootstrap_ci(values, bootstrap_indices(values.size, 1, reps=200, seed=k), "mean")
        hits += ci.low <= mu <= ci.high
        naive_hits += naive.low <= mu <= naive.high
    assert hits / reps >= 0.8 and naive_hits / reps < 0.6, (hits, naive_hits)
    blocks = DateBlocks.from_dates(np.repeat(np.arange(5), 3)[::-1], 2)  # dates out of order, three per date
    np.testing.assert_array_equal(blocks.counts, [3, 3, 3, 3, 3])
    np.testing.assert_array_equal(blocks.orders_of(np.array([4, 0, 4])), [12, 13, 14, 0, 1, 2, 12, 13, 14])
    median = median_interval(np.arange(15.0), blocks, 2)
    assert median.low <= median.estimate <= median.high


def test_hac_standard_error_matches_statsmodels():
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    x = overlapping_window_means(rng, 2000, 12, 0.2)
    fit = sm.OLS(x, np.ones_like(x)).fit(cov_type="HAC", cov_kwds={"maxlags": 30, "use_correction": False})
    assert hac_se(x, 30) == pytest.approx(float(fit.bse[0]), rel=1e-6)
    assert data_block_length(x, 24) >= 24
    # long lags take the FFT path (blocks reach a quarter of the dates)
    x = overlapping_window_means(rng, 5000, 12, 0.2)
    fit = sm.OLS(x, np.ones_like(x)).fit(cov_type="HAC", cov_kwds={"maxlags": 900, "use_correction": False})
    assert hac_se(x, 900) == pytest.approx(float(fit.bse[0]), rel=1e-9)


@pytest.mark.parametrize("n, lag", [(50, 49), (3000, 100), (4097, 2000)])
def test_fft_autocovariances_equal_the_direct_sums(n, lag):
    from execbench.analysis.inference import autocovariances

    e = np.random.default_rng(n).normal(size=n)
    e -= e.mean()
    direct = np.array([e @ e] + [e[k:] @ e[:-k] for k in range(1, lag + 1)]) / n
    np.testing.assert_allclose(autocovariances(e, lag), direct, rtol=0, atol=1e-12)


def test_non_overlapping_orders_per_asset():
    keys = np.array(["A"] * 30 + ["B"] * 10)
    np.testing.assert_array_equal(non_overlapping(keys, 12), [0, 12, 24, 30])


def test_the_cache_of_resamples_keeps_to_its_budget(monkeypatch):
    from execbench.analysis import inference
    from execbench.engine.resample import index_runs

    monkeypatch.setattr(inference, "RUNS_CACHE_BYTES", 200_000)
    monkeypatch.setattr(inference, "_RUNS_CACHE", inference.OrderedDict())
    drawn = {block: inference.bootstrap_runs(3000, block, reps=20, seed=7) for block in (4, 8, 16, 32, 4)}
    held = sum(a.nbytes for r in inference._RUNS_CACHE.values() for a in r)
    assert held <= 200_000 or len(inference._RUNS_CACHE) == 1
    assert list(inference._RUNS_CACHE)[-1] == (3000, 4, 20, 7)  # the latest use is the last out
    for block, runs in drawn.items():
        for got, want in zip(runs, index_runs(inference.bootstrap_indices(3000, block, reps=20, seed=7)), strict=True):
            np.testing.assert_array_equal(got, want)
        assert not runs.start.flags.writeable


def test_resamples_are_read_back_from_the_user_cache_as_drawn(monkeypatch, tmp_path):
    """A set of resamples drawn once is kept in the user cache (int32 on disk) and read back by a later
    process (here: an emptied in-memory cache, the draw forbidden) as the same read-only int64 runs; an
    unreadable entry is drawn again, and nothing is written with the cache off."""
    from execbench.analysis import inference

    monkeypatch.setenv("EXECBENCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(inference, "_RUNS_CACHE", inference.OrderedDict())
    drawn = inference.bootstrap_runs(2000, 16, reps=30, seed=3)
    (entry,) = (tmp_path / "bootstrap").glob("*.npz")
    with np.load(entry) as saved:
        assert {saved[name].dtype for name in saved.files} == {np.dtype(np.int32)}
    draw = inference._draw_runs
    monkeypatch.setattr(inference, "_draw_runs", lambda *args: pytest.fail("drawn again, not read back"))
    inference._RUNS_CACHE.clear()
    read = inference.bootstrap_runs(2000, 16, reps=30, seed=3)
    for got, want in zip(read, drawn, strict=True):
        assert got.dtype == np.int64 and not got.flags.writeable
        np.testing.assert_array_equal(got, want)
    entry.write_bytes(b"not an npz")
    monkeypatch.setattr(inference, "_draw_runs", draw)
    inference._RUNS_CACHE.clear()
    for got, want in zip(inference.bootstrap_runs(2000, 16, reps=30, seed=3), drawn, strict=True):
        np.testing.assert_array_equal(got, want)
    monkeypatch.setenv("EXECBENCH_CACHE_DIR", "off")
    inference._RUNS_CACHE.clear()
    inference.bootstrap_runs(2000, 8, reps=30, seed=3)
    assert len(list((tmp_path / "bootstrap").glob("*.npz"))) == 1


def test_the_user_cache_of_resamples_keeps_to_its_budget_least_recently_used_out_first(monkeypatch, tmp_path):
    """Every edit of the package keys new entries, so the folder is trimmed after each write: the least
    recently used entries (a read counts as a use) go first, and the one just written stays."""
    import os

    from execbench.analysis import inference

    monkeypatch.setenv("EXECBENCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(inference, "_RUNS_CACHE", inference.OrderedDict())
    folder = tmp_path / "bootstrap"
    entries = []
    for seed in (1, 2, 3):
        inference.bootstrap_runs(2000, 8, reps=30, seed=seed)
        (entry,) = set(folder.glob("*.npz")) - set(entries)
        os.utime(entry, (1000.0 + seed, 1000.0 + seed))  # used in seed order: 1 the longest ago
        entries.append(entry)
    monkeypatch.setattr(inference, "RUNS_DISK_BYTES", int(2.5 * entries[0].stat().st_size))
    draw = inference._draw_runs
    monkeypatch.setattr(inference, "_draw_runs", lambda *args: pytest.fail("drawn again, not read back"))
    inference._RUNS_CACHE.clear()
    inference.bootstrap_runs(2000, 8, reps=30, seed=1)  # read back: now the most recently used
    monkeypatch.setattr(inference, "_draw_runs", draw)
    inference.bootstrap_runs(2000, 8, reps=30, seed=4)  # written: seeds 2 and 3 go
    kept = set(folder.glob("*.npz"))
    assert entries[0] in kept and not {entries[1], entries[2]} & kept and len(kept) == 2
    assert sum(p.stat().st_size for p in kept) <= inference.RUNS_DISK_BYTES


def test_bootstrap_runs_without_dates_or_resamples_are_empty():
    from execbench.analysis.inference import bootstrap_indices, bootstrap_runs
    from execbench.engine.resample import index_runs

    for n, reps in ((0, 3), (5, 0), (0, 0)):
        for got, want in zip(bootstrap_runs(n, 4, reps=reps), index_runs(bootstrap_indices(n, 4, reps=reps)),
                             strict=True):
            np.testing.assert_array_equal(got, want)


def test_holm_adjustment():
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.5]), [0.04, 0.09, 0.09, 0.5])
    np.testing.assert_allclose(holm(np.array([0.9, 0.8])), [1.0, 1.0])  # capped at 1
    assert holm([]).size == 0


@pytest.mark.parametrize("n, block, seed", [(1, 1, 0), (7, 3, 1), (500, 24, 2), (3000, 272, 3), (1000, 1000, 4),
                                            (50, 2, 5)])
def test_bootstrap_indices_and_block_lengths_are_archs(n, block, seed):
    """The stationary bootstrap and Politis–White run here (importing arch costs seconds per process);
    they are arch's exactly."""
    from arch.bootstrap import StationaryBootstrap
    from arch.bootstrap import optimal_block_length as arch_length

    from execbench.analysis.inference import bootstrap_indices, bootstrap_runs, optimal_block_length
    from execbench.engine.resample import index_runs

    bootstrap = StationaryBootstrap(block, np.arange(n), seed=np.random.default_rng(seed))
    expected = np.array([bootstrap.index.copy() for _ in bootstrap.bootstrap(5)])
    np.testing.assert_array_equal(bootstrap_indices(n, block, reps=5, seed=seed), expected)
    for got, want in zip(bootstrap_runs(n, block, reps=5, seed=seed), index_runs(expected), strict=True):
        np.testing.assert_array_equal(got, want)  # the runs, drawn without the positions, are arch's too
    if n >= 8:
        rng = np.random.default_rng(seed)
        for x in (rng.normal(size=n), np.cumsum(rng.normal(size=n)) * 0.1 + rng.normal(size=n)):  # white, persistent
            assert optimal_block_length(x) == float(arch_length(x)["stationary"].iloc[0])


def test_series_read_lazily_in_batches_infer_the_same_to_the_last_bit(monkeypatch):
    import execbench.analysis.inference as inference

    rng = np.random.default_rng(3)
    dates = np.repeat(np.arange(300), 4)
    blocks = DateBlocks.from_dates(dates, 12, reps=100, seed=1)
    series = [overlapping_window_means(rng, dates.size, 12, mu) for mu in (0.0, 0.2, 0.5, 0.1)]
    series[1][::7] = np.nan  # missing values resample their own counts
    whole = inference.mean_inferences(series, blocks)
    monkeypatch.setattr(inference, "SERIES_BATCH_BYTES", 5000)  # two series per batch (2 × 2 × 300 × 8 bytes)
    read = []
    lazy = inference.mean_inferences([lambda x=x: read.append(1) or x for x in series], blocks)
    assert lazy == whole and len(read) == len(series)
    assert whole[1] == mean_inference(series[1], blocks)


def test_the_two_sided_normal_p_value_is_scipys_into_the_far_tail():
    from scipy.stats import norm

    from execbench.analysis.inference import two_sided_normal_p

    for z in np.r_[0.0, np.linspace(1e-6, 8.0, 2001), 12.0, 20.0, 30.0, 37.0, -2.5, -40.0, np.inf, np.nan]:
        expected = 2.0 * norm.sf(abs(z))
        assert two_sided_normal_p(z) == pytest.approx(expected, rel=1e-12, abs=0.0, nan_ok=True), z
