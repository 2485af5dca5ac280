"""Numba impact kernel (see ``model.py`` for the model); ``twin.py`` holds its NumPy twin."""

from __future__ import annotations

import numba as nb
import numpy as np

from execbench.contracts import ALLOC_EPS
from execbench.threads import run_rows


@nb.njit(nogil=True, cache=True, inline="always")
def _power(x, exponent):
    """x**exponent with the common exponents (1, 1/2) taken without ``pow``."""
    if exponent == 1.0:
        return x
    if exponent == 0.5:
        return np.sqrt(x)
    return x**exponent


@nb.njit(nogil=True, cache=True, error_model="numpy")  # IEEE division, as the twin: 0/0 is NaN, not an exception
def impact_rows(prices, volumes, alloc, order_qty, order_notional, window_volume, side_sign, is_notional, is_twap,
                min_period, eps, beta, gamma, delta, bench_impact, start, stop, achieved, benchmark):
    """Fill rows ``start:stop`` of ``achieved`` and ``benchmark`` (see the docstring of ``model.py``)."""
    _, horizon, n_scen = alloc.shape
    for i in range(start, stop):
        expected_bar = window_volume[i] / horizon
        for s in range(n_scen):
            sign = side_sign[s]
            size = order_notional[i] if is_notional[s] else order_qty[i]
            done = 0.0
            num = 0.0
            den = 0.0
            last = -1
            for t in range(horizon):
                a = alloc[i, t, s]
                p = prices[i, t]
                units = a * size / p if is_notional[s] else a * size
                perm = 0.0
                if gamma > 0.0 and done > 0.0 and window_volume[i] > 0.0:
                    perm = gamma * _power(done / window_volume[i], delta)
                shifted = p * (1.0 + sign * perm)
                bar_volume = volumes[i, t] if volumes[i, t] > 0 else expected_bar
                nu = units / bar_volume if bar_volume > 0 else 0.0
                fill = shifted * (1.0 + sign * eps * _power(nu, beta)) if units > 0 else shifted
                if is_notional[s]:  # the same arithmetic as the no-impact kernel, so zero impact is exact
                    num += a
                    den += a * (1.0 / fill)
                else:
                    num += a * fill
                    den += a
                if a > ALLOC_EPS:
                    last = t
                done += units
            e = max(min_period[s] - 1, last)
            achieved[i, s] = num / den
            # benchmark over bars 1..e, on market prices or on the permanently shifted ones
            done = 0.0
            sw = 0.0
            swp = 0.0
            sp = 0.0
            for t in range(e + 1):
                p = prices[i, t]
                if bench_impact:
                    perm = 0.0
                    if gamma > 0.0 and done > 0.0 and window_volume[i] > 0.0:
                        perm = gamma * _power(done / window_volume[i], delta)
                    p = p * (1.0 + sign * perm)
                    a = alloc[i, t, s]
                    done += a * size / prices[i, t] if is_notional[s] else a * size
                sw += volumes[i, t]
                swp += volumes[i, t] * p
                sp += p
            if is_twap[s]:
                benchmark[i, s] = sp / (e + 1)
            else:
                benchmark[i, s] = swp / sw if sw > 0 else np.nan


def impact_kernel(prices, volumes, alloc, order_qty, order_notional, window_volume, side_sign, is_notional, is_twap,
                  min_period, eps, beta, gamma, delta, bench_impact):
    """``impact_rows`` over all orders on a thread pool; same arguments and outputs as ``impact_numpy``."""
    n, _, n_scen = alloc.shape
    inputs = (prices, volumes, alloc, order_qty, order_notional, window_volume, side_sign, is_notional, is_twap,
              min_period, eps, beta, gamma, delta, bench_impact)
    return run_rows(impact_rows, n, inputs, (np.empty((n, n_scen)), np.empty((n, n_scen))))
