"""Running a sweep on Dask (``dask.distributed``): a ``LocalCluster`` sized to this machine by default,
or an existing cluster (``scheduler="tcp://HOST:8786"`` or ``DASK_SCHEDULER_ADDRESS``), e.g. one that
``dask-jobqueue`` starts on SLURM/PBS or ``dask-kubernetes`` on Kubernetes.  Each cell is one task
(``execbench.sweep.cell.run_cell``); workers write the results into the sweep folder, which must
therefore be on storage every worker sees.  Finished cells are skipped on a rerun."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

from execbench.errors import DataError, ParameterError
from execbench.sweep.cell import SweepOptions, failure_record, one_line, run_cell
from execbench.sweep.grid import SweepCell, sweep_cells
from execbench.sweep.store import is_done, read_cells, read_failures, write_failure, write_record


def sweep(strategies: list[str], assets: list[str], *, out: str | Path, freqs: list[str | None] | None = None,
          horizons: list[int] | None = None, param_grid: dict[str, list[Any]] | None = None,
          seeds: list[int] | None = None, options: SweepOptions | None = None, workers: int | None = None,
          threads_per_worker: int = 1, scheduler: str | None = None,
          on_start: Callable[[dict[str, Any]], None] | None = None,
          on_cell: Callable[[dict[str, Any]], None] | None = None, command: str | None = None) -> pd.DataFrame:
    """Run every cell of the grid on Dask and return the sweep's tidy DataFrame (one row per cell ×
    scenario, finished cells of earlier runs included).

    Parameters
    ----------
    strategies, assets, freqs, horizons, param_grid, seeds
        The grid (``sweep_cells``); checked before any work starts.
    out
        The sweep folder (``execbench.sweep.store``); rerunning into it skips finished cells.
    options
        The split, order size, audit and statistics settings every cell shares.
    workers, threads_per_worker
        The ``LocalCluster``'s size (default: one single-threaded worker per core).
    scheduler
        An existing cluster's address (default ``DASK_SCHEDULER_ADDRESS``, else a ``LocalCluster``).
    on_start
        Called once with ``{"cells", "todo", "done", "dashboard"}`` before the tasks are submitted.
    on_cell
        Called with each finished cell's status record (``status``: ok, skipped or failed).
    """
    from dask.distributed import Client, LocalCluster, as_completed

    cells = sweep_cells(strategies, assets, freqs, horizons, param_grid, seeds)
    options = options or SweepOptions()
    out = Path(out).resolve()
    record = sweep_record(cells, options, command)
    prepare_folder(out, record)
    todo = [cell for cell in cells if not is_done(out, cell)]
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    started = time.perf_counter()
    cluster = None
    if address:
        try:
            client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ParameterError(f"--scheduler {address}: cannot connect ({type(exc).__name__}: {exc})") from None
    else:
        # each worker's own thread pools (the engine's Numba rows, BLAS) sized to its threads: no oversubscription
        threads = str(threads_per_worker)
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=threads_per_worker,
                               processes=True, dashboard_address=":0", silence_logs=40,
                               env={"NUMBA_NUM_THREADS": threads, "OMP_NUM_THREADS": threads,
                                    "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads})
        client = Client(cluster)
    try:
        if on_start is not None:
            on_start({"cells": len(cells), "todo": len(todo), "done": len(cells) - len(todo),
                      "dashboard": client.dashboard_link, "workers": len(client.scheduler_info()["workers"])})
        run = uuid.uuid4().hex[:8]  # task keys of this run only: another sweep on the same scheduler never shares one
        futures = client.map(run_cell, todo, options=options, out=str(out), pure=False,
                             key=[f"cell-{cell.key}-{run}" for cell in todo])
        cell_of = {future.key: cell for future, cell in zip(futures, todo, strict=True)}
        for future in as_completed(futures):
            if future.status == "finished":
                status = future.result()
            else:  # the worker died (memory, a crash, pre-emption) or the task was cancelled: that cell fails
                cell = cell_of[future.key]
                error = future.exception() if future.status == "error" else RuntimeError("task cancelled")
                status = {"cell": cell.key, "label": repr(cell), "status": "failed", "error": one_line(error),
                          "seconds": float("nan")}
                write_failure(out, cell, failure_record(cell, status["error"]))
            if on_cell is not None:
                on_cell(status)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    write_record(out, {**record, "seconds": round(time.perf_counter() - started, 3), "finished": True})
    return load_sweep(out)


def prepare_folder(out: Path, record: dict[str, Any]) -> None:
    """Create the sweep folder, or check that an existing one holds cells of the same options (split,
    order size, audit, statistics), data files and execbench version — a rerun with others would mix
    results, so it is refused in one line — then write ``sweep.json``."""
    import json

    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out}: a file, not a folder")
    path = out / "sweep.json"
    if path.is_file():
        try:
            before = json.loads(path.read_text())
        except (json.JSONDecodeError, OSError):
            raise DataError(f"{path}: unreadable; pass another --out") from None
        for name, now in (("options", record["options"]), ("data_sha256", record["data_sha256"]),
                          ("execbench", record["versions"]["execbench"])):
            was = before.get("versions", {}).get(name) if name == "execbench" else before.get(name)
            if name == "data_sha256" and was is not None:  # only the files both runs used
                was, now = ({k: v for k, v in d.items() if k in was and k in now} for d in (was, now))
            if was is not None and was != now:
                changed = (", ".join(f"{k} {was.get(k)!r} → {v!r}" for k, v in now.items() if was.get(k) != v)
                           if isinstance(now, dict) else f"{was} → {now}")
                raise ParameterError(f"--out {out}: this sweep folder was run with other {name} ({changed}); its "
                                     "finished cells would mix with these: pass another --out")
    elif out.is_dir() and any(out.iterdir()):
        raise DataError(f"--out {out}: holds files but no sweep.json; pass an empty or new folder")
    out.mkdir(parents=True, exist_ok=True)
    write_record(out, record)


def sweep_serial(cells: list[SweepCell], options: SweepOptions, out: str | Path) -> list[dict[str, Any]]:
    """The same cells one after the other in this process, no Dask (the benchmark's baseline)."""
    out = Path(out).resolve()
    prepare_folder(out, sweep_record(cells, options, None))
    return [run_cell(cell, options, str(out)) for cell in cells if not is_done(out, cell)]


def load_sweep(out: str | Path) -> pd.DataFrame:
    """A sweep folder's rows (one per cell × scenario; skipped cells one row with the reason) and its
    failures (one row per failed cell, ``status`` = failed, with the error)."""
    frame = read_cells(Path(out))
    failures = read_failures(Path(out))
    if len(failures):
        failures = failures.assign(status="failed", reason=failures.pop("error"))
        frame = pd.concat([frame, failures], ignore_index=True)
    return frame


def sweep_record(cells: list[SweepCell], options: SweepOptions, command: str | None) -> dict[str, Any]:
    """``sweep.json``: the grid, the options, versions, the data files' hashes and the command."""
    from execbench.data.bundled import UNIVERSES, bundled_datasets, universe_members
    from execbench.data.loading import file_sha256

    files = {(e.asset, e.freq): e.path for e in bundled_datasets()}
    hashes = {}
    for asset in sorted({cell.asset for cell in cells}):
        members = universe_members(asset) if asset.lower() in UNIVERSES else [asset]
        for member in members:
            for (name, freq), path in files.items():
                if name == member:  # the native files; coarser frequencies are resampled from them
                    hashes[f"{name} {freq}"] = file_sha256(path)
    return {"created_utc": pd.Timestamp.now("UTC").isoformat(timespec="seconds"),
            "command": command or " ".join(sys.argv),
            "grid": [{**asdict(cell), "params": cell.params_text, "key": cell.key} for cell in cells],
            "options": asdict(options), "data_sha256": hashes,
            "versions": {name: version(name) for name in ("execbench", "dask", "distributed", "numpy", "pandas", "numba")},
            "python": sys.version.split()[0]}
