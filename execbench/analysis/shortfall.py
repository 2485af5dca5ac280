"""Implementation shortfall against the arrival price, its decomposition, and the full-window benchmark.

All in bps of the arrival price (the last bar price before the origin), positive = cost:

* IS = side·(achieved − arrival) / arrival
* delay = side·(first bar price − arrival) / arrival — the market's move before the first fill bar;
* timing = side·(achieved without impact − first bar price) / arrival — where in the window it traded;
* impact = side·(achieved − achieved without impact) / arrival — zero without an impact model;
* opportunity = side·(1 − executed)·(last bar price − arrival) / arrival — the unexecuted part, marked
  at the window's last price (zero when the order completes, as every valid allocation does).

IS = delay + timing + impact + opportunity.  Next to the paper's bps against the realised-window
benchmark, ``vs_full_bps`` is the same against the benchmark over all T bars: a flexible-horizon
strategy chooses its own benchmark window, the full window does not move.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from execbench.analysis.stats import statistic
from execbench.contracts import SIDES, period_name, scenario_label
from execbench.contracts.metrics import paper_bps
from execbench.engine.replay.columns import Columns, part
from execbench.results import ReplayResult

COMPONENTS = ("is_bps", "delay_bps", "timing_bps", "impact_bps", "opportunity_bps")


def shortfall(result: ReplayResult) -> dict[str, np.ndarray]:
    """Per (order, scenario): the IS components and ``vs_full_bps`` (paper sign), (n, S) each (``Columns``
    for a result on disk)."""
    ref = _reference(result)
    sign = result.grid.side_sign[None, :]
    arrival = ref["arrival"][:, None]
    plain = result.achieved if result.achieved_no_impact is None else result.achieved_no_impact
    scale = 1e4 / arrival
    moved = ref["first"][:, None] - arrival
    if isinstance(result.achieved, Columns):  # results on disk: no (n, S) array, one column when read
        delay = Columns(result.achieved.shape, np.float64,
                        lambda s, start, stop: sign[:, s] * moved[start:stop, 0] * scale[start:stop, 0])
    else:
        delay = np.broadcast_to(sign * moved * scale, result.achieved.shape)
    return _components(sign, result.achieved, plain, result.executed, arrival, ref["first"][:, None],
                       ref["last"][:, None], scale, delay, result.bps_against("full"))


def shortfall_columns(result: ReplayResult, s: int) -> dict[str, np.ndarray]:
    """``shortfall(result)``'s columns of scenario ``s``, (n,) each, computed for that scenario alone (the
    same values: the same operations on the same numbers)."""
    ref = _reference(result)
    n = result.n_orders
    sign = result.grid.side_sign[s]
    achieved = part(result.achieved, s, 0, n)
    plain = achieved if result.achieved_no_impact is None else part(result.achieved_no_impact, s, 0, n)
    arrival = ref["arrival"]
    scale = 1e4 / arrival
    delay = sign * (ref["first"] - arrival) * scale
    full = ref["full_twap" if result.grid.arrays()["is_twap"][s] else "full_vwap"]
    return _components(sign, achieved, plain, part(result.executed, s, 0, n), arrival, ref["first"], ref["last"],
                       scale, delay, paper_bps(achieved, full))


def _reference(result: ReplayResult) -> dict[str, np.ndarray]:
    if result.reference is None:
        raise ValueError("shortfall: the result has no reference prices (replay it through evaluate)")
    return result.reference


def _components(sign, achieved, plain, executed, arrival, first, last, scale, delay, vs_full) -> dict[str, np.ndarray]:
    """The IS decomposition (module docstring) from arrays that broadcast: (n, S) with per-order (n, 1) and
    per-scenario (1, S), or one scenario's (n,) with a scalar sign."""
    with np.errstate(invalid="ignore"):
        return {
            "is_bps": sign * (achieved - arrival) * scale,
            "delay_bps": delay,
            "timing_bps": sign * (plain - first) * scale,
            "impact_bps": sign * (achieved - plain) * scale,
            "opportunity_bps": sign * (1.0 - executed) * (last - arrival) * scale,
            "vs_full_bps": vs_full,
        }


def shortfall_table(result: ReplayResult, *, periods: list[int | str], benchmark: str = "vwap",
                    target: str = "quantity") -> pd.DataFrame:
    """Mean IS and its components (bps of arrival, positive = cost) per side × minimum period, with the
    mean bps against the realised-window and the full-window benchmark (paper sign)."""
    rows = []
    for side in SIDES:
        for period in periods:
            label = scenario_label(side, benchmark, target, period)
            s = result.grid.index(label)
            parts = shortfall_columns(result, s)
            row = {"Side": side.upper(), "Min period": period_name(period).removeprefix("m="),
                   "N": statistic(parts["is_bps"], "N")}
            for name in COMPONENTS:
                row[name.replace("_bps", "").replace("is", "IS") + " (bps)"] = float(np.nanmean(parts[name]))
            row["IS std"] = float(np.nanstd(parts["is_bps"], ddof=1))
            row[f"vs realised {benchmark.upper()}"] = float(np.nanmean(result.column("bps", label)))
            row[f"vs full {benchmark.upper()}"] = float(np.nanmean(parts["vs_full_bps"]))
            rows.append(row)
    return pd.DataFrame(rows)
