"""Saving an evaluation: tables (CSV, Markdown, LaTeX) and a JSON record of the run."""

from __future__ import annotations

import json
import platform
import sys
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

from execbench.data.prices import PRICE_CONVENTION
from execbench.engine.kernels import ALLOC_EPS
from execbench.evaluate import Evaluation
from execbench.rundata import RunData
from execbench.shortfall import shortfall_table
from execbench.tables import (
    breakdown_table,
    comparison_table,
    min_period_table,
    paper_table,
    scenario_table,
    write_table,
)
from execbench.windows import SIZE_LOOKBACK

SIGN_CONVENTION = ("bps = (achieved / benchmark - 1) * 1e4 (paper sign: a good buy is negative, a good sell "
                   "positive); perf_bps is side-adjusted, positive = better than the benchmark")


def default_out_dir(asset: str, label: str, root: Path = Path("reports")) -> Path:
    """``reports/<asset>-<label>-<UTC timestamp>/`` (label: the strategy, or ``compare``)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in f"{asset}-{label}")
    return root / f"{safe}-{stamp}"


def run_record(evaluation: Evaluation, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything needed to reproduce and audit a run, as JSON-able values."""
    split = evaluation.split
    result = evaluation.result
    return {
        "execbench_version": version("execbench"),
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "strategy": evaluation.strategy,
        "strategy_params": evaluation.params,
        "asset": evaluation.asset,
        "freq": evaluation.freq,
        "horizon": evaluation.horizon,
        "split": {
            "val_start": None if split.val_start is None else str(split.val_start),
            "test_start": str(split.test_start),
            "test_end": None if split.test_end is None else str(split.test_end),
            "train_end": str(split.train_end),
        },
        "orders": {
            "evaluated": int(result.n_orders),
            "skipped": dict(evaluation.windows.skipped),
            "first_origin": str(result.orders["origin"].min()),
            "last_origin": str(result.orders["origin"].max()),
            "assets": sorted(set(result.orders["asset"])),
        },
        "scenarios": len(result.grid),
        "data": evaluation.data,
        "conventions": {
            "price": PRICE_CONVENTION,
            "sign": SIGN_CONVENTION,
            "timing": "the allocation for bar t uses information up to the close of bar t-1 only",
            "realised_window": f"ends at max(min_period, last bar with allocation > {ALLOC_EPS:g})",
            "order_size": (f"{evaluation.windows.order_size:g} of the expected window volume (mean volume of the "
                           f"{SIZE_LOOKBACK} bars before the origin x T); affects participation figures only"),
            "impact": ("none: fills at the bar price (the paper's setting)" if evaluation.impact is None
                       or not evaluation.impact.active else evaluation.impact.describe()),
        },
        "timings_s": {k: round(v, 3) for k, v in evaluation.timings.items()},
        "environment": {"python": sys.version.split()[0], "platform": platform.platform(),
                        "numpy": version("numpy"), "numba": version("numba"), "pandas": version("pandas")},
        **(extra or {}),
    }


def save_comparison(evaluations: dict[str, Evaluation], out_dir: Path, *, periods: list[int | str],
                    benchmark: str = "vwap", target: str = "quantity", extra: dict[str, Any] | None = None) -> list[Path]:
    """Write the comparison table, every strategy's per-scenario statistics and ``compare.json``."""
    first = next(iter(evaluations.values()))
    where = f"{first.asset} {first.freq}, T={first.horizon}, test from {first.split.test_start.date()}"
    table = comparison_table({k: e.result for k, e in evaluations.items()}, periods=periods, benchmark=benchmark,
                             target=target)
    paths = write_table(table, out_dir, "comparison",
                        caption=f"Mean bps vs {benchmark.upper()} ({target} target) on the same orders, {where}. "
                                f"{SIGN_CONVENTION}.")
    for name, evaluation in evaluations.items():
        paths += write_table(scenario_table(evaluation.result), out_dir, f"scenario_stats_{name}",
                             caption=f"{name}: every scenario, {where}.")
        paths.append(RunData.from_evaluation(evaluation).save(out_dir))
    record = run_record(first, extra)
    record["strategy"] = list(evaluations)
    record["strategy_params"] = {k: e.params for k, e in evaluations.items()}
    record["timings_s"] = {k: {t: round(v, 3) for t, v in e.timings.items()} for k, e in evaluations.items()}
    path = out_dir / "compare.json"
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return paths + [path]


def save_evaluation(evaluation: Evaluation, out_dir: Path, *, benchmark: str = "vwap", target: str = "quantity",
                    extra: dict[str, Any] | None = None, by: list[str] | None = None,
                    periods: list[int | str] | None = None) -> list[Path]:
    """Write the paper table, the per-minimum-period table (mean and std), the per-scenario
    statistics, the per-order results (``results_<strategy>.npz``, for reports) and ``run.json`` into
    ``out_dir``; return the written paths."""
    name = evaluation.strategy.upper()
    where = f"{evaluation.asset} {evaluation.freq}, T={evaluation.horizon}, test from {evaluation.split.test_start.date()}"
    paths: list[Path] = []
    paper = paper_table(evaluation.result, evaluation.baseline, strategy=name, benchmark=benchmark, target=target)
    paths += write_table(paper, out_dir, "paper_table",
                         caption=f"{name} vs {benchmark.upper()} ({target} target), bps, {where}. {SIGN_CONVENTION}.")
    for stat in ("Mean", "Std"):
        table = min_period_table(evaluation.result, stat=stat)
        paths += write_table(table, out_dir, f"min_period_{stat.lower()}", index=True,
                             caption=f"{name}: {stat.lower()} bps by minimum period and scenario, {where}.")
    paths += write_table(scenario_table(evaluation.result), out_dir, "scenario_stats",
                         caption=f"{name}: every scenario, {where}.")
    periods = periods or [1, max(1, evaluation.horizon // 2), "match"]
    paths += write_table(shortfall_table(evaluation.result, periods=periods, benchmark=benchmark, target=target),
                         out_dir, "shortfall",
                         caption=f"{name}: implementation shortfall vs the arrival price (bps, positive = cost) and its "
                                 f"parts; bps vs the realised- and the full-window benchmark (paper sign), {where}.")
    for key in by or []:
        paths += write_table(breakdown_table(evaluation.result, key, periods=periods, benchmark=benchmark,
                                             target=target), out_dir, f"by_{key}",
                             caption=f"{name}: bps by {key} ({SIGN_CONVENTION}), {where}.")
    paths.append(RunData.from_evaluation(evaluation).save(out_dir))
    record = out_dir / "run.json"
    record.write_text(json.dumps(run_record(evaluation, extra), indent=2, default=str) + "\n")
    paths.append(record)
    return paths
