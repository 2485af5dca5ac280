"""The bundled market data: the repository's ``data/`` folder, installed as the package
``execbench.bundled`` and found through ``importlib.resources`` (so a wheel works outside the checkout)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from execbench.errors import DataError

BUNDLE_PACKAGE = "execbench.bundled"
UNIVERSES = {"dow30": "dow", "crypto5": "binance"}


def data_dir() -> Path:
    """Folder of the bundled data: ``$EXECBENCH_DATA_DIR`` or the installed ``execbench.bundled`` package
    (the repository's ``data/`` in an editable install)."""
    override = os.environ.get("EXECBENCH_DATA_DIR")
    if override:
        return Path(override)
    root = files(BUNDLE_PACKAGE)
    if not isinstance(root, Path):
        raise DataError(f"the bundled data ({BUNDLE_PACKAGE}) is not on the file system ({root}); install "
                        "execbench unzipped or set EXECBENCH_DATA_DIR")
    return root


@dataclass(frozen=True)
class BundledDataset:
    """One bundled bar file."""

    asset: str
    freq: str
    path: Path
    group: str


@lru_cache(maxsize=4)
def _catalogue(root: Path) -> tuple[BundledDataset, ...]:
    entries = []
    for group in ("binance", "dow"):
        for path in sorted((root / group).glob("*_*.parquet")):
            asset, freq = path.stem.rsplit("_", 1)
            entries.append(BundledDataset(asset=asset, freq=freq, path=path, group=group))
    return tuple(entries)


def bundled_datasets() -> tuple[BundledDataset, ...]:
    """Every bundled dataset (asset × frequency) in ``data_dir()``."""
    return _catalogue(data_dir())


def bundled_assets() -> dict[str, list[str]]:
    """Bundled asset names mapped to their native frequencies, plus the universes."""
    out: dict[str, list[str]] = {}
    for entry in bundled_datasets():
        out.setdefault(entry.asset, []).append(entry.freq)
    for name in UNIVERSES:
        members = universe_members(name)
        if members:
            out[name] = sorted(set(out[members[0]]))
    return out


def universe_members(name: str) -> list[str]:
    """Assets of a bundled universe (``dow30``: the 30 DJIA members as of 2024-12-31)."""
    group = UNIVERSES[name.lower()]
    return sorted({e.asset for e in bundled_datasets() if e.group == group})
