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

from execbench.analysis.stats import summarize
from execbench.contracts import SIDES, period_name, scenario_label
from execbench.engine.replay.columns import Columns
from execbench.results import ReplayResult

COMPONENTS = ("is_bps", "delay_bps", "timing_bps", "impact_bps", "opportunity_bps")


def shortfall(result: ReplayResult) -> dict[str, np.ndarray]:
    """Per (order, scenario): the IS components and ``vs_full_bps`` (paper sign), (n, S) each (``Columns``
    for a result on disk)."""
    if result.reference is None:
        raise ValueError("shortfall: the result has no reference prices (replay it through evaluate)")
    ref = result.reference
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
    with np.errstate(invalid="ignore"):
        return {
            "is_bps": sign * (result.achieved - arrival) * scale,
            "delay_bps": delay,
            "timing_bps": sign * (plain - ref["first"][:, None]) * scale,
            "impact_bps": sign * (result.achieved - plain) * scale,
            "opportunity_bps": sign * (1.0 - result.executed) * (ref["last"][:, None] - arrival) * scale,
            "vs_full_bps": result.bps_against("full"),
        }


def shortfall_table(result: ReplayResult, *, periods: list[int | str], benchmark: str = "vwap",
                    target: str = "quantity") -> pd.DataFrame:
    """Mean IS and its components (bps of arrival, positive = cost) per side × minimum period, with the
    mean bps against the realised-window and the full-window benchmark (paper sign)."""
    parts = shortfall(result)
    rows = []
    for side in SIDES:
        for period in periods:
            label = scenario_label(side, benchmark, target, period)
            s = result.grid.index(label)
            row = {"Side": side.upper(), "Min period": period_name(period).removeprefix("m="),
                   "N": summarize(parts["is_bps"][:, s])["N"]}
            for name in COMPONENTS:
                row[name.replace("_bps", "").replace("is", "IS") + " (bps)"] = float(np.nanmean(parts[name][:, s]))
            row["IS std"] = float(np.nanstd(parts["is_bps"][:, s], ddof=1))
            row[f"vs realised {benchmark.upper()}"] = float(np.nanmean(result.bps[:, s]))
            row[f"vs full {benchmark.upper()}"] = float(np.nanmean(parts["vs_full_bps"][:, s]))
            rows.append(row)
    return pd.DataFrame(rows)
