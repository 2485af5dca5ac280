"""Training and reading the meta-strategy: the candidates' per-order results over the training and
validation orders (never the test period) → the selector (``execbench.learning.meta``); on the test
period, what it picked by regime and how it scored against each candidate and against the best single
candidate in hindsight."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from execbench.contracts import ScenarioGrid, scenario_grid
from execbench.errors import StrategyError
from execbench.learning.meta import MetaSelector, feature_lookback, fit_selector, origin_features
from execbench.orders import DateSplit, OrderWindows, build_order_windows, training_bars
from execbench.pipeline.evaluation import replay_strategy
from execbench.strategy import Strategy
from execbench.strategy.runner import fit_strategy

TRAIN_EVERY = 4  # every 4th origin of the training and validation periods (neighbours overlap anyway)


@dataclass(frozen=True, eq=False)
class MetaTraining:
    """A trained selector, its fitted candidates and ``fit_selector``'s validation summary."""

    selector: MetaSelector
    candidates: list[Strategy]
    summary: dict[str, Any]

    def __repr__(self) -> str:
        return f"MetaTraining({self.selector!r}, alpha {self.summary['alpha']:g})"


def candidate_perf(candidates: list[Strategy], windows: OrderWindows, grid: ScenarioGrid,
                   on_stage: Callable[[str], None] | None = None) -> np.ndarray:
    """Each (fitted) candidate's perf_bps on ``windows``, (n, scenarios, candidates)."""
    out = []
    for candidate in candidates:
        if on_stage:
            on_stage(f"replaying {candidate.name} on {len(windows):,} orders")
        out.append(replay_strategy(candidate, windows, grid).perf_bps)
    return np.stack(out, axis=2)


def window_features(windows: OrderWindows, freq: str) -> np.ndarray:
    """``origin_features`` of ``windows``' orders."""
    lookback = feature_lookback(freq)
    return origin_features(windows.history("prices", lookback), windows.history("volumes", lookback),
                           windows.origin_times(), freq)


def train_meta(bars: pd.DataFrame, split: DateSplit, candidates: list[Strategy], *, horizon: int = 12,
               every: int = TRAIN_EVERY, order_size: float = 0.01,
               on_stage: Callable[[str], None] | None = None) -> MetaTraining:
    """Fit the candidates on the training bars, replay them on every ``every``-th order whose whole window
    ends before the test start, and fit the selector (validation: orders from ``split.val_start``)."""
    if split.val_start is None:
        raise StrategyError("meta: training the selector needs a validation period (--val-start)")
    grid = scenario_grid(horizon)
    train = training_bars(bars, split.train_end)
    for candidate in candidates:
        if on_stage:
            on_stage(f"fitting {candidate.name} on bars before {split.train_end.date()}")
        fit_strategy(candidate, train)
    freq = str(bars.attrs.get("freq"))
    lookback = max([feature_lookback(freq)] + [c.lookback for c in candidates])
    windows = build_order_windows(bars, horizon, end=split.test_start, min_history=lookback, order_size=order_size)
    test_start = np.datetime64(split.test_start.tz_convert("UTC").tz_localize(None))
    whole = np.flatnonzero(windows.bar_times()[:, -1] < test_start)  # no window reaches into the test period
    windows = windows.subset(whole[::every])
    perf = candidate_perf(candidates, windows, grid, on_stage)
    validation = windows.origin_times() >= np.datetime64(split.val_start.tz_convert("UTC").tz_localize(None))
    trained_on = {"asset": bars.attrs.get("asset"), "freq": freq, "orders": len(windows), "every": every,
                  "validation_orders": int(validation.sum()), "test_start": str(split.test_start.date())}
    selector, summary = fit_selector(window_features(windows, freq), perf, [s.label for s in grid.specs],
                                     [c.name for c in candidates], freq, horizon, validation, trained_on)
    return MetaTraining(selector=selector, candidates=candidates, summary=summary)


def meta_breakdown(choice: np.ndarray, perf: np.ndarray, regimes: np.ndarray, grid: ScenarioGrid,
                   candidates: list[str], labels: list[str]) -> pd.DataFrame:
    """By scenario and regime: the share of orders given to each candidate, the meta-strategy's mean
    perf_bps (the chosen candidate's, order by order), each candidate's, and the best single candidate
    in hindsight (the one with the best mean on exactly those orders)."""
    rows = []
    for label in labels:
        k = grid.index(label)
        for regime in ["all"] + sorted(set(regimes.tolist())):
            mask = np.ones(len(regimes), bool) if regime == "all" else regimes == regime
            if not mask.any():
                continue
            picked = choice[mask, k]
            means = perf[mask, k, :].mean(axis=0)
            meta = np.take_along_axis(perf[mask, k, :], picked[:, None], axis=1)[:, 0].mean()
            best = int(np.argmax(means))
            row = {"scenario": label, "regime": regime, "N": int(mask.sum()), "meta perf_bps": meta}
            row.update({f"{c} perf_bps": means[i] for i, c in enumerate(candidates)})
            row.update({"best single": candidates[best], "meta − best": round(float(meta - means[best]), 9)})
            row.update({f"picks {c}": (picked == i).mean() for i, c in enumerate(candidates)})
            rows.append(row)
    return pd.DataFrame(rows)


def meta_test_breakdown(meta: Strategy, bars: pd.DataFrame, split: DateSplit, *, horizon: int = 12,
                        labels: list[str] | None = None, order_size: float = 0.01, fit: bool = True,
                        on_stage: Callable[[str], None] | None = None) -> pd.DataFrame:
    """``meta_breakdown`` on the test period: the candidates (fitted on the training bars unless
    ``fit=False``) replayed on the test orders, the selector's choices from the same orders' histories."""
    grid = scenario_grid(horizon)
    if fit:
        meta.fit(training_bars(bars, split.train_end))
    windows = build_order_windows(bars, horizon, start=split.test_start, end=split.test_end,
                                  min_history=meta.lookback, order_size=order_size)
    perf = candidate_perf(meta.candidates, windows, grid, on_stage)
    choice = meta.selector.choose(window_features(windows, meta.selector.freq), [s.label for s in grid.specs])
    labels = labels or [f"{side}-vwap-quantity-m{m}" for side in ("buy", "sell") for m in (1, horizon // 2)]
    return meta_breakdown(choice, perf, windows.regimes(), grid, [c.name for c in meta.candidates], labels)
