"""Results that are impossible without the future: the backstop for what the look-ahead audit cannot see
(a strategy that re-reads the data from disk or from the caller's memory).

Two signs, each checked on every scenario with enough orders:

* **tracking error far below any causal forecast.**  Against the realised-window VWAP (match
  scenarios), a strategy's bps std is its tracking error.  A causal volume forecast removes only a
  part of TWAP's (on the bundled data: VWAP 13.97 and DVWAP 13.64 vs TWAP 14.02 bps); knowing each
  bar's volume removes all of it.  Flagged below ``TRACKING_FLOOR`` × TWAP's on the same orders.
* **hit rates near 100 %.**  Beating the benchmark on ≥ ``HIT_RATE_CEILING`` of the orders (ties
  excluded) is not what any execution strategy does on real prices.
"""

from __future__ import annotations

import numpy as np

from execbench.contracts import hit_rate, scenario_label

TRACKING_FLOOR = 0.1  # share of TWAP's match-VWAP bps std below which a result is flagged
HIT_RATE_CEILING = 0.95
MIN_ORDERS = 100


def impossible_results(result, baseline) -> tuple[str, ...]:
    """One-line warnings for results that a causal strategy cannot produce (module docstring).

    Parameters
    ----------
    result
        The strategy's ``ReplayResult``.
    baseline
        TWAP's ``ReplayResult`` on the same orders (its buy / VWAP / quantity / match scenario).

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
        if rate >= HIT_RATE_CEILING:
            warnings.append(f"impossible result? {spec.label}: beats its benchmark on {rate:.1%} of orders "
                            "(does the strategy read the data itself?)")
    return tuple(warnings)
