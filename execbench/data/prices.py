"""Bar prices under execbench's price convention."""

from __future__ import annotations

import numpy as np
import pandas as pd

PRICE_CONVENTION = (
    "bar price = bar VWAP = quote_volume / volume; a zero-volume bar carries the last traded price "
    "and contributes no volume; zero-volume bars before the first trade take their own close"
)


def bar_prices(frame: pd.DataFrame) -> np.ndarray:
    """Return the float64 bar price of every bar (see ``PRICE_CONVENTION``)."""
    volume = frame["volume"].to_numpy("float64")
    quote = frame["quote_volume"].to_numpy("float64")
    traded = volume > 0
    price = pd.Series(np.where(traded, quote / np.where(traded, volume, 1.0), np.nan))
    price = price.ffill()
    if price.isna().any():
        fallback = frame["close"].to_numpy("float64") if "close" in frame.columns else price.bfill().to_numpy()
        price = price.fillna(pd.Series(fallback))
    return price.to_numpy("float64")
