"""Plain-NumPy twin of the impact kernel in ``kernel.py`` (same inputs, same outputs)."""

from __future__ import annotations

import numpy as np

from execbench.contracts import ALLOC_EPS


def impact_numpy(prices, volumes, alloc, order_qty, order_notional, window_volume, side_sign, is_notional, is_twap,
                 min_period, eps, beta, gamma, delta, bench_impact):
    """Twin of ``impact_kernel``, vectorised over orders, one scenario at a time."""
    n, horizon, n_scen = alloc.shape
    achieved, benchmark = np.empty((n, n_scen)), np.empty((n, n_scen))
    expected_bar = window_volume / horizon
    for s in range(n_scen):
        a = alloc[:, :, s]
        sign = side_sign[s]
        units = a * (order_notional[:, None] / prices if is_notional[s] else order_qty[:, None])
        done = np.concatenate([np.zeros((n, 1)), np.cumsum(units, axis=1)[:, :-1]], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(window_volume[:, None] > 0, done / np.where(window_volume > 0, window_volume, 1.0)[:, None], 0.0)
        perm = np.where(done > 0, gamma * ratio**delta, 0.0)
        shifted = prices * (1.0 + sign * perm)
        bar_volume = np.where(volumes > 0, volumes, expected_bar[:, None])
        with np.errstate(divide="ignore", invalid="ignore"):
            nu = np.where(bar_volume > 0, units / np.where(bar_volume > 0, bar_volume, 1.0), 0.0)
        fill = np.where(units > 0, shifted * (1.0 + sign * eps * nu**beta), shifted)
        if is_notional[s]:
            achieved[:, s] = a.sum(axis=1) / (a * (1.0 / fill)).sum(axis=1)
        else:
            achieved[:, s] = (a * fill).sum(axis=1) / a.sum(axis=1)
        traded = a > ALLOC_EPS
        last = np.where(traded.any(axis=1), horizon - 1 - np.argmax(traded[:, ::-1], axis=1), -1)
        e = np.maximum(min_period[s] - 1, last)
        in_window = np.arange(horizon)[None, :] <= e[:, None]
        market = shifted if bench_impact else prices
        if is_twap[s]:
            benchmark[:, s] = (market * in_window).sum(axis=1) / (e + 1)
        else:
            sw = (volumes * in_window).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                benchmark[:, s] = np.where(sw > 0, (volumes * market * in_window).sum(axis=1) / np.where(sw > 0, sw, 1.0), np.nan)
    return achieved, benchmark
