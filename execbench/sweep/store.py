"""A sweep's folder: one Parquet file per finished cell, partitioned by asset and frequency
(``cells/asset=A/freq=F/<key>.parquet``; ``execbench.sweep.load_sweep`` reads the set: a skipped
cell's file holds one row and fewer columns, so read it file by file, not as one Parquet dataset),
the failures (``failed/<key>.json``, one line each), the per-order results when asked
(``per_order/asset=A/freq=F/<key>.npz``) and ``sweep.json`` (the grid, versions, data hashes, the
command).  Every file is written to a temporary name and renamed, so an interrupted sweep leaves only
whole files: a cell is finished exactly when its Parquet file exists."""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from execbench.sweep.grid import SweepCell


def partition(asset: str) -> str:
    """The folder name of an asset: its name, or for a file or folder its stem and a short hash of the
    path (the asset itself is a column of the rows)."""
    if re.fullmatch(r"[A-Za-z0-9_.:-]+", asset) and not asset.startswith("."):
        return asset
    return f"{Path(asset).stem or 'data'}-{hashlib.sha256(asset.encode()).hexdigest()[:8]}"


def cell_path(out: Path, cell: SweepCell, kind: str = "cells", suffix: str = ".parquet") -> Path:
    """Where ``cell``'s file of ``kind`` (cells, per_order) lives."""
    return Path(out) / kind / f"asset={partition(cell.asset)}" / f"freq={cell.freq}" / f"{cell.key}{suffix}"


def failure_path(out: Path, cell: SweepCell) -> Path:
    return Path(out) / "failed" / f"{cell.key}.json"


def is_done(out: Path, cell: SweepCell) -> bool:
    """Whether the cell finished in an earlier run (evaluated or skipped)."""
    return cell_path(out, cell).is_file()


def write_atomic(path: Path, write) -> Path:
    """``write(tmp_path)`` then rename onto ``path``: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")  # unique across hosts and retries
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_cell(out: Path, cell: SweepCell, rows: pd.DataFrame) -> Path:
    """The cell's rows, with its asset and frequency."""
    failure_path(out, cell).unlink(missing_ok=True)
    frame = rows.assign(asset=cell.asset, freq=cell.freq)
    return write_atomic(cell_path(out, cell), lambda tmp: frame.to_parquet(tmp, index=False))


def write_failure(out: Path, cell: SweepCell, record: dict[str, Any]) -> Path:
    return write_atomic(failure_path(out, cell), lambda tmp: tmp.write_text(json.dumps(record, default=str) + "\n"))


def read_cells(out: Path) -> pd.DataFrame:
    """Every finished cell's rows (empty if none)."""
    root = Path(out) / "cells"
    files = sorted(root.glob("asset=*/freq=*/*.parquet")) if root.is_dir() else []
    if not files:
        return pd.DataFrame()
    # file by file: a skipped cell's one row has fewer columns than an evaluated cell's
    return pd.concat([pd.read_parquet(path) for path in files], ignore_index=True)


def read_failures(out: Path) -> pd.DataFrame:
    """The cells that raised in the last run that tried them (one row each, with the error line)."""
    root = Path(out) / "failed"
    records = [json.loads(p.read_text()) for p in sorted(root.glob("*.json"))] if root.is_dir() else []
    return pd.DataFrame(records)


def write_record(out: Path, record: dict[str, Any]) -> Path:
    """``sweep.json``; an earlier record's runs are kept in ``history``."""
    path = Path(out) / "sweep.json"
    history = []
    if path.is_file():
        try:
            old = json.loads(path.read_text())
            history = old.pop("history", []) + [old]
        except (json.JSONDecodeError, OSError):
            history = []
    text = json.dumps({**record, "history": history[-20:]}, indent=2, default=str) + "\n"
    return write_atomic(path, lambda tmp: tmp.write_text(text))
