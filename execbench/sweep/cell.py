"""One sweep cell, run on a Dask worker: load the bars, fit, audit, replay, compute the statistics
with date-block-bootstrap CIs, and write the cell's rows (and, when asked, its per-order results)
into the sweep folder itself — nothing large travels back through the scheduler.

A cell whose strategy runs a checkpoint made for another asset or frequency is *skipped* with the
reason (``Strategy.checkpoint_mismatch``), never evaluated with the wrong model.  A cell that raises is
recorded with its one-line error and the sweep goes on."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from execbench.sweep.grid import SweepCell, takes_seed
from execbench.sweep.store import cell_path, write_atomic, write_cell, write_failure


@dataclass(frozen=True)
class SweepOptions:
    """What every cell shares: the split dates, order size, audit and statistics settings."""

    test_start: str | None = None
    val_start: str | None = None
    test_end: str | None = None
    order_size: float = 0.01
    audit: bool = True
    audit_orders: int = 500
    reps: int = 400
    per_order: bool = False


@lru_cache(maxsize=4)
def _bars(asset: str, freq: str):
    """Bars per worker process — the cells of one asset and frequency load them once — and the data
    warnings their loading gave (kept with every cell that uses them)."""
    from execbench.data import load_bars

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bars = load_bars(asset, freq)
    return bars, tuple(str(w.message).splitlines()[0] for w in caught)


def run_cell(cell: SweepCell, options: SweepOptions, out: str) -> dict[str, Any]:
    """Run ``cell`` and write its rows under ``out``; returns a small status record (``status``: ok,
    skipped or failed; ``seconds``; ``error`` or ``reason``)."""
    started = time.perf_counter()
    status: dict[str, Any] = {"cell": cell.key, "label": repr(cell)}
    try:
        from execbench.orders import make_split
        from execbench.pipeline.evaluation import evaluate
        from execbench.strategy import load_strategy

        from execbench.data.loading import unavailable_freq

        reason = unavailable_freq(cell.asset, cell.freq)
        data_warnings: tuple[str, ...] = ()
        if not reason:
            bars, data_warnings = _bars(cell.asset, cell.freq)
            split = make_split(bars, options.test_start, options.val_start, options.test_end)
            strategy = load_strategy(cell.strategy, **cell.strategy_params(takes_seed(cell.strategy)))
            reason = strategy.checkpoint_mismatch(bars)
        if reason:
            write_cell(Path(out), cell, _cell_columns(cell, pd.DataFrame([{}]), status="skipped", reason=reason))
            return {**status, "status": "skipped", "reason": reason, "seconds": time.perf_counter() - started}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            evaluation = evaluate(strategy, bars, horizon=cell.horizon, split=split, order_size=options.order_size,
                                  audit=options.audit, audit_orders=options.audit_orders, seed=cell.seed,
                                  keep_allocations=False, option=False)
        if options.per_order:
            _write_per_order(Path(out), cell, evaluation)
        seconds = time.perf_counter() - started
        rows = cell_rows(evaluation, options.reps, cell.seed)
        said = list(dict.fromkeys([*data_warnings, *(str(w.message).splitlines()[0] for w in caught),
                                   *evaluation.warnings]))
        extra = {"audit": evaluation.audit_label(), "warnings": " | ".join(said), "orders": int(evaluation.result.n_orders),
                 **{f"skipped_{k}": int(v) for k, v in evaluation.windows.skipped.items()},
                 **{f"seconds_{k.removesuffix('_s')}": float(v) for k, v in evaluation.timings.items()},
                 "seconds": seconds}
        write_cell(Path(out), cell, _cell_columns(cell, rows, status="ok", reason="", **extra))
        return {**status, "status": "ok", "seconds": time.perf_counter() - started}
    except Exception as exc:  # a cell's failure is recorded and isolated; the sweep goes on
        error = one_line(exc)
        write_failure(Path(out), cell, failure_record(cell, error))
        return {**status, "status": "failed", "error": error, "seconds": time.perf_counter() - started}


def failure_record(cell: SweepCell, error: str) -> dict[str, Any]:
    """What ``failed/<cell>.json`` keeps of a failed cell."""
    return {"cell": cell.key, "strategy": cell.strategy, "asset": cell.asset, "freq": cell.freq,
            "horizon": cell.horizon, "params": cell.params_text, "seed": cell.seed, "error": error}


def one_line(exc: BaseException) -> str:
    """An exception as one line: execbench's own messages as they are, others prefixed by their type."""
    from execbench.errors import ExecbenchError

    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return first if isinstance(exc, ExecbenchError) and first else f"{type(exc).__name__}: {first}"


def cell_rows(evaluation, reps: int = 400, seed: int = 0) -> pd.DataFrame:
    """One row per scenario (the paper's statistics of bps, mean perf_bps with its 95 % date-block CI,
    hit rate, …) plus the two TWAP baseline rows (``TWAP Volume`` / ``TWAP Notional`` against the
    full-horizon VWAP, as in the paper's tables)."""
    from execbench.analysis.inference import DateBlocks, mean_inference
    from execbench.analysis.stats import summarize
    from execbench.analysis.tables import scenario_table
    from execbench.results.run_data import BASELINE_LABELS

    result = evaluation.result
    table = scenario_table(result)
    blocks = DateBlocks.from_dates(result.orders["origin"].to_numpy("datetime64[ns]"), result.grid.horizon, reps=reps, seed=seed)
    valid = result.valid()
    lows, highs, block = [], [], []
    for s in range(len(result.grid)):
        inference = mean_inference(np.where(valid[:, s], result.perf_bps[:, s], np.nan), blocks)
        lows.append(inference.mean.low)
        highs.append(inference.mean.high)
        block.append(inference.block)
    table.insert(table.columns.get_loc("perf_bps_mean") + 1, "perf_bps_ci_lo", lows)
    table.insert(table.columns.get_loc("perf_bps_ci_lo") + 1, "perf_bps_ci_hi", highs)
    table["ci_block"] = block
    baseline = []
    for label, name in zip(BASELINE_LABELS, ("TWAP Volume", "TWAP Notional"), strict=True):
        values = evaluation.baseline.column("bps", label)
        baseline.append({"scenario": name, "side": "all", "benchmark": "vwap",
                         "target": "quantity" if "Volume" in name else "notional", "min_period": 0, "match": True,
                         **{f"bps_{k}": v for k, v in summarize(values).items()}})
    return pd.concat([pd.DataFrame(baseline), table], ignore_index=True)


def _cell_columns(cell: SweepCell, rows: pd.DataFrame, **extra: Any) -> pd.DataFrame:
    front = {"cell": cell.key, "strategy": cell.strategy, "horizon": cell.horizon, "params": cell.params_text,
             "seed": cell.seed, **extra}
    return pd.concat([pd.DataFrame({k: [v] * len(rows) for k, v in front.items()}), rows.reset_index(drop=True)],
                     axis=1)


def _write_per_order(out: Path, cell: SweepCell, evaluation) -> Path:
    """The cell's per-order results (``RunData``'s ``.npz``), written by the worker."""
    import shutil
    import tempfile

    target = cell_path(out, cell, "per_order", ".npz")
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        saved = evaluation.run_data().save(Path(tmp), cell.key)
        return write_atomic(target, lambda path: shutil.move(saved, path))
