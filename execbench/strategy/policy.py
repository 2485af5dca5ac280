"""Per-order Numba policies: an adaptive strategy's ``step`` compiled, driven one order at a time.

An adaptive strategy steps bar by bar in NumPy over a batch of orders (``runner``): with about a hundred
orders per independent batch, most of its time is Python overhead on small arrays, T calls per batch.
A strategy may also offer the same decisions as a Numba kernel (``Strategy.policy_kernel``): after
``start`` (history only, per batch, as before) it returns ``(kernel, rows, shared)``, and the
framework's driver below calls, for each order i and bar s,

    kernel(s, rows[i], shared, prices[i, :s], volumes[i, :s], done[i, :s, :], out[i, s, :])

``rows`` holds one float64 row of ``start``-time state per order and ``shared`` what every order shares
(a tuple of arrays: the grid's bounds, a solved rule); both are read-only, as are the bars (Numba will
not compile a write to them), so no state passes from one order to the next.  The kernel writes bar
s's allocations of every scenario into ``out``.  It is handed one order's realised bars before s and
its own earlier allocations; ``rows[i]`` comes from ``start``, which sees the batch's history (as for
``step``).  Numba does not check bounds: a kernel indexing outside its slices reads memory it was not
given, which the look-ahead audit is there to catch (``prices[s]`` is the bar it may not see).  The NumPy ``step`` stays the reference twin: ``run_strategy(..., policies=False)`` drives it,
and tests hold the two equal.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit


@njit  # not cached: its type includes the kernel's, which Numba cannot cache (about 0.5 s per kernel and process)
def drive_policy(kernel: Callable, rows: np.ndarray, shared: tuple, prices: np.ndarray, volumes: np.ndarray,
                 alloc: np.ndarray) -> None:  # pragma: no cover - compiled
    """Fill ``alloc`` (n, T, S) bar by bar, order by order, with ``kernel`` (module docstring)."""
    n, horizon = prices.shape
    for i in range(n):
        for s in range(horizon):
            kernel(s, rows[i], shared, prices[i, :s], volumes[i, :s], alloc[i, :s, :], alloc[i, s, :])


@njit(cache=True, inline="always")
def bounded(desired: float, remaining: float, step: int, horizon: int, lo: float, hi: float,
            later: float) -> float:  # pragma: no cover - compiled
    """``schedules.bounded_step`` for one order and scenario: ``desired`` clipped to the rate bounds and
    the remainder, at least what the ``later`` bars' capacity leaves; the last bar takes the remainder."""
    remaining = max(remaining, 0.0)
    if step == horizon - 1:
        return remaining
    alloc = min(max(desired, min(lo, remaining)), min(hi, remaining))
    return min(max(max(alloc, remaining - later), 0.0), remaining)
