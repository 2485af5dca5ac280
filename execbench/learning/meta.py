"""The regime-aware meta-strategy's selector: which candidate strategy to run for each order and
contract, from causal features at the order's origin.

**Features** (``origin_features``; everything before the origin, nothing after):

* ``log_vol``: log realised volatility of the last day of bars (the ``window`` of the regime labels,
  ``execbench.orders.regimes``), standardised by the training orders' moments;
* ``vol_trend``: log of that volatility over the volatility of the whole lookback (half a day to
  two days of bars: rising or falling volatility, the regime's second ingredient);
* ``volume_surprise``: log of the last bar's volume over the lookback's mean volume;
* ``tod_sin``, ``tod_cos``: time of day of the origin (intraday bars); ``weekend`` (Saturday or
  Sunday, for crypto) or the day of week's position (daily bars);
* the contract's family enters as the key of the model: one regression per scenario.

**Model**: a per-strategy score regressor.  For each scenario and candidate, a ridge regression of
the order's perf_bps on the features; the selector runs, for each order and scenario, the candidate
with the highest predicted perf_bps.  Intercepts are not penalised, so a large penalty is the best
single strategy of the scenario on average, and the penalty is chosen on the validation orders
(``fit_selector``).  The coefficients are JSON, so the checkpoint is one small file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from execbench.errors import StrategyError
from execbench.learning.members import load_members
from execbench.strategy import Strategy
from execbench.strategy.volume_profile import slot_of

FEATURES = ("log_vol", "vol_trend", "volume_surprise", "tod_sin", "tod_cos", "weekend")
ALPHAS = (0.1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5)  # ridge penalties tried, × the number of training orders
META_FILE = "meta.json"
DEFAULT_CANDIDATES = ("twap", "flex", "optstop", "ppo", "lem")


def _day_bars(freq: str) -> int:
    from execbench.orders.regimes import regime_windows

    return regime_windows(freq)[0]


def feature_lookback(freq: str) -> int:
    """History the features need: two regime windows (two days of intraday bars, 40 daily bars)."""
    return 2 * _day_bars(freq)


def origin_features(prices: np.ndarray, volumes: np.ndarray, times: np.ndarray, freq: str) -> np.ndarray:
    """Raw features (n, len(FEATURES)) from each order's history bars (n, lookback), oldest first, and
    the origin's open times (n,) datetime64 (see the module docstring; standardised by the selector)."""
    import pandas as pd

    from execbench.data.frequency import parse_freq

    day = _day_bars(freq)
    daily = parse_freq(freq) >= pd.Timedelta(days=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = np.diff(np.log(prices), axis=1)
        recent = np.nanstd(returns[:, -day:], axis=1)
        whole = np.nanstd(returns, axis=1)
        log_vol = np.log(recent)
        trend = np.log(recent / whole)
        level = np.nanmean(volumes, axis=1)
        surprise = np.log(volumes[:, -1] / level)
    slot = slot_of(times, "continuous")  # minute of the week, Monday 00:00 = 0
    minute, weekday = slot % (24 * 60), slot // (24 * 60)
    angle = 2 * np.pi * minute / (24 * 60)
    out = np.stack([log_vol, trend, surprise, np.where(daily, 0.0, np.sin(angle)), np.where(daily, 0.0, np.cos(angle)),
                    np.where(daily, weekday / 4.0, (weekday >= 5).astype(float))], axis=1)
    return np.where(np.isfinite(out), out, 0.0)


@dataclass(frozen=True, eq=False)
class MetaSelector:
    """Per scenario label, ridge coefficients (candidates, 1 + features) on standardised features."""

    candidates: tuple[str, ...]
    freq: str
    horizon: int
    coef: dict[str, np.ndarray]
    mean: np.ndarray
    std: np.ndarray
    alpha: float
    trained_on: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"MetaSelector({', '.join(self.candidates)}; {len(self.coef)} scenarios, T={self.horizon} {self.freq} bars, "
                f"alpha {self.alpha:g})")

    @property
    def lookback(self) -> int:
        return feature_lookback(self.freq)

    def predict(self, features: np.ndarray, labels: list[str]) -> np.ndarray:
        """Predicted perf_bps (n, scenarios, candidates) for raw features (n, F)."""
        missing = [label for label in labels if label not in self.coef]
        if missing:
            raise StrategyError(f"strategy 'meta': the selector was not trained on scenario {missing[0]!r}")
        x = np.concatenate([np.ones((len(features), 1)), (features - self.mean) / self.std], axis=1)
        return np.stack([x @ self.coef[label].T for label in labels], axis=1)

    def choose(self, features: np.ndarray, labels: list[str]) -> np.ndarray:
        """The chosen candidate's index for each order and scenario, (n, scenarios)."""
        return np.argmax(self.predict(features, labels), axis=2)

    def save(self, folder: str | Path, extra: dict | None = None) -> list[Path]:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        payload = {"model": "meta", "candidates": list(self.candidates), "freq": self.freq, "horizon": self.horizon,
                   "alpha": self.alpha,
                   "features": list(FEATURES), "mean": self.mean.tolist(), "std": self.std.tolist(),
                   "coef": {k: v.tolist() for k, v in self.coef.items()}, "trained_on": self.trained_on,
                   **(extra or {})}
        (folder / META_FILE).write_text(json.dumps(payload, indent=1, default=str) + "\n")
        return [folder / META_FILE]

    @classmethod
    def load(cls, folder: str | Path) -> "MetaSelector":
        path = Path(folder) / META_FILE
        if not path.is_file():
            raise StrategyError(f"meta checkpoint {folder}: expected {META_FILE} in it (execbench train meta writes one)")
        payload = json.loads(path.read_text())
        if payload.get("model") != "meta" or tuple(payload.get("features", ())) != FEATURES:
            raise StrategyError(f"meta checkpoint {path}: not a selector with features {', '.join(FEATURES)}")
        return cls(candidates=tuple(payload["candidates"]), freq=payload["freq"], horizon=int(payload["horizon"]),
                   alpha=float(payload["alpha"]),
                   coef={k: np.asarray(v) for k, v in payload["coef"].items()}, mean=np.asarray(payload["mean"]),
                   std=np.asarray(payload["std"]), trained_on=payload.get("trained_on", {}))


def _ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """Coefficients (outputs, 1 + F) of y (n, outputs) on [1, x]; the intercept is not penalised."""
    design = np.concatenate([np.ones((len(x), 1)), x], axis=1)
    penalty = alpha * np.eye(design.shape[1])
    penalty[0, 0] = 0.0
    return np.linalg.solve(design.T @ design + penalty, design.T @ y).T


def fit_selector(features: np.ndarray, perf: np.ndarray, labels: list[str], candidates: list[str], freq: str,
                 horizon: int, validation: np.ndarray, trained_on: dict | None = None) -> tuple[MetaSelector, dict[str, Any]]:
    """Fit the selector on per-order results of the candidates.

    Parameters
    ----------
    features
        ``origin_features`` of the orders, (n, F).
    perf
        Each candidate's perf_bps, (n, scenarios, candidates).
    labels, candidates
        Scenario labels (the columns of ``perf``) and candidate names.
    validation
        Boolean (n,): the validation orders.  Each penalty of ``ALPHAS`` is fitted on the others and
        scored by the mean perf_bps of its choices on these; the best is refitted on all orders.

    Returns
    -------
    The selector and a summary: the validation score of each penalty and of each candidate alone.
    """
    if not validation.any() or validation.all():
        raise StrategyError("meta: the selector needs orders in both the training and the validation period")
    mean, std = features[~validation].mean(axis=0), features[~validation].std(axis=0)
    std = np.where(std > 0, std, 1.0)
    x = (features - mean) / std
    n_train = int((~validation).sum())

    def fitted(rows, alpha):
        return {label: _ridge(x[rows], perf[rows, k, :], alpha * n_train) for k, label in enumerate(labels)}

    def chosen_perf(coef, rows):
        design = np.concatenate([np.ones((int(rows.sum()), 1)), x[rows]], axis=1)
        picks = np.stack([design @ coef[label].T for label in labels], axis=1).argmax(axis=2)
        return np.take_along_axis(perf[rows], picks[..., None], axis=2)[..., 0].mean()

    scores = {alpha: float(chosen_perf(fitted(~validation, alpha), validation)) for alpha in ALPHAS}
    best = max(scores, key=scores.get)
    selector = MetaSelector(candidates=tuple(candidates), freq=freq, horizon=int(horizon), coef=fitted(np.ones(len(x), bool), best),
                            mean=mean, std=std, alpha=best, trained_on=dict(trained_on or {}))
    summary = {"validation_by_alpha": scores, "alpha": best,
               "validation_by_candidate": {c: float(perf[validation, :, k].mean()) for k, c in enumerate(candidates)}}
    return selector, summary


def load_candidates(names: Sequence[str]) -> list[Strategy]:
    """The candidate strategies (``name`` or ``name:param=value``; ``execbench.learning.members``)."""
    return load_members(names, "meta", "candidate")
