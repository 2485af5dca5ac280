"""Numba replay kernels (parallel over orders).  ``engine/reference.py`` holds their NumPy twins.

Arrays in, arrays out.  Shapes: ``prices``, ``volumes``: (n, T); ``alloc``: (n, T, S);
per-scenario arrays: (S,); per-order arrays: (n,).  Outputs are (n, S).
"""

from __future__ import annotations

import numba as nb
import numpy as np

ALLOC_EPS = 1e-9  # an allocation above this is a trade: it can extend the realised window
RATE_TOL = 1e-9   # slack on the min/max trading-rate and participation checks

# codes returned by check_allocations_kernel
OK, NEGATIVE, NOT_FINITE, BAD_SUM = 0, 1, 2, 3


@nb.njit(parallel=True, cache=True)
def check_allocations_kernel(alloc, tol):
    """Per order: 0 if every scenario's allocations are finite, ≥ 0 and sum to 1 within ``tol``;
    else the code of the first problem.  Returns (codes (n,), scenario (n,))."""
    n, horizon, n_scen = alloc.shape
    codes = np.zeros(n, dtype=np.int64)
    where = np.zeros(n, dtype=np.int64)
    for i in nb.prange(n):
        for s in range(n_scen):
            total = 0.0
            code = 0
            for t in range(horizon):
                a = alloc[i, t, s]
                if not np.isfinite(a):
                    code = NOT_FINITE
                    break
                if a < -tol:
                    code = NEGATIVE
                    break
                total += a
            if code == 0 and abs(total - 1.0) > tol:
                code = BAD_SUM
            if code != 0:
                codes[i] = code
                where[i] = s
                break
    return codes, where


@nb.njit(parallel=True, cache=True)
def replay_kernel(prices, volumes, alloc, order_qty, order_notional, side_sign, is_notional, is_twap,
                  min_period, min_rate, max_rate, max_participation):
    """Replay allocations against bar prices; see ``execbench.engine.replay`` for the semantics."""
    n, horizon, n_scen = alloc.shape
    achieved = np.empty((n, n_scen))
    benchmark = np.empty((n, n_scen))
    bps = np.empty((n, n_scen))
    perf_bps = np.empty((n, n_scen))
    executed = np.empty((n, n_scen))
    max_part = np.empty((n, n_scen))
    end_bar = np.empty((n, n_scen), dtype=np.int64)
    violations = np.empty((n, n_scen), dtype=np.int64)
    for i in nb.prange(n):
        cum_v = np.empty(horizon)
        cum_vp = np.empty(horizon)
        cum_p = np.empty(horizon)
        sv = 0.0
        svp = 0.0
        sp = 0.0
        for t in range(horizon):
            sv += volumes[i, t]
            svp += volumes[i, t] * prices[i, t]
            sp += prices[i, t]
            cum_v[t] = sv
            cum_vp[t] = svp
            cum_p[t] = sp
        for s in range(n_scen):
            notional = is_notional[s]
            size = order_notional[i] if notional else order_qty[i]
            last = -1
            num = 0.0
            den = 0.0
            total = 0.0
            part = 0.0
            bad = 0
            remaining = 1.0
            for t in range(horizon):
                a = alloc[i, t, s]
                p = prices[i, t]
                v = volumes[i, t]
                if a > ALLOC_EPS:
                    last = t
                if notional:
                    num += a
                    den += a / p
                    units = a * size / p
                else:
                    num += a * p
                    den += a
                    units = a * size
                if units > 0.0:
                    share = units / v if v > 0.0 else np.inf
                    if share > part:
                        part = share
                    if share > max_participation[s] + RATE_TOL:
                        bad += 1
                if a > max_rate[s] + RATE_TOL:
                    bad += 1
                if remaining > RATE_TOL and a < min(min_rate[s], remaining) - RATE_TOL:
                    bad += 1
                total += a
                remaining = 1.0 - total
            e = max(min_period[s] - 1, last)
            if is_twap[s]:
                bench = cum_p[e] / (e + 1)
            elif cum_v[e] > 0.0:
                bench = cum_vp[e] / cum_v[e]
            else:
                bench = np.nan
            price = num / den
            b = (price / bench - 1.0) * 1e4
            achieved[i, s] = price
            benchmark[i, s] = bench
            bps[i, s] = b
            perf_bps[i, s] = -side_sign[s] * b
            executed[i, s] = total
            max_part[i, s] = part
            end_bar[i, s] = e + 1
            violations[i, s] = bad
    return achieved, benchmark, bps, perf_bps, executed, max_part, end_bar, violations
