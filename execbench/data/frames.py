"""Walking the assets of a bars frame (one asset, or a universe indexed by asset and timestamp)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def iter_assets(bars: "pd.DataFrame") -> Iterator[tuple[str, "pd.DataFrame"]]:
    """Yield ``(asset, frame)`` for a single-asset frame or each member of a universe frame."""
    if bars.index.nlevels > 1:
        for name, frame in bars.groupby(level="asset", sort=False):
            single = frame.droplevel("asset")
            single.attrs = {**bars.attrs, "asset": name}
            yield name, single
    else:
        yield bars.attrs.get("asset", "asset"), bars


def bar_times(bars: "pd.DataFrame"):
    """The bar open times of a single-asset or universe frame (the ``timestamp`` level)."""
    index = bars.index
    return index.get_level_values("timestamp") if index.nlevels > 1 else index
