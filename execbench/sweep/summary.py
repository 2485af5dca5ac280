"""Views of a sweep's rows: the paper's multi-frequency tables (one per frequency: the TWAP rows, then
each strategy's BUY and SELL rows at every minimum period) and the seeds view (mean and spread across
seeds next to the CI across orders)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from execbench.analysis.stats import PAPER_COLUMNS
from execbench.errors import DataError, ParameterError
from execbench.data.frequency import parse_freq

PAPER_STATS = [f"bps_{name}" for name in PAPER_COLUMNS]


def paper_tables(rows: pd.DataFrame, *, benchmark: str = "vwap", target: str = "quantity",
                 asset: str | None = None, horizon: int | None = None) -> dict[str, pd.DataFrame]:
    """Frequency → the paper-format table (bps, paper sign) of every strategy in the sweep, averaged
    over seeds and cells of the same strategy and parameter set; rows ``TWAP Volume`` / ``TWAP
    Notional`` (from the first strategy's cells: the same orders for every strategy) and ``STRATEGY
    BUY`` / ``SELL`` per minimum period (``Match`` for the fixed horizon; a ``twap`` strategy's own rows
    are the TWAP rows)."""
    ok = trusted(rows)
    for name, value in (("asset", asset), ("horizon", horizon)):
        present = sorted(ok[name].unique().tolist(), key=str)
        if value is None and len(present) > 1:
            raise ParameterError(f"paper_tables: the sweep has several {name}s ({', '.join(map(str, present))}); "
                                 f"pass {name}=")
        if value is not None:
            ok = ok[ok[name] == value]
            if not len(ok):
                raise DataError(f"paper_tables: no finished cell for {name} {value!r}; the sweep has "
                                f"{', '.join(map(str, present)) or 'none'}")
    stats = [c for c in PAPER_STATS if c in ok]
    tables = {}
    for freq in sorted(ok["freq"].unique(), key=parse_freq):
        here = ok[ok["freq"] == freq]
        parts = []
        first = here.sort_values(["strategy", "params", "seed"])["cell"].iloc[0]  # the same orders in every cell
        twap = here[(here["side"] == "all") & (here["cell"] == first)]
        twap = twap.groupby("scenario", sort=False)[stats].mean().reset_index()
        parts.append(twap.assign(Order=twap["scenario"], **{"Min period": "All"}))
        flexible = here[(here["side"] != "all") & (here["benchmark"] == benchmark) & (here["target"] == target)]
        flexible = flexible[flexible["strategy"] != "twap"]  # its rows are the TWAP rows above
        for (strategy, params), cells in flexible.groupby(["strategy", "params"], sort=False):
            name = strategy.upper() + (f" [{params}]" if params else "")
            grouped = cells.groupby(["side", "match", "min_period"], sort=True)[stats].mean().reset_index()
            grouped = grouped.sort_values(["side", "match", "min_period"])
            grouped["Order"] = name + " " + grouped["side"].str.upper()
            grouped["Min period"] = np.where(grouped["match"], "Match", grouped["min_period"].astype(int).astype(str))
            parts.append(grouped)
        table = pd.concat(parts, ignore_index=True)[["Order", "Min period", *stats]]
        table["bps_N"] = table["bps_N"].round().astype(int)
        tables[freq] = table.rename(columns={c: c.removeprefix("bps_") for c in stats})
    return tables


def trusted(rows: pd.DataFrame) -> pd.DataFrame:
    """The evaluated cells whose look-ahead audit did not fail (``sweep-summary`` lists the others)."""
    if not len(rows):
        return rows
    ok = rows[rows["status"] == "ok"]
    return ok[~ok["audit"].astype(str).str.startswith("FAILED")] if "audit" in ok else ok


def seeds_view(rows: pd.DataFrame) -> pd.DataFrame:
    """Per strategy × parameter set × asset × frequency × horizon × scenario (not the TWAP rows): mean
    perf_bps over seeds, its spread (max − min), the number of seeds, the mean CI across orders
    (each seed's 95 % date-block CI, averaged), and whether the seeds disagree in sign."""
    ok = trusted(rows)
    ok = ok[ok["side"] != "all"]
    keys = ["strategy", "params", "asset", "freq", "horizon", "scenario"]
    grouped = ok.groupby(keys, sort=False)
    view = grouped.agg(seeds=("seed", "nunique"), mean_over_seeds=("perf_bps_mean", "mean"),
                       seed_min=("perf_bps_mean", "min"), seed_max=("perf_bps_mean", "max"),
                       ci_lo_orders=("perf_bps_ci_lo", "mean"), ci_hi_orders=("perf_bps_ci_hi", "mean")).reset_index()
    view["seed_spread"] = view.pop("seed_max") - view["seed_min"]
    flips = grouped["perf_bps_mean"].agg(lambda v: bool((v > 0).any() and (v < 0).any())).reset_index(drop=True)
    view["sign_flips"] = flips.to_numpy()
    return view.drop(columns=["seed_min"])


def frequency_overview(rows: pd.DataFrame, *, benchmark: str = "vwap", target: str = "quantity",
                       period: int = 1, horizon: int | None = None) -> pd.DataFrame:
    """One row per asset × frequency (finest first): N, the ``TWAP Volume`` row's mean and std, and
    each other strategy's BUY and SELL mean bps (paper sign) at minimum period ``period`` — the
    paper's multi-frequency tables in one screen (means over seeds)."""
    ok = trusted(rows)
    if horizon is not None:
        ok = ok[ok["horizon"] == horizon]
    elif ok["horizon"].nunique() > 1:
        raise ParameterError(f"frequency_overview: the sweep has several horizons ({sorted(ok['horizon'].unique())}); "
                             "pass horizon=")
    out = []
    for (asset, freq), here in ok.groupby(["asset", "freq"], sort=False):
        twap = here[here["scenario"] == "TWAP Volume"]
        row = {"Asset": asset, "Freq": freq, "N": int(round(twap["bps_N"].mean())),
               "TWAP Volume mean": twap["bps_Mean"].mean(), "TWAP Volume std": twap["bps_Std"].mean()}
        for (strategy, params), cells in here[here["strategy"] != "twap"].groupby(["strategy", "params"], sort=False):
            name = strategy.upper() + (f" [{params}]" if params else "")
            for side in ("buy", "sell"):
                picked = cells[(cells["side"] == side) & (cells["benchmark"] == benchmark) & (cells["target"] == target)
                               & (cells["min_period"] == period) & ~cells["match"].astype(bool)]
                row[f"{name} {side.upper()} m={period}"] = picked["bps_Mean"].mean()
        out.append(row)
    table = pd.DataFrame(out)
    if len(table):
        table["_order"] = [parse_freq(f) for f in table["Freq"]]
        table = table.sort_values(["Asset", "_order"]).drop(columns="_order").reset_index(drop=True)
    return table
