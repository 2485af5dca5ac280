"""Numba kernel for Heston paths; ``twin.py`` holds its NumPy twin (tests hold them equal)."""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def heston_kernel(z_price, z_var, dt, mu, kappa, theta, xi, rho, v0, log_s0):
    """Full-truncation Euler scheme for (log S, v), (paths, steps) shocks in, (paths, steps) out.

    v⁺ = max(v, 0); v ← v + κ(θ − v⁺)dt + ξ√(v⁺ dt)·z_v;
    log S ← log S + (μ − v⁺/2)dt + √(v⁺ dt)·(ρ z_v + √(1−ρ²) z_s).
    Returns the log price and the variance *after* each step.
    """
    paths, steps = z_price.shape
    log_s = np.empty((paths, steps))
    var = np.empty((paths, steps))
    mix = np.sqrt(1.0 - rho * rho)
    for p in range(paths):
        x = log_s0
        v = v0
        for t in range(steps):
            vp = max(v, 0.0)
            root = np.sqrt(vp * dt)
            x = x + (mu - 0.5 * vp) * dt + root * (rho * z_var[p, t] + mix * z_price[p, t])
            v = v + kappa * (theta - vp) * dt + xi * root * z_var[p, t]
            log_s[p, t] = x
            var[p, t] = v
    return log_s, var
