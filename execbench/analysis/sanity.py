"""Results that are impossible without the future: the backstop for what the look-ahead audit cannot see
(a strategy that re-reads the data from disk or from the caller's memory).

Two signs, each checked on every scenario with enough orders:

* **tracking error far below any causal forecast.**  Against the realised-window VWAP (match
  scenarios), a strategy's bps std is its tracking error.  A causal volume forecast removes only a
  part of TWAP's (on the bundled data: VWAP 13.97 and DVWAP 13.64 vs TWAP 14.02 bps); knowing each
  bar's volume removes all of it.  Flagged below ``TRACKING_FLOOR`` × TWAP's on the same orders.
* **hit rates near 100 %.**  Beating the benchmark on ≥ ``HIT_RATE_CEILING`` of the orders (ties
  excluded) is not what any execution strategy does on real prices — unless the contract makes it
  so: a fixed-notional buy's achieved price is a harmonic mean, which TWAP's arithmetic mean never
  undercuts, so TWAP itself "beats" that benchmark on every order.  A hit rate is therefore flagged
  only where the strategy loses on fewer than ``LOSS_SHARE`` × TWAP's losing share of the same orders
  in the same scenario.
"""

from __future__ import annotations

import numpy as np

from execbench.contracts import hit_rate, scenario_label

TRACKING_FLOOR = 0.1  # share of TWAP's match-VWAP bps std below which a result is flagged
HIT_RATE_CEILING = 0.95
LOSS_SHARE = 0.5  # ... and losing on fewer than this share of the orders TWAP loses on
MIN_ORDERS = 100


def near_certain(result) -> list[str]:
    """Labels of the scenarios (with enough orders) where ``result`` beats its benchmark on at least
    ``HIT_RATE_CEILING`` of the orders: those whose TWAP hit rate ``impossible_results`` needs."""
    labels = []
    for spec in result.grid.specs:
        perf = result.column("perf_bps", spec.label)
        if np.isfinite(perf).sum() >= MIN_ORDERS and hit_rate(perf) >= HIT_RATE_CEILING:
            labels.append(spec.label)
    return labels


def impossible_results(result, baseline) -> tuple[str, ...]:
    """One-line warnings for results that a causal strategy cannot produce (module docstring).

    Parameters
    ----------
    result
        The strategy's ``ReplayResult``.
    baseline
        TWAP's ``ReplayResult`` on the same orders: its buy / VWAP / quantity / match scenario, and the
        scenarios ``near_certain(result)`` names (TWAP's hit rate there; a missing one counts as 0).

    Returns
    -------
    tuple of str
        Empty when nothing is suspicious.
    """
    warnings = []
    twap_std = float(np.nanstd(baseline.column("bps", scenario_label("buy", "vwap", "quantity", "match"))))
    for spec in result.grid.specs:
        bps = result.column("bps", spec.label)
        perf = result.column("perf_bps", spec.label)
        if np.isfinite(bps).sum() < MIN_ORDERS:
            continue
        if spec.match and spec.benchmark == "vwap" and twap_std > 0:
            std = float(np.nanstd(bps))
            if std < TRACKING_FLOOR * twap_std:
                warnings.append(f"impossible result? {spec.label}: bps std {std:.3g} vs the realised VWAP is below "
                                f"{TRACKING_FLOOR:g} x TWAP's {twap_std:.3g} on the same orders; a causal volume "
                                "forecast cannot track VWAP this closely (does the strategy read the data itself?)")
        rate = hit_rate(perf)
        twap_rate = hit_rate(baseline.column("perf_bps", spec.label)) if spec.label in baseline.grid.labels else 0.0
        if rate >= HIT_RATE_CEILING and 1.0 - rate < LOSS_SHARE * (1.0 - twap_rate):
            warnings.append(f"impossible result? {spec.label}: beats its benchmark on {rate:.1%} of orders, "
                            f"TWAP on {twap_rate:.1%} (does the strategy read the data itself?)")
    return tuple(warnings)
