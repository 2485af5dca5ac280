"""Per-order Numba kernels of the built-in adaptive strategies (``execbench.strategy.policy``).

Each kernel takes the same decision as its strategy's NumPy ``step`` for one order (``rows[i]``, its
``start``-time state) and every scenario, from that order's realised bars before ``s`` and its own
earlier allocations; ``tests/test_policies.py`` holds each equal to its ``step``.  Imported only when a
run drives a kernel, so listing the strategies does not load Numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from execbench.strategy.policy import bounded
from execbench.strategy.stopping import CLIP

# the most negative float, a compile-time constant: ``np.finfo`` inside a kernel would make loading its cached
# machine code import Numba's array-math library (and SciPy's linalg with it: 0.25 s)
LOWEST = -np.finfo(np.float64).max


@njit(cache=True, inline="always")
def _state(value: float) -> float:  # pragma: no cover - compiled
    """``stopping.state_basis``'s treatment of one state variable: 0 where undefined, clipped to ±CLIP."""
    if not np.isfinite(value):
        return 0.0
    return min(max(value, -CLIP), CLIP)


@njit(cache=True, inline="always")
def _running(s, prices, volumes):  # pragma: no cover - compiled
    """``stopping.running_benchmark`` of bars 0..s−1 for both kinds, and the last price: (twap, vwap,
    last), NaN before any bar."""
    twap = vwap = last = np.nan
    if s > 0:
        total = volume = traded = 0.0
        for j in range(s):
            total += prices[j]
            volume += volumes[j]
            traded += prices[j] * volumes[j]
        twap = total / s
        vwap = traded / volume if volume > 0 else twap
        last = prices[s - 1]
    return twap, vwap, last


@njit(cache=True, inline="always")
def _filled(s, done, k):  # pragma: no cover - compiled
    """Scenario ``k``'s share of the order traded before bar ``s``."""
    filled = 0.0
    for j in range(s):
        filled += done[j, k]
    return filled


@njit(cache=True, inline="always")
def _continue(remaining, s, horizon, min_period, front):  # pragma: no cover - compiled
    """``stopping.continue_desired`` for one scenario: max(front/m, R/(T−s)) up to bar m, R/(T−s) after."""
    stretch = remaining / (horizon - s)
    return max(front / min_period, stretch) if s + 1 <= min_period else stretch


@njit(cache=True, error_model="numpy")
def optstop_kernel(s, row, shared, prices, volumes, done, out):  # pragma: no cover - compiled
    """``OptimalStopping.step`` for one order: ``row`` = (σ,), ``shared`` = (coef (S, T, BASIS), front,
    min_period, is_twap, is_notional, lo, hi), each (S,) after coef."""
    coef, front, min_period, is_twap, is_notional, lo, hi = shared
    horizon = coef.shape[1]
    sigma = row[0]
    twap, vwap, last = _running(s, prices, volumes)
    x1_twap = x1_vwap = 0.0
    if s > 0:  # the last price against each running benchmark: two logs per bar, not one per scenario
        x1_twap = _state(np.log(last / twap) / sigma)
        x1_vwap = _state(np.log(last / vwap) / sigma)
    n_scen = out.size
    # what each scenario has traded and paid before bar s, summed bar by bar over all scenarios at once
    # (a contiguous inner loop); each scenario's sums run over the bars in order, as in ``step``
    filled = np.zeros(n_scen)
    paid_quantity = np.zeros(n_scen)
    paid_units = np.zeros(n_scen)
    for j in range(s):
        price = prices[j]
        inverse = 1.0 / price  # once per bar, not once per scenario: the same quotients
        for k in range(n_scen):
            traded = done[j, k]
            filled[k] += traded
            paid_quantity[k] += price * traded
            paid_units[k] += inverse * traded
    last_bar = s == horizon - 1  # ``bounded`` takes the remainder there, whatever the rule says
    for k in range(n_scen):
        remaining = 1.0 - filled[k]
        desired = _continue(remaining, s, horizon, min_period[k], front[k])
        if s + 1 >= min_period[k] and not last_bar:  # the rule is read only where it may stop the order
            x1 = x2 = 0.0
            if s > 0:
                bench = twap if is_twap[k] else vwap
                paid = filled[k] / paid_units[k] if is_notional[k] else paid_quantity[k] / filled[k]
                x1 = x1_twap if is_twap[k] else x1_vwap
                x2 = _state(np.log(paid / bench) / sigma)
            c = coef[k, s]
            value = 1.0 * c[0] + x1 * c[1] + x2 * c[2] + (x1 * x1) * c[3] + (x1 * x2) * c[4] + (x2 * x2) * c[5]
            if value > 0:
                desired = remaining
        out[k] = bounded(desired, remaining, s, horizon, lo[k], hi[k], (horizon - 1 - s) * hi[k])


@njit(cache=True, inline="always")
def _seasonal(row, window, horizon, n_scen):  # pragma: no cover - compiled
    """A seasonal strategy's row (``SeasonalStrategy.policy_rows``): the expected volume of the T bars,
    the last ``window`` history volumes, their expectation, and the caps (T, S)."""
    expected = row[:horizon]
    past = row[horizon:horizon + window]
    expected_past = row[horizon + window:horizon + 2 * window]
    caps = row[horizon + 2 * window:horizon + 2 * window + horizon * n_scen].reshape((horizon, n_scen))
    return expected, past, expected_past, caps


@njit(cache=True, inline="always")
def _surprise(s, window, volumes, expected, past, expected_past):  # pragma: no cover - compiled
    """``SeasonalStrategy.surprise``: realised over expected volume of the last ``window`` bars before
    ``s`` (history, then the window's own), NaN-skipping sums; 1 where undefined."""
    realised = forecast = 0.0
    for j in range(s - window, s):
        v = past[window + j] if j < 0 else volumes[j]
        e = expected_past[window + j] if j < 0 else expected[j]
        if not np.isnan(v):
            realised += v
        if not np.isnan(e):
            forecast += e
    ratio = realised / forecast
    return ratio if np.isfinite(ratio) and ratio > 0 else 1.0


@njit(cache=True, inline="always")
def _later(caps, s, k):  # pragma: no cover - compiled
    """The most scenario ``k`` can trade after bar ``s``: the sum of its later caps."""
    later = 0.0
    for t in range(s + 1, caps.shape[0]):
        later += caps[t, k]
    return later


@njit(cache=True, error_model="numpy")
def dvwap_kernel(s, row, shared, prices, volumes, done, out):  # pragma: no cover - compiled
    """``DynamicVWAP.step`` for one order: ``row`` as ``_seasonal`` reads it; ``shared`` = (lo (S,),
    decay (1,), (window, T) as integers)."""
    lo, decay, sizes = shared
    window, horizon = sizes[0], sizes[1]
    expected, past, expected_past, caps = _seasonal(row, window, horizon, out.size)
    surprise = _surprise(s, window, volumes, expected, past, expected_past)
    total = 0.0
    for t in range(s, horizon):
        total += expected[t] * (1.0 + (surprise - 1.0) * decay[0] ** float(t - s + 1))
    first = expected[s] * (1.0 + (surprise - 1.0) * decay[0])
    share = first / total if total > 0 else 1.0 / (horizon - s)
    for k in range(out.size):
        remaining = 1.0 - _filled(s, done, k)
        out[k] = bounded(share * remaining, remaining, s, horizon, lo[k], caps[s, k], _later(caps, s, k))


@njit(cache=True, error_model="numpy")
def pov_kernel(s, row, shared, prices, volumes, done, out):  # pragma: no cover - compiled
    """``POV.step`` for one order: ``row`` as ``_seasonal`` reads it, then (last price before the
    origin, quantity, notional); ``shared`` = (lo, rate, is_notional, each (S,), (window, T))."""
    lo, rate, is_notional, sizes = shared
    window, horizon = sizes[0], sizes[1]
    expected, past, expected_past, caps = _seasonal(row, window, horizon, out.size)
    last_price, qty, notional = row[-3], row[-2], row[-1]
    forecast = expected[s] * _surprise(s, window, volumes, expected, past, expected_past)
    price = prices[s - 1] if s > 0 else last_price
    for k in range(out.size):
        units = forecast * rate[k]
        desired = units * (price / notional) if is_notional[k] else units / qty
        if np.isnan(desired):
            desired = 1.0 / horizon
        elif np.isinf(desired):
            desired = 1.0 if desired > 0 else LOWEST
        remaining = 1.0 - _filled(s, done, k)
        out[k] = bounded(desired, remaining, s, horizon, lo[k], caps[s, k], _later(caps, s, k))


@njit(cache=True, error_model="numpy")
def flex_kernel(s, row, shared, prices, volumes, done, out):  # pragma: no cover - compiled
    """``FlexHeuristic.step`` for one order (``row`` is unused); ``shared`` = (min_period, match,
    is_twap, buy, lo, hi, each (S,), (front, threshold_bps, T))."""
    min_period, match, is_twap, buy, lo, hi, params = shared
    front, edge, horizon = params[0], params[1] * 1e-4, int(params[2])
    twap, vwap, last = _running(s, prices, volumes)
    for k in range(out.size):
        remaining = 1.0 - _filled(s, done, k)
        desired = _continue(remaining, s, horizon, min_period[k], front)
        if s > 0:
            bench = twap if is_twap[k] else vwap
            good = last < bench * (1 - edge) if buy[k] else last > bench * (1 + edge)
            if good and s + 1 >= min_period[k]:
                desired = remaining
        if match[k]:
            desired = remaining / (horizon - s)
        out[k] = bounded(desired, remaining, s, horizon, lo[k], hi[k], (horizon - 1 - s) * hi[k])
