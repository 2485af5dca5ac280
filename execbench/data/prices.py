"""Bar prices under execbench's price convention."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

PRICE_CONVENTION = (
    "bar price = bar VWAP = quote_volume / volume; a zero-volume bar carries the last traded price "
    "and contributes no volume; zero-volume bars before the first trade take their own close"
)


def _fill(values: np.ndarray, backward: bool = False) -> np.ndarray:
    """Carry the last non-NaN value forward (or the next one backward); leading NaNs stay."""
    x = values[::-1] if backward else values
    positions = np.where(np.isnan(x), 0, np.arange(x.size))
    filled = x[np.maximum.accumulate(positions)] if x.size else x
    filled = np.where(np.isnan(x) & (np.maximum.accumulate(~np.isnan(x)) == 0), np.nan, filled)
    return filled[::-1] if backward else filled


def bar_prices(frame: "pd.DataFrame") -> np.ndarray:
    """Return the float64 bar price of every bar (see ``PRICE_CONVENTION``)."""
    volume = frame["volume"].to_numpy("float64")
    quote = frame["quote_volume"].to_numpy("float64")
    traded = volume > 0
    price = _fill(np.where(traded, quote / np.where(traded, volume, 1.0), np.nan))
    if np.isnan(price).any():
        fallback = frame["close"].to_numpy("float64") if "close" in frame.columns else _fill(price, backward=True)
        price = np.where(np.isnan(price), fallback, price)
    return price.astype(np.float64)
