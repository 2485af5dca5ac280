"""Writing bars in the bundled format (Parquet, or CSV by the file's suffix)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def write_bars(bars: pd.DataFrame, path: str | Path) -> Path:
    """Write ``bars`` to ``path`` (``.csv`` as CSV, anything else as Parquet); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        bars.to_csv(path)
    else:
        bars.to_parquet(path)
    return path
