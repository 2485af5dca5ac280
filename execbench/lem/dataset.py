"""Training and validation samples for the LEM: causal feature sequences and each window's targets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from execbench.errors import StrategyError
from execbench.lem.features import ALIGNMENTS, lem_features
from execbench.orders import build_order_windows
from execbench.strategy import RealisedWindow, order_context


@dataclass(frozen=True, eq=False)
class LEMDataset:
    """Model inputs ``[features, rates]``, targets (normalised prices and volumes), the calendar and the
    number of samples drawn from each dataset."""

    inputs: list[np.ndarray]
    target: np.ndarray
    calendar: str
    counts: list[int]

    def __repr__(self) -> str:
        return f"LEMDataset({len(self.target):,} windows, {self.calendar} calendar, per dataset {self.counts})"


def lem_dataset(datasets: Sequence[pd.DataFrame], *, horizon: int, lookback: int, min_history: int, alignment: str,
                max_samples: int, batch_size: int, start=None, end=None, what: str = "training") -> LEMDataset:
    """Features, rates and targets for every origin in [start, end) of every dataset, evenly
    subsampled to at most ``max_samples`` in all (each dataset in proportion to its orders) and cut to
    whole batches (fixed shapes: JAX compiles once)."""
    windows = [build_order_windows(bars, horizon, start=start, end=end, min_history=min_history) for bars in datasets]
    total = sum(len(w) for w in windows)
    count = min(max_samples, total) // batch_size * batch_size
    if count == 0:
        raise StrategyError(f"strategy 'lem': {total} {what} orders, fewer than batch_size={batch_size}")
    calendars = {w.calendar for w in windows}
    if len(calendars) > 1:
        raise StrategyError(f"strategy 'lem': cannot train one model on mixed calendars {sorted(calendars)} "
                            "(intraday crypto and daily equity features differ)")
    shares = np.floor(np.array([len(w) for w in windows]) / total * count).astype(np.int64)
    shares[np.argmax(shares)] += count - shares.sum()
    parts, counts = [], []
    for w, share in zip(windows, shares, strict=True):
        if share == 0:
            counts.append(0)
            continue
        sample = w.subset(np.linspace(0, len(w) - 1, share).round().astype(np.int64))
        prices, volumes = sample.window("prices"), sample.window("volumes")
        features = lem_features(order_context(sample, min_history), RealisedWindow(prices, volumes), lookback,
                                lead=ALIGNMENTS[alignment])
        target = np.stack([prices / prices[:, :1], volumes / np.maximum(volumes.mean(axis=1, keepdims=True), 1e-12)],
                          axis=-1)
        parts.append((features.astype("float32"), target.astype("float32")))
        counts.append(int(share))
    features = np.concatenate([p[0] for p in parts])
    target = np.concatenate([p[1] for p in parts])
    rates = np.tile(np.array([[1.0 / horizon**2, 1.0]], "float32"), (len(features), 1))
    return LEMDataset(inputs=[features, rates], target=target, calendar=calendars.pop(), counts=counts)
