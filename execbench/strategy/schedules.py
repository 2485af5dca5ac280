"""Helpers that turn a strategy's wishes into allocations the contract allows.

Allocations are fractions of the order per bar.  The contract allows, while the order is incomplete,
at least ``min_rate`` and at most ``max_rate`` per bar (and at most ``max_participation`` of the bar's
volume); the remainder must be done by bar T.  These helpers are used by the built-in strategies and
are public so that plug-ins can use them too.
"""

from __future__ import annotations

import numpy as np

from execbench.contracts import ScenarioGrid
from execbench.strategy.base import OrderContext


def rate_bounds(grid: ScenarioGrid) -> tuple[np.ndarray, np.ndarray]:
    """Per-scenario minimum and maximum trading rate, (S,) each."""
    arrays = grid.arrays()
    return arrays["min_rate"], arrays["max_rate"]


def participation_caps(grid: ScenarioGrid, ctx: OrderContext, expected_volume: np.ndarray,
                       prices: np.ndarray | None = None) -> np.ndarray:
    """Per-bar upper bound on the allocation, (n, T, S): the max rate, and where a scenario has a
    participation cap, cap × expected bar volume / order size (in the scenario's target units)."""
    arrays = grid.arrays()
    hi = np.broadcast_to(arrays["max_rate"][None, None, :], (ctx.n_orders, ctx.horizon, len(grid))).copy()
    caps = arrays["max_participation"]
    if np.isfinite(caps).any():
        qty, notional = ctx.sizes()
        price = ctx.history("prices", 1)[:, 0] if prices is None else prices
        for s in np.flatnonzero(np.isfinite(caps)):
            if arrays["is_notional"][s]:
                room = caps[s] * expected_volume * price[:, None] / np.maximum(notional, 1e-300)[:, None]
            else:
                room = caps[s] * expected_volume / np.maximum(qty, 1e-300)[:, None]
            hi[:, :, s] = np.minimum(hi[:, :, s], room)
    return hi


def fit_profile(profile: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A full-horizon schedule proportional to ``profile`` within per-bar bounds.

    Mixes the normalised profile with the minimum rate, a = lo + (1 − T·lo)·p, so every bar gets at
    least ``lo``; then caps bars at ``hi`` and hands the excess to the bars below their cap, in
    proportion to their room (water-filling).  Where the caps cannot hold the whole order (they sum
    to less than 1) it trades in proportion to the caps, which spreads the unavoidable excess
    evenly (the engine counts the breaches as violations).

    Parameters
    ----------
    profile
        Non-negative weights, (n, T, S) or (n, T, 1); rows that sum to 0 become uniform.
    lo
        Minimum rate per scenario, (S,) (at most 1/T).
    hi
        Maximum per bar: (S,) or broadcastable to (n, T, S).

    Returns
    -------
    numpy.ndarray
        (n, T, S) allocations summing to 1 over T.
    """
    profile = np.asarray(profile, dtype=np.float64)
    horizon = profile.shape[1]
    total = profile.sum(axis=1, keepdims=True)
    p = np.where(total > 0, profile / np.where(total > 0, total, 1.0), 1.0 / horizon)
    lo = np.asarray(lo, dtype=np.float64)[None, None, :]
    alloc = lo + (1.0 - horizon * lo) * p
    hi = np.broadcast_to(np.asarray(hi, dtype=np.float64), alloc.shape)
    room_total = hi.sum(axis=1, keepdims=True)
    infeasible = room_total < 1.0  # the caps cannot hold the whole order: trade in proportion to them
    for _ in range(horizon):
        excess = np.maximum(alloc - hi, 0.0).sum(axis=1, keepdims=True)
        if not (excess > 1e-15).any():
            break
        alloc = np.minimum(alloc, hi)
        room = np.maximum(hi - alloc, 0.0)
        room_sum = room.sum(axis=1, keepdims=True)
        share = np.where(room_sum > 0, room / np.where(room_sum > 0, room_sum, 1.0), 0.0)
        alloc = alloc + excess * share
    if infeasible.any():
        proportional = hi / np.where(room_total > 0, room_total, 1.0)
        alloc = np.where(infeasible, proportional, alloc)
    return alloc


def bounded_step(desired: np.ndarray, remaining: np.ndarray, step: int, horizon: int, lo: np.ndarray,
                 hi: np.ndarray, later: np.ndarray | None = None) -> np.ndarray:
    """Clip an adaptive strategy's wish for bar ``step`` to what the contract allows.

    At least min(lo, remaining) and at most min(hi, remaining); at least what is needed to finish by
    bar T if every later bar trades at its cap (the completion guarantee); the last bar takes the
    remainder.

    Parameters
    ----------
    desired, remaining
        (n, S): the wished allocation and the order fraction still to do before this bar.
    step
        0-based bar index in the window.
    horizon
        T.
    lo, hi
        (S,) minimum and maximum rate for this bar (``hi`` may also be (n, S)).
    later
        (n, S) or (S,): the most that can be traded in all later bars together; default
        (T − 1 − step)·hi.
    """
    remaining = np.maximum(remaining, 0.0)
    if step == horizon - 1:
        return remaining
    floor = np.minimum(lo, remaining)
    ceiling = np.minimum(hi, remaining)
    alloc = np.clip(desired, floor, ceiling)
    capacity = (horizon - 1 - step) * np.asarray(hi) if later is None else later
    must = remaining - capacity
    return np.clip(np.maximum(alloc, must), 0.0, remaining)


def ac_trajectory(horizon: int, risk_aversion: float, eta: float, sigma: float) -> np.ndarray:
    """Fractions of the order traded in each of ``horizon`` bars on the Almgren–Chriss (2000)
    discrete-time optimal trajectory: holdings x_j = sinh(κ(T−j)) / sinh(κT), with
    cosh(κ) = 1 + κ̃²/2 and κ̃² = λσ²/η (unit bar length, order and price normalised to 1).
    κ → 0 (no risk aversion) gives TWAP."""
    kappa_tilde_sq = risk_aversion * sigma**2 / eta
    kappa = np.arccosh(1.0 + kappa_tilde_sq / 2.0)
    j = np.arange(horizon + 1)
    if kappa * horizon < 1e-8:
        holdings = 1.0 - j / horizon
    elif kappa * horizon > 700:  # sinh overflows: everything in the first bar
        holdings = (j == 0).astype(float)
    else:
        holdings = np.sinh(kappa * (horizon - j)) / np.sinh(kappa * horizon)
    return -np.diff(holdings)
