"""Saved results as one long table, and the per-order views a dashboard draws from.

``scenario_rows`` turns any folder's per-scenario statistics (a run's ``scenario_stats.csv``, a
comparison's ``scenario_stats_<strategy>.csv``, a sweep's cell files) into rows with the same columns
(``ROW_COLUMNS``), so a question or a view never cares which command wrote them.  The per-order
readers (``per_order``, ``execution_fan``, ``min_period_effect``, ``paired``, ``breakdown``) need the
folder's ``results_*.npz`` files and say so when they are absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from execbench.analysis.inference import DEFAULT_REPS, mean_inference
from execbench.analysis.significance import date_blocks, paired_breakdown, paired_table
from execbench.contracts import MATCH, scenario_label
from execbench.errors import DataError
from execbench.explore.catalog import FolderInfo
from execbench.results import RunData, read_manifest, verify_file

# sign: bps_* columns are paper sign ((achieved / benchmark - 1) * 1e4); perf_bps_* and hit_rate: positive = better
ROW_COLUMNS = ["folder", "kind", "asset", "freq", "horizon", "strategy", "params", "seed", "scenario", "side",
               "benchmark", "target", "period", "bps_N", "bps_Mean", "bps_Std", "bps_Median", "bps_P5", "bps_P95",
               "bps_Q25", "bps_Q75", "perf_bps_mean", "perf_bps_ci_lo", "perf_bps_ci_hi", "hit_rate", "mean_end_bar",
               "violation_share", "max_participation_p95", "audit"]
BREAKDOWN_KEYS = ("regime", "asset", "year")


def _period(frame: pd.DataFrame) -> pd.Series:
    match = frame["match"].astype(str).str.lower().isin(["true", "1"])
    return frame["min_period"].astype(int).astype(str).where(~match, MATCH)


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable table ({type(exc).__name__}: {exc})") from None


def scenario_rows(info: FolderInfo) -> pd.DataFrame:
    """Every strategy × scenario statistic the folder saved, as ``ROW_COLUMNS`` rows (empty for a
    table folder).  Sweeps contribute their evaluated cells only (skipped and failed ones have no rows)."""
    if info.kind == "sweep":
        from execbench.sweep.runner import load_sweep

        frame = load_sweep(info.path)
        if not len(frame) or "scenario" not in frame:
            return pd.DataFrame(columns=ROW_COLUMNS)
        frame = frame[frame["status"] == "ok"].copy()
    elif info.kind in ("run", "comparison"):
        parts = []
        for strategy in info.strategies:
            name = "scenario_stats.csv" if info.kind == "run" else f"scenario_stats_{strategy}.csv"
            part = _read_csv(info.path / name)
            part["strategy"] = strategy
            part["audit"] = {True: "passed", False: "FAILED", None: "skipped"}[info.audit.get(strategy)]
            parts.append(part)
        frame = pd.concat(parts, ignore_index=True)
        params = info.record.get("strategy_params") or {}
        params = params if info.kind == "comparison" else {info.strategies[0]: params}
        frame["params"] = frame["strategy"].map(lambda s: ", ".join(f"{k}={v}" for k, v in (params.get(s) or {}).items()))
        frame = frame.assign(asset=",".join(info.assets), freq=info.freqs[0], horizon=info.horizon,
                             seed=info.record.get("seed", 0), perf_bps_ci_lo=np.nan, perf_bps_ci_hi=np.nan)
    else:
        return pd.DataFrame(columns=ROW_COLUMNS)
    frame["period"] = _period(frame)
    frame = frame.assign(folder=info.name, kind=info.kind)
    return frame.reindex(columns=ROW_COLUMNS).reset_index(drop=True)


def results_index(infos: list[FolderInfo]) -> pd.DataFrame:
    """``scenario_rows`` of every folder, stacked."""
    parts = [scenario_rows(info) for info in infos]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ROW_COLUMNS)


def needs_per_order(info: FolderInfo, what: str) -> None:
    """A one-line ``DataError`` when ``what`` needs per-order results the folder does not hold."""
    if info.kind not in ("run", "comparison"):
        raise DataError(f"{info.path}: {what} needs a run or comparison folder (this is a {info.kind} folder)")
    if not info.per_order:
        command = info.command or f"execbench compare --strategies {','.join(info.strategies)} --asset {info.assets[0]}"
        raise DataError(f"{info.path}: {what} needs the per-order results (results_*.npz), which this folder does not "
                        f"hold (they are not committed with the examples); re-create it with: {command}")


def per_order(info: FolderInfo, *, allocations: bool = False, what: str = "this view") -> dict[str, RunData]:
    """Each strategy's per-order results, without the kept allocations unless asked (fast: each file is
    checked against the manifest by size and by the run id inside it, not re-hashed); ``what`` names the
    use in the error when the folder holds none."""
    needs_per_order(info, what)
    manifest = read_manifest(info.path)
    return {strategy: RunData.load(_results_file(info, strategy, manifest), run_id=manifest["run_id"],
                                   allocations=allocations, extras=False) for strategy in info.strategies}


def _results_file(info: FolderInfo, strategy: str, manifest: dict) -> Path:
    """``results_<strategy>.npz``, listed in the manifest with its size (the run id inside is checked on load)."""
    return verify_file(info.path, f"results_{strategy}.npz", manifest, hash=False)


def perf_samples(runs: dict[str, RunData], side: str, benchmark: str, target: str, period: int | str,
                 ) -> dict[str, np.ndarray]:
    """Each strategy's per-order perf_bps (positive = better) in one scenario."""
    label = scenario_label(side, benchmark, target, period)
    return {name: run.column("perf_bps", label) for name, run in runs.items()}


def execution_fan(info: FolderInfo, strategy: str, side: str, target: str, period: int | str) -> pd.DataFrame:
    """The cumulative fraction executed by bar (0..T) across orders: the 10/25/50/75/90 % quantiles, from
    the kept allocations of the VWAP-benchmark scenario (the ones a run keeps)."""
    needs_per_order(info, "the execution curves")
    manifest = read_manifest(info.path)
    path = _results_file(info, strategy, manifest)
    with np.load(path, allow_pickle=False) as data:
        if str(data["run_id"]) != manifest["run_id"]:
            raise DataError(f"{path}: written by run {str(data['run_id'])!r}, not by run {manifest['run_id']!r}; the "
                            "folder mixes runs")
        kept = data["kept"].tolist()
        label = scenario_label(side, "vwap", target, period)
        if label not in kept:
            raise DataError(f"{path}: no allocations kept for {label} (kept: {', '.join(kept[:4])}…)")
        allocations = data["allocations"][:, :, kept.index(label)]
    cumulative = np.concatenate([np.zeros((len(allocations), 1)), np.cumsum(allocations, axis=1)], axis=1)
    quantiles = np.percentile(cumulative, [10, 25, 50, 75, 90], axis=0)
    return pd.DataFrame(quantiles.T, columns=["q10", "q25", "q50", "q75", "q90"]).rename_axis("bar").reset_index()


def min_period_effect(runs: dict[str, RunData], side: str, benchmark: str, target: str, *, reps: int = DEFAULT_REPS,
                      seed: int = 0) -> pd.DataFrame:
    """Mean perf_bps (positive = better) per strategy and minimum period 1..T and the match case, with
    95 % date-block-bootstrap CIs (the blocks of each strategy's own orders)."""
    rows = []
    for name, run in runs.items():
        blocks = date_blocks(run, reps, seed)
        for period in [*range(1, run.horizon + 1), MATCH]:
            values = run.column("perf_bps", scenario_label(side, benchmark, target, period))
            inference = mean_inference(values, blocks)
            rows.append({"strategy": name, "period": str(period), "perf_bps": inference.mean.estimate,
                         "ci_lo": inference.mean.low, "ci_hi": inference.mean.high, "N": inference.n_orders})
    return pd.DataFrame(rows)


def paired(info: FolderInfo, runs: dict[str, RunData], benchmark: str, target: str, *, seed: int = 0) -> pd.DataFrame:
    """Each strategy minus TWAP on the same orders at every minimum period (``paired_table``)."""
    if "twap" not in runs:
        raise DataError(f"{info.path}: the paired tests are against TWAP, which this folder did not evaluate")
    periods = [*range(1, info.horizon + 1), MATCH]
    return paired_table(runs, periods=periods, benchmark=benchmark, target=target, seed=seed)


def breakdown(info: FolderInfo, by: str, *, runs: dict[str, RunData] | None = None, benchmark: str = "vwap",
              target: str = "quantity", seed: int = 0) -> pd.DataFrame:
    """The paired tests against TWAP within each regime, asset or year: the folder's saved
    ``paired_by_<by>.csv`` when it has one (vwap/quantity), else computed from the per-order results."""
    if by not in BREAKDOWN_KEYS:
        raise DataError(f"breakdown by {by!r}: expected one of {', '.join(BREAKDOWN_KEYS)}")
    saved = info.path / f"paired_by_{by}.csv"
    if saved.is_file() and (benchmark, target) == ("vwap", "quantity"):
        return _read_csv(saved)
    runs = runs if runs is not None else per_order(info)
    if "twap" not in runs:
        raise DataError(f"{info.path}: the breakdowns are paired tests against TWAP, which this folder did not evaluate")
    if by == "regime" and "regime" not in runs["twap"].orders:
        raise DataError(f"{info.path}: this run did not record the volatility regime of its orders")
    return paired_breakdown(runs, by=by, periods=[1, MATCH], benchmark=benchmark, target=target, seed=seed)
