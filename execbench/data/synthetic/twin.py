"""Plain-NumPy twin of ``kernel.heston_kernel`` (same inputs, same outputs)."""

from __future__ import annotations

import numpy as np


def heston_numpy(z_price, z_var, dt, mu, kappa, theta, xi, rho, v0, log_s0):
    """Twin of ``heston_kernel``: the same scheme, vectorised over paths, looping over steps."""
    paths, steps = z_price.shape
    log_s = np.empty((paths, steps))
    var = np.empty((paths, steps))
    mix = np.sqrt(1.0 - rho * rho)
    x = np.full(paths, log_s0, dtype=np.float64)
    v = np.full(paths, v0, dtype=np.float64)
    for t in range(steps):
        vp = np.maximum(v, 0.0)
        root = np.sqrt(vp * dt)
        x = x + (mu - 0.5 * vp) * dt + root * (rho * z_var[:, t] + mix * z_price[:, t])
        v = v + kappa * (theta - vp) * dt + xi * root * z_var[:, t]
        log_s[:, t] = x
        var[:, t] = v
    return log_s, var
