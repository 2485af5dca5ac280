"""Market impact in the replay (off by default: the paper's setting is no impact).

Temporary impact moves each child fill's price against the trader: fill = P̂_t·(1 ± ε·ν_t^β), with ν_t
the child's participation of bar t's volume (child units / bar volume; on a bar with no volume, the
order's expected bar volume stands in).  Permanent impact shifts the market price the trader faces
from bar t on by ± γ·(X_t / W)^δ, with X_t the units executed before bar t and W the order's expected
window volume: P̂_t = P_t·(1 ± γ·(X_t/W)^δ).  "±" is + for buys, − for sells.  The benchmark keeps the
market's own prices P unless ``benchmark_with_impact`` (then it uses P̂, the prices shifted by the
trader's permanent impact).  A notional child's units are taken at the pre-impact price.

``impact_rows`` (Numba, GIL-free, run on the replay kernel's thread pool, ``run_rows``) and ``impact_numpy``
(its twin) return the achieved and benchmark prices with impact, (n, S) each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from execbench.engine.kernels import ALLOC_EPS, run_rows
from execbench.errors import ContractError


@dataclass(frozen=True)
class ImpactModel:
    """Impact parameters (fractions of price): temporary ε·ν^β, permanent γ·(X/W)^δ."""

    eps: float = 0.0
    beta: float = 0.5
    gamma: float = 0.0
    delta: float = 1.0
    benchmark_with_impact: bool = False

    def __post_init__(self) -> None:
        for name in ("eps", "gamma"):
            if not getattr(self, name) >= 0:
                raise ContractError(f"impact parameter {name!r}: expected >= 0, got {getattr(self, name)!r}")
        for name in ("beta", "delta"):
            if not getattr(self, name) > 0:
                raise ContractError(f"impact parameter {name!r}: expected > 0, got {getattr(self, name)!r}")

    @property
    def active(self) -> bool:
        return self.eps > 0 or self.gamma > 0

    def describe(self) -> str:
        where = "prices shifted by the trader's permanent impact" if self.benchmark_with_impact else \
            "the market's own prices (no impact)"
        return (f"temporary eps*nu^beta with eps={self.eps:g}, beta={self.beta:g} (nu = participation of bar volume); "
                f"permanent gamma*(X/W)^delta with gamma={self.gamma:g}, delta={self.delta:g} (X = units done, "
                f"W = expected window volume); benchmark on {where}")


@nb.njit(nogil=True, cache=True, inline="always")
def _power(x, exponent):
    """x**exponent with the common exponents (1, 1/2) taken without ``pow``."""
    if exponent == 1.0:
        return x
    if exponent == 0.5:
        return np.sqrt(x)
    return x**exponent


@nb.njit(nogil=True, cache=True)
def impact_rows(prices, volumes, alloc, order_qty, order_notional, window_volume, side_sign, is_notional, is_twap,
                min_period, eps, beta, gamma, delta, bench_impact, start, stop, achieved, benchmark):
    """Fill rows ``start:stop`` of ``achieved`` and ``benchmark`` (see the module docstring)."""
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
