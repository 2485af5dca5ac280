"""Saving an evaluation or a comparison as a run folder: tables (CSV, Markdown, LaTeX), per-order
results (``results_<strategy>.npz``), a JSON record of the run (``run.json`` / ``compare.json``) and,
last, the completion manifest.

A run folder is written whole or not at all: everything goes into a hidden staging folder beside the
target, the manifest is written last, and the staging folder is renamed into place (``staged_folder``).
An interrupted run leaves nothing behind; a folder that holds other files is only replaced with
``overwrite=True``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from execbench.analysis.tables import comparison_table
from execbench.contracts import ALLOC_EPS, Period, run_periods
from execbench.data.prices import PRICE_CONVENTION
from execbench.orders import SIZE_LOOKBACK
from execbench.pipeline.evaluation import Comparison, Evaluation
from execbench.reporting.writers import write_table
from execbench.threads import cores

if TYPE_CHECKING:
    import pandas as pd
from execbench.errors import ParameterError
from execbench.results import SIGN_CONVENTION, new_run_id, write_manifest


def default_out_dir(asset: str, label: str, root: Path = Path("reports")) -> Path:
    """``reports/<asset>-<label>-<UTC timestamp>/`` (label: the strategy, or ``compare``)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in f"{asset}-{label}")
    return root / f"{safe}-{stamp}"


def prepare_out_dir(out_dir: str | Path, *, overwrite: bool = False, option: str = "--out") -> Path:
    """Check, before any work, that ``out_dir`` can receive a run: not a file, not a folder holding
    other files (unless ``overwrite``), and inside a writable folder.  Returns it as a ``Path``."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ParameterError(f"{option} {out_dir}: is a file; expected a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise ParameterError(f"{option} {out_dir}: holds other files (an earlier run?); choose another folder or pass "
                             f"--overwrite to replace it")
    parent = out_dir.resolve().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ParameterError(f"{option} {out_dir}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK):
        raise ParameterError(f"{option} {out_dir}: {parent} is not writable")
    return out_dir


@contextmanager
def staged_folder(out_dir: str | Path, *, overwrite: bool = False, run_id: str | None = None) -> Iterator[Path]:
    """Yield a hidden staging folder beside ``out_dir``; when the block completes, write the manifest
    (with ``run_id``) and move the folder into place (replacing ``out_dir`` only with ``overwrite``).
    If the block raises (or is interrupted), the staging folder is removed and ``out_dir`` is untouched."""
    out_dir = prepare_out_dir(out_dir, overwrite=overwrite)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    run_id = run_id or new_run_id()
    stage = out_dir.parent / f".{out_dir.name}.partial-{run_id[:12]}"
    stage.mkdir()
    try:
        yield stage
        write_manifest(stage, run_id)
        if out_dir.exists():
            prepare_out_dir(out_dir, overwrite=overwrite)  # nothing appeared meanwhile
            shutil.rmtree(out_dir)
        os.replace(stage, out_dir)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


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
                           f"{SIZE_LOOKBACK} bars before the origin x T); sets each order's quantity; participation figures, participation-capped scenarios, market impact and strategies that trade a share of market volume (pov) depend on it"),
            "impact": ("none: fills at the bar price (the paper's setting)" if evaluation.impact is None
                       or not evaluation.impact.active else evaluation.impact.describe()),
        },
        "timings_s": {k: round(v, 3) for k, v in evaluation.timings.items()},
        "environment": {"python": sys.version.split()[0], "platform": platform.platform(),
                        "numpy": version("numpy"), "numba": version("numba"), "pandas": version("pandas")},
        **(extra or {}),
    }


def _write_edges(table, out_dir: Path, where: str) -> list[Path]:
    return write_table(table, out_dir, "edges",
                       caption=f"Edge (perf_bps, positive = better) against the realised-window benchmark (the "
                               f"contract), the full-window benchmark and the arrival price; the option's value "
                               f"(optstop on the same orders) and the rest = edge vs realised - option, with 95% "
                               f"date-block CIs and the HAC p-value of the rest, {where}.")


BESIDE_TABLES_BYTES = 64 * 2**20  # the largest float64 (orders × scenarios) field whose file is written beside the tables


class _InPlace:
    """An executor that runs each job as it is submitted."""

    def submit(self, fn, *args, **kwargs) -> Future:
        done: Future = Future()
        done.set_result(fn(*args, **kwargs))
        return done


def _large(evaluation: Evaluation) -> bool:
    """Whether a result field is over ``BESIDE_TABLES_BYTES``: the run is large and memory comes first."""
    return evaluation.result.n_orders * len(evaluation.result.grid) * 8 > BESIDE_TABLES_BYTES


@contextmanager
def _results_writer(evaluations: list[Evaluation]) -> Iterator[ThreadPoolExecutor | _InPlace]:
    """Threads that write the results files, one per core, while the caller computes and writes the
    tables: deflating them releases the GIL (a comparison's six files took 4 s one after another).  Where
    a result field is over ``BESIDE_TABLES_BYTES``, the run is large and memory comes first: the files are
    written one after another, after the tables, so the two peaks do not add up (crypto5 1h from 2019:
    0.79 GB, against 1.44 GB written beside the tables)."""
    if any(_large(e) for e in evaluations):
        yield _InPlace()
        return
    with ThreadPoolExecutor(cores(), thread_name_prefix="execbench-results") as writer:
        yield writer


def _resolved(paths: list[Path | Future]) -> list[Path]:
    """``paths`` with every pending write's own paths, in order (an error in a write is raised here)."""
    out: list[Path] = []
    for item in paths:
        done = item.result() if isinstance(item, Future) else item
        out += done if isinstance(done, list) else [done]
    return out


def _audit_record(evaluation: Evaluation) -> dict | None:
    return None if evaluation.audit is None else evaluation.audit.to_dict()


def _where(evaluation: Evaluation) -> str:
    return (f"{evaluation.asset} {evaluation.freq}, T={evaluation.horizon}, test from "
            f"{evaluation.split.test_start.date()}")


class ComparisonFolder:
    """A comparison's run folder while its strategies are evaluated (``comparison_folder``).

    ``add`` starts writing a strategy's scenario statistics and per-order results as soon as it is
    evaluated, on one writer thread beside the next strategy's evaluation (deflating releases the GIL: a
    BTCUSDT comparison's six results files are about 2.4 s of CPU); ``finish`` writes the rest and returns
    the final paths.  Large runs (a result field over ``BESIDE_TABLES_BYTES``) are not written early: their
    files are written one after another, after the tables, as ``save_comparison`` does.
    """

    def __init__(self, out_dir: Path, stage: Path, run_id: str, pool: ThreadPoolExecutor):
        self.out_dir, self.stage, self.run_id, self._pool = Path(out_dir), stage, run_id, pool
        self._started: dict[str, tuple[Evaluation, list[Future]]] = {}
        self.finished = False

    def __repr__(self) -> str:
        return f"ComparisonFolder({self.out_dir}, {len(self._started)} strategies started)"

    def _raise_failed(self) -> None:
        """Raise the error of an early write that has already failed (a full disk is reported at once)."""
        for _, futures in self._started.values():
            for future in futures:
                if future.done() and future.exception() is not None:
                    raise future.exception()

    def add(self, name: str, evaluation: Evaluation) -> None:
        """Start writing ``evaluation``'s scenario statistics and results file (unless the run is large)."""
        self._raise_failed()
        if name in self._started:
            raise ValueError(f"ComparisonFolder.add: {name!r} was added already")
        if _large(evaluation):
            return
        self._started[name] = (evaluation, [self._pool.submit(_write_scenario_stats, name, evaluation, self.stage),
                                            self._pool.submit(_save_run_data, evaluation, self.stage, self.run_id)])

    def finish(self, comparison: Comparison | dict[str, Evaluation], *, periods: list[Period] | None = None,
               benchmark: str = "vwap", target: str = "quantity", extra: dict[str, Any] | None = None,
               tables: dict[str, Any] | None = None, edges: pd.DataFrame | None = None) -> list[Path]:
        """Write everything not yet written (``save_comparison``'s arguments) and wait for the early writes;
        returns the final paths (the folder is moved into place when the ``comparison_folder`` block ends).
        ``comparison`` must hold every evaluation ``add`` was given, under the same name."""
        self._raise_failed()
        stray = [k for k, (e, _) in self._started.items() if comparison.get(k) is not e]
        if stray:
            _resolved([f for _, futures in self._started.values() for f in futures])  # nothing still writes
            raise ValueError(f"ComparisonFolder.finish: {', '.join(stray)} added but not in the comparison as added")
        started = {k: futures for k, (_, futures) in self._started.items()}
        written = _write_comparison(comparison, self.stage, self.run_id, periods=periods, benchmark=benchmark,
                                    target=target, extra=extra, tables=tables, edges=edges, started=started)
        self.finished = True
        return [self.out_dir / p.name for p in written]


@contextmanager
def comparison_folder(out_dir: str | Path, *, overwrite: bool = False) -> Iterator[ComparisonFolder]:
    """A ``ComparisonFolder`` for ``out_dir``, written whole or not at all (``staged_folder``): call ``add``
    as each strategy is evaluated and ``finish`` once all are.  If the block raises (or ends without
    ``finish``), writes not yet begun are cancelled, the one under way ends, and nothing is left."""
    run_id = new_run_id()
    with staged_folder(out_dir, overwrite=overwrite, run_id=run_id) as stage:
        pool = ThreadPoolExecutor(1, thread_name_prefix="execbench-results")
        folder = ComparisonFolder(Path(out_dir), stage, run_id, pool)
        try:
            yield folder
            if not folder.finished:
                raise ValueError("comparison_folder: the block ended without ComparisonFolder.finish")
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # before the stage is moved into place or removed


def save_comparison(comparison: Comparison | dict[str, Evaluation], out_dir: Path, *,
                    periods: list[Period] | None = None, benchmark: str = "vwap", target: str = "quantity",
                    extra: dict[str, Any] | None = None, overwrite: bool = False,
                    tables: dict[str, Any] | None = None, edges: pd.DataFrame | None = None) -> list[Path]:
    """Write the comparison table, every strategy's per-scenario statistics and per-order results,
    ``compare.json`` (with every strategy's audit), any extra ``tables`` (stem → (DataFrame, caption)) and the
    manifest into ``out_dir``, whole or not at all (``staged_folder``); return the final paths.  ``edges``:
    ``Comparison.edges`` at these periods, benchmark and target, if the caller has it already."""
    with comparison_folder(out_dir, overwrite=overwrite) as folder:  # nothing added: all written here
        return folder.finish(comparison, periods=periods, benchmark=benchmark, target=target, extra=extra,
                             tables=tables, edges=edges)


def _write_scenario_stats(name: str, evaluation: Evaluation, out_dir: Path) -> list[Path]:
    return write_table(evaluation.table("scenarios"), out_dir, f"scenario_stats_{name}",
                       caption=f"{name}: every scenario, {_where(evaluation)}.")


def _save_run_data(evaluation: Evaluation, out_dir: Path, run_id: str, threads: int = 1) -> Path:
    return evaluation.run_data().save(out_dir, run_id, threads=threads)


def _write_comparison(comparison, out_dir: Path, run_id: str, *, periods, benchmark, target, extra,
                      tables, edges, started: dict[str, list[Future]]) -> list[Path]:
    """The comparison's files into ``out_dir``; ``started``: strategies whose scenario statistics and results
    are already being written (``ComparisonFolder.add``), with those writes."""
    first = next(iter(comparison.values()))
    where = _where(first)
    table = comparison_table({k: e.result for k, e in comparison.items()}, periods=periods, benchmark=benchmark,
                             target=target)
    paths: list[Path | Future] = write_table(
        table, out_dir, "comparison",
        caption=f"Mean bps vs {benchmark.upper()} ({target} target) on the same orders, {where}. {SIGN_CONVENTION}.")
    with _results_writer([e for k, e in comparison.items() if k not in started]) as writer:
        in_place = isinstance(writer, _InPlace)
        for name, evaluation in comparison.items():
            if name in started:
                paths += started[name]
                continue
            paths += _write_scenario_stats(name, evaluation, out_dir)
            # one file after another (a large run): each on every core; several at once: one core each
            paths.append(writer.submit(_save_run_data, evaluation, out_dir, run_id, cores() if in_place else 1))
        if edges is None:
            edges = Comparison(dict(comparison)).edges(periods, benchmark, target)
        paths += _write_edges(edges, out_dir, where)
        for stem, (frame, caption) in (tables or {}).items():
            paths += write_table(frame, out_dir, stem, caption=caption)
        paths = _resolved(paths)
    record = run_record(first)
    record["run_id"] = run_id
    record["strategy"] = list(comparison)
    record["strategy_params"] = {k: e.params for k, e in comparison.items()}
    record["timings_s"] = {k: {t: round(v, 3) for t, v in e.timings.items()} for k, e in comparison.items()}
    record["audit"] = {k: _audit_record(e) for k, e in comparison.items()}
    record["warnings"] = {k: list(e.warnings) for k, e in comparison.items()}
    record.update(extra or {})
    path = out_dir / "compare.json"
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return paths + [path]


def save_evaluation(evaluation: Evaluation, out_dir: Path, *, benchmark: str = "vwap", target: str = "quantity",
                    extra: dict[str, Any] | None = None, by: list[str] | None = None,
                    periods: list[Period] | None = None, overwrite: bool = False) -> list[Path]:
    """Write the paper table, the per-minimum-period table (mean and std), the per-scenario
    statistics, the shortfall table, the ``by`` breakdowns, the per-order results
    (``results_<strategy>.npz``, for reports), ``run.json`` (with the audit) and the manifest into
    ``out_dir``, whole or not at all (``staged_folder``); return the final paths."""
    run_id = new_run_id()
    with staged_folder(out_dir, overwrite=overwrite, run_id=run_id) as stage:
        written = _write_evaluation(evaluation, stage, run_id, benchmark=benchmark, target=target, extra=extra, by=by,
                                    periods=periods)
    return [Path(out_dir) / p.name for p in written]


def _write_evaluation(evaluation: Evaluation, out_dir: Path, run_id: str, *, benchmark, target, extra, by,
                      periods) -> list[Path]:
    where = _where(evaluation)
    choice = {"benchmark": benchmark, "target": target}
    periods = periods or run_periods(evaluation.horizon)
    with _results_writer([evaluation]) as writer:
        # the results made here, before the tables (made beside them, on the writer, the two peaks add up:
        # 40 MB more for run twap); deflated on every core, as only the tables run beside it
        saved = writer.submit(evaluation.run_data().save, out_dir, run_id, threads=cores())
        paths = _write_run_tables(evaluation, out_dir, where, choice, by, periods) + [saved.result()]
    record = run_record(evaluation, {"run_id": run_id, "audit": _audit_record(evaluation),
                                     "warnings": {evaluation.strategy: list(evaluation.warnings)}, **(extra or {})})
    path = out_dir / "run.json"
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return paths + [path]


def _write_run_tables(evaluation: Evaluation, out_dir: Path, where: str, choice: dict, by, periods) -> list[Path]:
    name = evaluation.strategy.upper()
    benchmark, target = choice["benchmark"], choice["target"]
    paths: list[Path] = []
    scenarios = evaluation.table("scenarios")  # first: the paper and minimum-period tables read their numbers from it
    paths += write_table(evaluation.table("paper", **choice), out_dir, "paper_table",
                         caption=f"{name} vs {benchmark.upper()} ({target} target), bps, {where}. {SIGN_CONVENTION}.")
    for stat in ("Mean", "Std"):
        paths += write_table(evaluation.table("min_period", stat=stat), out_dir, f"min_period_{stat.lower()}",
                             index=True, caption=f"{name}: {stat.lower()} bps by minimum period and scenario, {where}.")
    paths += write_table(scenarios, out_dir, "scenario_stats",
                         caption=f"{name}: every scenario, {where}.")
    paths += write_table(evaluation.table("shortfall", periods=periods, **choice), out_dir, "shortfall",
                         caption=f"{name}: implementation shortfall vs the arrival price (bps, positive = cost) and its "
                                 f"parts; bps vs the realised- and the full-window benchmark (paper sign), {where}.")
    paths += _write_edges(evaluation.table("edges", periods=periods, **choice), out_dir, where)
    for key in by or []:
        paths += write_table(evaluation.table("breakdown", by=key, periods=periods, **choice), out_dir, f"by_{key}",
                             caption=f"{name}: bps by {key} ({SIGN_CONVENTION}), {where}.")
    return paths
