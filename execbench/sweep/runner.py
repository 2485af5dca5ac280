"""Running a sweep on Dask (``dask.distributed``): a ``LocalCluster`` sized to this machine by default,
or an existing cluster (``scheduler="tcp://HOST:8786"`` or ``DASK_SCHEDULER_ADDRESS``), e.g. one that
``dask-jobqueue`` starts on SLURM/PBS or ``dask-kubernetes`` on Kubernetes.  Each cell is one task
(``execbench.sweep.cell.run_cell``); workers write the results into the sweep folder, which must
therefore be on storage every worker sees.  Finished cells are skipped on a rerun."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

from execbench.sweep.cell import SweepOptions, run_cell
from execbench.sweep.grid import SweepCell, sweep_cells
from execbench.sweep.store import is_done, read_cells, read_failures, write_record


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
    check_options(out, options)
    out.mkdir(parents=True, exist_ok=True)
    todo = [cell for cell in cells if not is_done(out, cell)]
    record = sweep_record(cells, options, command)
    write_record(out, record)
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    started = time.perf_counter()
    cluster = None
    if address:
        client = Client(address)
    else:
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=threads_per_worker,
                               processes=True, dashboard_address=":0", silence_logs=40)
        client = Client(cluster)
    try:
        if on_start is not None:
            on_start({"cells": len(cells), "todo": len(todo), "done": len(cells) - len(todo),
                      "dashboard": client.dashboard_link, "workers": len(client.scheduler_info()["workers"])})
        futures = client.map(run_cell, todo, options=options, out=str(out), pure=False,
                             key=[f"cell-{cell.key}" for cell in todo])
        for future in as_completed(futures):
            status = future.result()
            if on_cell is not None:
                on_cell(status)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    write_record(out, {**record, "seconds": round(time.perf_counter() - started, 3), "finished": True})
    return load_sweep(out)


def check_options(out: Path, options: SweepOptions) -> None:
    """A sweep folder holds cells of one set of options (split, order size, audit, statistics): a rerun
    with others would mix results, so it is refused in one line."""
    import json

    from execbench.errors import ParameterError

    path = out / "sweep.json"
    if not path.is_file():
        return
    try:
        before = json.loads(path.read_text()).get("options")
    except (json.JSONDecodeError, OSError):
        raise ParameterError(f"{path}: unreadable; pass another --out") from None
    now = asdict(options)
    if before is not None and before != now:
        changed = ", ".join(f"{k} {before.get(k)!r} → {v!r}" for k, v in now.items() if before.get(k) != v)
        raise ParameterError(f"--out {out}: this sweep folder was run with other options ({changed}); its finished "
                             "cells would mix with these: pass another --out")


def sweep_serial(cells: list[SweepCell], options: SweepOptions, out: str | Path) -> list[dict[str, Any]]:
    """The same cells one after the other in this process, no Dask (the benchmark's baseline)."""
    out = Path(out).resolve()
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
