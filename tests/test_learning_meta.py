"""The meta-strategy: its selector never sees the test period, each order's score is the chosen
candidate's, it passes the audit, and its checkpoint round-trips."""

from __future__ import annotations

import numpy as np
import pytest

import execbench as eb
from execbench.errors import StrategyError
from execbench.learning.meta import MetaSelector, load_candidates
from execbench.pipeline.meta import candidate_perf, meta_test_breakdown, train_meta, window_features

T = 4
CANDIDATES = ("twap", "flex")


@pytest.fixture(scope="module")
def bars():
    bars = eb.load_bars("BTCUSDT")
    out = bars[(bars.index >= "2026-02-01") & (bars.index < "2026-04-15")]
    out.attrs = dict(bars.attrs)
    return out


@pytest.fixture(scope="module")
def split(bars):
    return eb.make_split(bars, test_start="2026-04-01", val_start="2026-03-10")


@pytest.fixture(scope="module")
def trained(bars, split):
    return train_meta(bars, split, load_candidates(CANDIDATES), horizon=T, every=2)


def test_selector_never_sees_the_test_period(bars, split, trained):
    changed = bars.copy()
    later = changed.index >= split.test_start
    changed.loc[later, "quote_volume"] *= 1.5  # test-period prices up 50 %
    changed.loc[later, "volume"] *= 0.7
    again = train_meta(changed, split, load_candidates(CANDIDATES), horizon=T, every=2)
    for label, coef in trained.selector.coef.items():
        np.testing.assert_array_equal(coef, again.selector.coef[label], err_msg=label)
    assert trained.selector.trained_on["validation_orders"] > 0
    assert trained.summary["alpha"] in trained.summary["validation_by_alpha"]


def test_meta_scores_the_chosen_candidate_and_passes_the_audit(bars, split, trained):
    from execbench.strategies.meta import MetaStrategy

    meta = MetaStrategy.from_selector(trained.selector, trained.candidates)
    ev = eb.evaluate(meta, bars, split=split, fit=False, horizon=T, audit_orders=8, option=False)
    assert ev.audit.passed
    windows = eb.build_order_windows(bars, T, start=split.test_start, min_history=meta.lookback)
    grid = eb.scenario_grid(T)
    perf = candidate_perf(trained.candidates, windows, grid)
    choice = trained.selector.choose(window_features(windows, "15m"), [s.label for s in grid.specs])
    assert len(windows) == ev.result.n_orders
    expected = np.take_along_axis(perf, choice[..., None], axis=2)[..., 0]
    np.testing.assert_allclose(ev.result.perf_bps, expected, atol=1e-9)
    table = meta_test_breakdown(meta, bars, split, horizon=T, fit=False)
    overall = table[table["regime"] == "all"]
    np.testing.assert_allclose(overall[[f"picks {c}" for c in CANDIDATES]].sum(axis=1), 1.0)
    best = overall[[f"{c} perf_bps" for c in CANDIDATES]].max(axis=1)
    np.testing.assert_allclose(overall["meta − best"], overall["meta perf_bps"] - best, atol=1e-8)
    first = grid.index(overall["scenario"].iloc[0])
    np.testing.assert_allclose(overall["meta perf_bps"].iloc[0], expected[:, first].mean())


def test_checkpoint_round_trip_and_errors(tmp_path, trained):
    from execbench.strategies.meta import MetaStrategy

    trained.selector.save(tmp_path / "m")
    meta = eb.load_strategy("meta", checkpoint=str(tmp_path / "m"))
    assert [c.name for c in meta.candidates] == list(CANDIDATES)
    assert isinstance(meta, MetaStrategy) and meta.unsupported(eb.scenario_grid(12).specs[0]) is not None
    with pytest.raises(StrategyError, match="expected meta.json"):
        MetaSelector.load(tmp_path)
    with pytest.raises(StrategyError, match="cannot be 'meta'"):
        load_candidates(("twap", "meta"))


def test_bundled_meta_loads():
    meta = eb.load_strategy("meta")
    assert meta.selector.trained_on["asset"] == "BTCUSDT" and len(meta.candidates) >= 2
    assert set(meta.selector.coef) == {s.label for s in eb.scenario_grid(12).specs}
