"""What saved folders hold: runs (``run.json``), comparisons (``compare.json``), sweeps (``sweep.json``)
and table folders (an experiment's CSVs and figures, e.g. ``execbench frontier``), found under roots
and described by a ``FolderInfo`` read from their records alone (fast: no per-order file is opened)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from execbench.errors import DataError

KINDS = ("run", "comparison", "sweep", "tables")
RECORD_OF = {"run.json": "run", "compare.json": "comparison", "sweep.json": "sweep"}
MAX_DEPTH = 4  # how far below a root folders are looked for


@dataclass(frozen=True)
class FolderInfo:
    """One saved folder: its kind, what it evaluated and where it came from."""

    path: Path
    kind: str
    assets: tuple[str, ...] = ()
    freqs: tuple[str, ...] = ()
    horizon: int | None = None
    strategies: tuple[str, ...] = ()
    first_origin: str = ""
    last_origin: str = ""
    orders: int | None = None
    created: str = ""
    version: str = ""
    command: str = ""
    audit: dict[str, bool | None] = field(default_factory=dict, compare=False)
    per_order: bool = False  # results_*.npz (runs, comparisons) or per_order/ (sweeps) are present
    record: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __repr__(self) -> str:
        what = ",".join(self.strategies) or "tables"
        return f"FolderInfo({self.kind} {self.name!r}: {what} on {','.join(self.assets) or '?'})"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def report(self) -> Path | None:
        """The folder's PDF report, if it has one."""
        found = sorted(self.path.glob("*.pdf"))
        preferred = self.path / "report.pdf"
        return preferred if preferred.is_file() else (found[0] if found and self.kind == "tables" else None)

    @property
    def audit_summary(self) -> str:
        """``passed`` / ``FAILED: a, b`` / ``not run``."""
        results = {k: v for k, v in self.audit.items() if v is not None}
        if not results:
            return "not run"
        failed = sorted(k for k, v in results.items() if not v)
        return f"FAILED: {', '.join(failed)}" if failed else "passed"

    def tables(self) -> dict[str, Path]:
        """Every CSV table in the folder (stem → path), for downloads."""
        return {p.stem: p for p in sorted(self.path.glob("*.csv"))}

    def summary(self) -> dict[str, Any]:
        """One row of the run browser."""
        return {"folder": self.name, "kind": self.kind, "assets": ", ".join(self.assets),
                "freq": ", ".join(self.freqs), "T": self.horizon, "strategies": ", ".join(self.strategies),
                "test period": f"{self.first_origin[:10]} → {self.last_origin[:10]}" if self.first_origin else "",
                "orders": self.orders, "audit": self.audit_summary, "per-order results": self.per_order,
                "created (UTC)": self.created[:19].replace("T", " "), "execbench": self.version,
                "path": str(self.path)}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable JSON record ({type(exc).__name__}: {exc})") from None


def _run_info(path: Path, kind: str, record: dict[str, Any]) -> FolderInfo:
    strategies = record["strategy"] if isinstance(record.get("strategy"), list) else [record.get("strategy", "?")]
    audits = record.get("audit") or {}
    if kind == "run":
        audits = {strategies[0]: audits} if audits else {}
    orders = record.get("orders") or {}
    return FolderInfo(
        path=path, kind=kind, assets=tuple(orders.get("assets") or [record.get("asset", "?")]),
        freqs=(str(record.get("freq", "")),), horizon=record.get("horizon"), strategies=tuple(strategies),
        first_origin=str(orders.get("first_origin", "")), last_origin=str(orders.get("last_origin", "")),
        orders=orders.get("evaluated"), created=str(record.get("created_utc", "")),
        version=str(record.get("execbench_version", "")), command=str(record.get("command") or ""),
        audit={name: (a or {}).get("passed") if isinstance(a, dict) else None for name, a in audits.items()}
        | {name: None for name in strategies if name not in audits},
        per_order=all((path / f"results_{name}.npz").is_file() for name in strategies), record=record)


def _sweep_info(path: Path, record: dict[str, Any]) -> FolderInfo:
    grid = record.get("grid") or []
    audits: dict[str, bool | None] = {}
    for strategy, passed in _sweep_audits(path):  # a strategy failed if any of its cells' audits failed
        if passed is not None:
            audits[strategy] = audits.get(strategy, True) and passed
        else:
            audits.setdefault(strategy, None)
    unique = lambda key: tuple(dict.fromkeys(str(cell[key]) for cell in grid))  # noqa: E731
    horizons = {cell["horizon"] for cell in grid}
    return FolderInfo(path=path, kind="sweep", assets=unique("asset"), freqs=unique("freq"),
                      horizon=horizons.pop() if len(horizons) == 1 else None, strategies=unique("strategy"),
                      orders=None, created=str(record.get("created_utc", "")),
                      version=str((record.get("versions") or {}).get("execbench", "")),
                      command=str(record.get("command") or ""), audit=audits,
                      per_order=(path / "per_order").is_dir(), record=record)


def _sweep_audits(path: Path) -> list[tuple[str, bool | None]]:
    """(strategy, audit passed) per finished cell: the cell files' ``audit`` column (one small column read)."""
    out = []
    for file in sorted((path / "cells").glob("asset=*/freq=*/*.parquet")):
        try:
            frame = pd.read_parquet(file, columns=["strategy", "audit"])
        except (OSError, ValueError, KeyError):
            continue
        if len(frame):
            audit = frame["audit"].iloc[0]
            out.append((str(frame["strategy"].iloc[0]),
                        None if audit is None or audit in ("", "skipped", "not run") else audit == "passed"))
    return out


def read_folder(path: str | Path) -> FolderInfo:
    """Describe one saved folder; a ``DataError`` names a folder that is none of the known kinds."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"{path}: no such folder")
    for name, kind in RECORD_OF.items():
        if (path / name).is_file():
            record = _read_json(path / name)
            return _sweep_info(path, record) if kind == "sweep" else _run_info(path, kind, record)
    if any(path.glob("*.csv")):
        return FolderInfo(path=path, kind="tables")
    raise DataError(f"{path}: not an execbench folder (no run.json, compare.json, sweep.json or CSV tables)")


def discover(roots: Iterable[str | Path]) -> list[FolderInfo]:
    """Every saved folder at or below ``roots`` (a root may itself be a folder), newest first within a
    root; hidden folders (runs being written) and a sweep's or run's own sub-folders are skipped."""
    found: list[FolderInfo] = []
    seen: set[Path] = set()
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            raise DataError(f"{root}: no such folder")
        for folder in _walk(root, 0):
            resolved = folder.resolve()
            if resolved in seen:
                continue
            try:
                found.append(read_folder(folder))
                seen.add(resolved)
            except DataError:
                continue
    return found


def _walk(folder: Path, depth: int) -> Iterable[Path]:
    if folder.name.startswith(".") and depth:
        return
    if any((folder / name).is_file() for name in RECORD_OF):
        yield folder  # a record's sub-folders (figures, cells) are part of it
        return
    if depth and any(folder.glob("*.csv")):
        yield folder
    if depth < MAX_DEPTH:
        for child in sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.name):
            yield from _walk(child, depth + 1)


def find(infos: list[FolderInfo], name: str) -> FolderInfo:
    """The folder called ``name`` (its folder name or path) among ``infos``."""
    for info in infos:
        if name in (info.name, str(info.path)) or Path(name).resolve() == info.path.resolve():
            return info
    raise DataError(f"{name}: not among the folders read ({', '.join(i.name for i in infos) or 'none'})")
