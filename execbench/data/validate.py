"""Validation of canonical bar frames: clear errors naming the file, column and first bad bar."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from execbench.errors import DataError

VWAP_RANGE_TOLERANCE = 1e-6  # relative; bundled volumes are float32 (~6e-8 relative precision)


class DataWarning(UserWarning):
    """Suspicious but usable market data (e.g. bar VWAP outside [low, high])."""


def _first(index: pd.DatetimeIndex, mask: np.ndarray) -> str:
    return str(index[int(np.argmax(mask))])


def validate_bars(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check a canonical bar frame and return it unchanged.

    Errors (``DataError``): missing ``volume``/``quote_volume``, NaN in any column, negative
    volume or quote volume, volume and quote volume disagreeing on whether the bar traded,
    unsorted or duplicate timestamps.  Warning (``DataWarning``): bar VWAP outside
    [low, high] beyond a relative tolerance of 1e-6.

    Parameters
    ----------
    frame
        A frame with a UTC ``DatetimeIndex`` and canonical columns.
    source
        The file or dataset name used in messages.
    """
    for column in ("volume", "quote_volume"):
        if column not in frame.columns:
            raise DataError(f"{source}: missing column {column!r}")
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(f"{source}: index must be timestamps, got {type(index).__name__}")
    if len(frame) == 0:
        raise DataError(f"{source}: no bars")
    stamps = index.asi8
    steps = np.diff(stamps)
    if (steps < 0).any():
        where = int(np.argmax(steps < 0)) + 1
        raise DataError(f"{source}: column 'timestamp' is not sorted; first out-of-order bar at {index[where]}")
    if (steps == 0).any():
        where = int(np.argmax(steps == 0)) + 1
        raise DataError(f"{source}: column 'timestamp' has duplicates; first duplicate at {index[where]}")
    for column in frame.columns:
        values = frame[column].to_numpy("float64")
        nan = ~np.isfinite(values)
        if nan.any():
            raise DataError(f"{source}: column {column!r} has NaN/inf values; first at {_first(index, nan)}")
    volume = frame["volume"].to_numpy("float64")
    quote = frame["quote_volume"].to_numpy("float64")
    for column, values in (("volume", volume), ("quote_volume", quote)):
        negative = values < 0
        if negative.any():
            raise DataError(f"{source}: column {column!r} is negative; first at {_first(index, negative)}")
    mismatch = (volume > 0) != (quote > 0)
    if mismatch.any():
        raise DataError(
            f"{source}: columns 'volume' and 'quote_volume' disagree on whether the bar traded "
            f"(one is zero, the other positive); first at {_first(index, mismatch)}"
        )
    if "low" in frame.columns and "high" in frame.columns:
        traded = volume > 0
        vwap = np.divide(quote, volume, out=np.zeros_like(quote), where=traded)
        low = frame["low"].to_numpy("float64")
        high = frame["high"].to_numpy("float64")
        outside = traded & (
            (vwap < low * (1 - VWAP_RANGE_TOLERANCE)) | (vwap > high * (1 + VWAP_RANGE_TOLERANCE))
        )
        if outside.any():
            warnings.warn(
                f"{source}: bar VWAP (quote_volume / volume) outside [low, high] on {int(outside.sum())} bars; "
                f"first at {_first(index, outside)}",
                DataWarning,
                stacklevel=2,
            )
    return frame
