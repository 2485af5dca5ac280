"""Plain-NumPy twin of the Numba kernel in ``kernel.py`` (same inputs, same outputs).

Vectorised over orders, one scenario at a time so temporaries stay (n, T).
"""

from __future__ import annotations

import numpy as np

from execbench.engine.replay.codes import ALLOC_EPS, BAD_SUM, NEGATIVE, NOT_FINITE, OK, RATE_TOL


def replay_numpy(prices, volumes, alloc, order_qty, order_notional, is_notional, is_twap,
                 min_period, min_rate, max_rate, max_participation, sum_tol):
    """Twin of ``replay_kernel``."""
    n, horizon, n_scen = alloc.shape
    shape = (n, n_scen)
    achieved, benchmark, executed, max_part = (np.empty(shape) for _ in range(4))
    end_bar = np.empty(shape, dtype=np.int32)
    violations = np.empty(shape, dtype=np.int32)
    codes = np.zeros(n, dtype=np.int64)
    where = np.zeros(n, dtype=np.int64)
    cum_v = np.cumsum(volumes, axis=1)
    cum_vp = np.cumsum(volumes * prices, axis=1)
    cum_p = np.cumsum(prices, axis=1)
    inv_p = 1.0 / prices
    traded_bar = volumes > 0.0
    inv_v = np.where(traded_bar, 1.0 / np.where(traded_bar, volumes, 1.0), 0.0)
    rows = np.arange(n)
    for s in range(n_scen):
        a = alloc[:, :, s].astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            if is_notional[s]:
                price = a.sum(axis=1) / (a * inv_p).sum(axis=1)
                units = a * order_notional[:, None] * inv_p
            else:
                price = (a * prices).sum(axis=1) / a.sum(axis=1)
                units = a * order_qty[:, None]
            share = np.where(units > 0.0, np.where(traded_bar, units * inv_v, np.inf), 0.0)
        traded = a > ALLOC_EPS
        last = np.where(traded.any(axis=1), horizon - 1 - np.argmax(traded[:, ::-1], axis=1), -1)
        e = np.maximum(min_period[s] - 1, last)
        if is_twap[s]:
            bench = cum_p[rows, e] / (e + 1)
        else:
            window_volume = cum_v[rows, e]
            bench = np.where(window_volume > 0.0, cum_vp[rows, e] / np.where(window_volume > 0.0, window_volume, 1.0),
                             np.nan)
        over_cap = share > max_participation[s] + RATE_TOL
        over_max = a > max_rate[s] + RATE_TOL
        # remaining before bar t, accumulated in the same order as the kernel
        total = np.cumsum(a, axis=1)
        remaining = 1.0 - np.concatenate([np.zeros((n, 1)), total[:, :-1]], axis=1)
        under_min = (remaining > RATE_TOL) & (a < np.minimum(min_rate[s], remaining) - RATE_TOL)
        achieved[:, s] = price
        benchmark[:, s] = bench
        executed[:, s] = total[:, -1]
        max_part[:, s] = np.max(share, axis=1, initial=0.0)
        end_bar[:, s] = e + 1
        violations[:, s] = over_cap.sum(axis=1) + over_max.sum(axis=1) + under_min.sum(axis=1)
        code = np.where(~np.isfinite(total[:, -1]), NOT_FINITE,
                        np.where(np.min(a, axis=1, initial=0.0) < -sum_tol, NEGATIVE,
                                 np.where(np.abs(total[:, -1] - 1.0) > sum_tol, BAD_SUM, OK)))
        fresh = (codes == OK) & (code != OK)
        codes[fresh] = code[fresh]
        where[fresh] = s
    return achieved, benchmark, executed, max_part, end_bar, violations, codes, where
