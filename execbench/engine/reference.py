"""Plain-NumPy twins of the Numba kernels in ``engine/kernels.py`` (same inputs, same outputs).

Vectorised over orders, one scenario at a time so temporaries stay (n, T).
"""

from __future__ import annotations

import numpy as np

from execbench.engine.kernels import ALLOC_EPS, BAD_SUM, NEGATIVE, NOT_FINITE, RATE_TOL


def check_allocations_numpy(alloc: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Twin of ``check_allocations_kernel``."""
    n, _, n_scen = alloc.shape
    codes = np.zeros(n, dtype=np.int64)
    where = np.zeros(n, dtype=np.int64)
    for s in range(n_scen):
        a = alloc[:, :, s]
        finite = np.isfinite(a)
        # the kernel scans bars in order and stops at the first non-finite or negative one
        first_nonfinite = np.where(finite.all(axis=1), a.shape[1], np.argmin(finite, axis=1))
        negative = finite & (a < -tol)
        first_negative = np.where(negative.any(axis=1), np.argmax(negative, axis=1), a.shape[1])
        code = np.where(first_nonfinite < first_negative, NOT_FINITE,
                        np.where(first_negative < a.shape[1], NEGATIVE, 0))
        with np.errstate(invalid="ignore"):
            sums = np.where(finite, a, 0.0).sum(axis=1)
        code = np.where((code == 0) & (np.abs(sums - 1.0) > tol), BAD_SUM, code)
        fresh = (codes == 0) & (code != 0)
        codes[fresh] = code[fresh]
        where[fresh] = s
    return codes, where


def replay_numpy(prices, volumes, alloc, order_qty, order_notional, side_sign, is_notional, is_twap,
                 min_period, min_rate, max_rate, max_participation):
    """Twin of ``replay_kernel``."""
    n, horizon, n_scen = alloc.shape
    shape = (n, n_scen)
    achieved, benchmark, bps, perf_bps, executed, max_part = (np.empty(shape) for _ in range(6))
    end_bar = np.empty(shape, dtype=np.int64)
    violations = np.empty(shape, dtype=np.int64)
    cum_v = np.cumsum(volumes, axis=1)
    cum_vp = np.cumsum(volumes * prices, axis=1)
    cum_p = np.cumsum(prices, axis=1)
    rows = np.arange(n)
    for s in range(n_scen):
        a = alloc[:, :, s].astype(np.float64)
        if is_notional[s]:
            price = a.sum(axis=1) / (a / prices).sum(axis=1)
            units = a * order_notional[:, None] / prices
        else:
            price = (a * prices).sum(axis=1) / a.sum(axis=1)
            units = a * order_qty[:, None]
        traded = a > ALLOC_EPS
        last = np.where(traded.any(axis=1), horizon - 1 - np.argmax(traded[:, ::-1], axis=1), -1)
        e = np.maximum(min_period[s] - 1, last)
        if is_twap[s]:
            bench = cum_p[rows, e] / (e + 1)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                bench = np.where(cum_v[rows, e] > 0.0, cum_vp[rows, e] / np.where(cum_v[rows, e] > 0.0, cum_v[rows, e], 1.0), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(units > 0.0, np.where(volumes > 0.0, units / np.where(volumes > 0.0, volumes, 1.0), np.inf), 0.0)
        part = share.max(axis=1)
        over_cap = (units > 0.0) & (share > max_participation[s] + RATE_TOL)
        over_max = a > max_rate[s] + RATE_TOL
        # remaining before bar t, accumulated in the same order as the kernel
        remaining = 1.0 - np.concatenate([np.zeros((n, 1)), np.cumsum(a, axis=1)[:, :-1]], axis=1)
        under_min = (remaining > RATE_TOL) & (a < np.minimum(min_rate[s], remaining) - RATE_TOL)
        b = (price / bench - 1.0) * 1e4
        achieved[:, s] = price
        benchmark[:, s] = bench
        bps[:, s] = b
        perf_bps[:, s] = -side_sign[s] * b
        executed[:, s] = a.sum(axis=1)
        max_part[:, s] = part
        end_bar[:, s] = e + 1
        violations[:, s] = over_cap.sum(axis=1) + over_max.sum(axis=1) + under_min.sum(axis=1)
    return achieved, benchmark, bps, perf_bps, executed, max_part, end_bar, violations
