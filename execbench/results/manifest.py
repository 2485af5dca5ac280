"""The completion manifest of a run folder: written last, it names the run (``run_id``) and every file
of the run with its size and SHA-256, so a reader can refuse a folder that is incomplete, corrupt or
mixes files of two runs."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from execbench.data.loading import file_sha256
from execbench.errors import DataError

MANIFEST = "manifest.json"
FORMAT = 1


def new_run_id() -> str:
    """A fresh run id (recorded in the run record, every results file and the manifest)."""
    return uuid.uuid4().hex


def write_manifest(folder: Path, run_id: str) -> Path:
    """Write ``manifest.json`` listing every file now in ``folder`` (recursively); returns its path."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    listing = {str(p.relative_to(folder)): {"bytes": p.stat().st_size, "sha256": file_sha256(p)} for p in files}
    path = folder / MANIFEST
    path.write_text(json.dumps({"format": FORMAT, "run_id": run_id, "files": listing}, indent=1) + "\n")
    return path


def read_manifest(folder: Path) -> dict[str, Any]:
    """The folder's manifest, or a ``DataError`` saying why the folder is not a complete run."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise DataError(f"{folder}: not an execbench run folder, or not a complete one (no {MANIFEST}: not a run, "
                        "an interrupted one, or one written before run folders had manifests); re-run it")
    try:
        manifest = json.loads(path.read_text())
        manifest["run_id"], manifest["files"]  # noqa: B018 (the keys must exist)
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: corrupt manifest ({type(exc).__name__}: {exc})") from None
    return manifest


def verify_file(folder: Path, name: str, manifest: dict[str, Any], *, hash: bool = True) -> Path:
    """``folder/name`` if the manifest lists it with this size and hash (``hash=False``: size only, for
    readers that check the run id inside the file instead); else a one-line ``DataError``."""
    path = Path(folder) / name
    entry = manifest["files"].get(name)
    if entry is None:
        raise DataError(f"{path}: not part of run {manifest['run_id']} (not in {MANIFEST}); the folder mixes runs")
    if not path.is_file():
        raise DataError(f"{path}: missing (listed in {MANIFEST} of run {manifest['run_id']})")
    if path.stat().st_size != entry["bytes"] or (hash and file_sha256(path) != entry["sha256"]):
        raise DataError(f"{path}: changed since run {manifest['run_id']} was written (size or SHA-256 differs from "
                        f"{MANIFEST}): truncated, corrupt or from another run")
    return path
