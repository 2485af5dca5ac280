"""``scenario_table`` summarises blocks of scenarios at once, and quantiles come from sorted values; every
number equals, bit for bit, the statistics of each scenario's column on its own as the table first computed
them (``np.percentile`` of the column), in memory and on disk, with undefined benchmarks, across blocks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import execbench.analysis.tables as tables
from execbench.analysis.stats import PAPER_COLUMNS, percentiles, summarize
from execbench.contracts import hit_rate, perf_bps, scenario_grid
from execbench.engine.replay.columns import Columns
from execbench.results import ReplayResult


def column_by_column(result: ReplayResult) -> pd.DataFrame:
    """The table as it was computed before blocks: one scenario's columns at a time."""
    rows = []
    for s, spec in enumerate(result.grid.specs):
        bps = result.column("bps", spec.label)
        ok = np.isfinite(bps)
        perf = perf_bps(bps[:, None], result.grid.side_sign[s:s + 1])[ok, 0]
        rows.append({
            "scenario": spec.label, "side": spec.side, "benchmark": spec.benchmark, "target": spec.target,
            "min_period": spec.min_period, "match": spec.match,
            **paper_statistics(bps),
            "perf_bps_mean": float(perf.mean()) if perf.size else np.nan,
            "hit_rate": hit_rate(perf),
            "mean_end_bar": float(result.column("end_bar", spec.label)[ok].mean()) if perf.size else np.nan,
            "violation_share": float((result.column("violations", spec.label) > 0).mean()),
            "max_participation_p95": float(np.percentile(result.column("max_participation", spec.label), 95)),
            "undefined_benchmark": int((~ok).sum()),
        })
    return pd.DataFrame(rows)


def paper_statistics(values: np.ndarray) -> dict:
    """``summarize`` as it was written first: ``np.percentile`` of the finite values themselves."""
    x = values[np.isfinite(values)]
    if not x.size:
        return {"bps_N": 0, **{f"bps_{c}": np.nan for c in PAPER_COLUMNS[1:]}}
    p5, q25, median, q75, p95 = np.percentile(x, [5, 25, 50, 75, 95])
    return {"bps_N": int(x.size), "bps_Mean": float(x.mean()), "bps_Std": float(x.std(ddof=1)) if x.size > 1 else np.nan,
            "bps_Median": float(median), "bps_P5": float(p5), "bps_P95": float(p95), "bps_Q25": float(q25),
            "bps_Q75": float(q75)}


def as_columns(array: np.ndarray) -> Columns:
    return Columns(array.shape, array.dtype, lambda s, start, stop: array[start:stop, s].copy())


def make_result(rng: np.random.Generator, n: int, horizon: int, undefined: float = 0.0,
                on_disk: bool = False) -> ReplayResult:
    grid = scenario_grid(horizon)
    shape = (n, len(grid))
    benchmark = 100.0 * np.exp(rng.normal(0.0, 0.01, shape))
    achieved = benchmark * (1.0 + rng.standard_t(3, shape) * 1e-3)  # heavy tails, as slippage has
    benchmark[rng.random(shape) < undefined] = np.nan  # no volume in the window
    fields = {"achieved": achieved, "benchmark": benchmark, "executed": np.ones(shape),
              "max_participation": rng.random(shape), "end_bar": rng.integers(1, horizon + 1, shape).astype(np.int32),
              "violations": (rng.random(shape) < 0.1).astype(np.int32)}
    if on_disk:
        fields = {k: as_columns(v) for k, v in fields.items()}
    orders = pd.DataFrame({"asset": ["X"] * n, "origin": pd.date_range("2024-01-01", periods=n, freq="15min", tz="UTC")})
    return ReplayResult(grid=grid, orders=orders, **fields)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40), undefined=st.sampled_from([0.0, 0.05, 1.0]),
       block_scenarios=st.integers(1, 30), on_disk=st.booleans())
def test_blocks_equal_column_by_column(seed, n, undefined, block_scenarios, on_disk):
    result = make_result(np.random.default_rng(seed), n, 2, undefined, on_disk)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tables, "SCENARIO_BLOCK_BYTES", 8 * n * block_scenarios)
        table = tables.scenario_table(result)
    pd.testing.assert_frame_equal(table, column_by_column(result), check_exact=True)


@pytest.mark.parametrize("n", [8191, 8193, 29077])
def test_blocks_equal_column_by_column_past_numpys_summation_blocks(n):
    """Past 8192 orders NumPy sums in blocks (pairwise within each): a row of a 2-D array still adds as
    the 1-D column does, a reduction over the first axis would not."""
    result = make_result(np.random.default_rng(n), n, 3, undefined=0.0)
    result.benchmark[5, 7] = np.nan  # one scenario with an undefined benchmark: summarised on its own
    table = tables.scenario_table(result)
    pd.testing.assert_frame_equal(table, column_by_column(result), check_exact=True)
    assert table["undefined_benchmark"].tolist() == [int(s == 7) for s in range(len(result.grid))]


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_a_result_with_an_array_of_special_values():
    """Infinite bps (a zero benchmark) and NaN participation go the way ``summarize`` sends them."""
    result = make_result(np.random.default_rng(0), 50, 2)
    result.benchmark[:3, 0] = 0.0
    result.max_participation[4, 1] = np.nan
    pd.testing.assert_frame_equal(tables.scenario_table(result), column_by_column(result), check_exact=True)


@given(values=hnp.arrays(np.float64, st.integers(2, 300), elements=st.floats(-1e6, 1e6, width=64)))
@settings(max_examples=60, deadline=None)
def test_row_reductions_add_as_the_column_does(values):
    """The property the blocks rely on: a contiguous row of a 2-D array reduces as that 1-D array."""
    rows = np.ascontiguousarray(np.stack([values, values[::-1], values * 3.0]))
    for i, row in enumerate(rows):
        assert rows.mean(axis=1)[i] == row.mean() and rows.std(axis=1, ddof=1)[i] == row.std(ddof=1)
        np.testing.assert_array_equal(np.percentile(rows, [5, 50, 95], axis=1)[:, i], np.percentile(row, [5, 50, 95]))


@given(values=hnp.arrays(np.float64, st.integers(1, 200), elements=st.floats(allow_nan=True, allow_infinity=True,
                                                                            width=64)),
       q=st.lists(st.floats(0, 100), min_size=1, max_size=6))
@settings(max_examples=100, deadline=None)
def test_percentiles_of_sorted_values_are_numpys(values, q):
    """With ties, infinities and NaN (NumPy's NaN result) alike; and ``summarize`` as first written."""
    with np.errstate(invalid="ignore"):
        expected = np.percentile(values, q)
        np.testing.assert_array_equal(percentiles(values, q), expected)
        rows = np.stack([values, values[::-1]])
        np.testing.assert_array_equal(percentiles(rows, q, axis=1), np.percentile(rows, q, axis=1))
    with np.errstate(all="ignore"):  # a std of values near the float64 limit overflows, either way
        summary, first = summarize(values), paper_statistics(values)
    np.testing.assert_equal({f"bps_{k}": v for k, v in summary.items()}, first)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40), undefined=st.sampled_from([0.0, 0.05, 1.0]))
def test_paper_and_min_period_tables_read_from_the_scenario_table_are_the_same(seed, n, undefined):
    """With the scenario table computed, the paper and minimum-period tables read their numbers from it
    instead of summarising (sorting) the columns again: the same tables, bit for bit."""
    rng = np.random.default_rng(seed)
    result, baseline = make_result(rng, n, 3, undefined), make_result(rng, n, 3, undefined)
    scenarios = tables.scenario_table(result)
    for target in ("quantity", "notional"):
        pd.testing.assert_frame_equal(
            tables.paper_table(result, baseline, strategy="X", target=target, scenarios=scenarios),
            tables.paper_table(result, baseline, strategy="X", target=target), check_exact=True)
    for stat in PAPER_COLUMNS:
        pd.testing.assert_frame_equal(tables.min_period_table(result, stat=stat, scenarios=scenarios),
                                      tables.min_period_table(result, stat=stat), check_exact=True)


def test_an_unknown_statistic_is_refused_with_or_without_the_scenario_table():
    result = make_result(np.random.default_rng(1), 5, 2)
    for scenarios in (None, tables.scenario_table(result)):
        with pytest.raises(ValueError, match="statistic 'Mode'"):
            tables.min_period_table(result, stat="Mode", scenarios=scenarios)


def test_a_scenario_table_of_another_result_is_refused():
    rng = np.random.default_rng(2)
    result, other = make_result(rng, 6, 2), make_result(rng, 7, 2)
    for wrong in (tables.scenario_table(other), tables.scenario_table(result).iloc[1:],
                  tables.scenario_table(result).drop(columns="bps_Median")):
        with pytest.raises(ValueError, match="scenario_table"):
            tables.paper_table(result, result, strategy="X", scenarios=wrong)
        with pytest.raises(ValueError, match="scenario_table"):
            tables.min_period_table(result, scenarios=wrong)
