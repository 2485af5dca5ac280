"""Resampling bars to a coarser frequency (sums volume and quote volume, so bar VWAPs stay exact)."""

from __future__ import annotations

import warnings

import pandas as pd

from execbench.data.frequency import format_freq, parse_freq
from execbench.data.validate import DataWarning
from execbench.errors import DataError

_AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum", "quote_volume": "sum"}


def resample_bars(frame: pd.DataFrame, freq: str, source_freq: str | None = None) -> pd.DataFrame:
    """Aggregate bars to ``freq``, a whole multiple of the source frequency.

    Bins are aligned to the Unix epoch (midnight UTC for any divisor of a day) and labelled by
    their open time.  A bin missing any of its source bars (a data gap) is dropped, with a
    warning, so the gap stays a gap instead of becoming a short bar.

    Parameters
    ----------
    frame
        Canonical single-asset bar frame.
    freq
        Target frequency, e.g. ``"90m"``.
    source_freq
        Frequency of ``frame``; defaults to ``frame.attrs["freq"]``.

    Raises
    ------
    DataError
        If the target is not a whole multiple of the source, or the source is daily.
    """
    source_freq = source_freq or frame.attrs.get("freq")
    if source_freq is None:
        raise DataError("resample_bars: the source frequency is unknown; pass source_freq")
    source, target = parse_freq(source_freq), parse_freq(freq)
    if target == source:
        return frame
    if source >= pd.Timedelta(days=1):
        raise DataError(f"frequency {freq!r}: {source_freq} bars are daily sessions, which are not resampled (a week "
                        "of sessions is not a fixed number of days)")
    ratio = target / source
    if target < source or ratio != int(ratio):
        raise DataError(
            f"frequency {freq!r}: cannot be built from {source_freq} bars; the target must be a whole "
            f"multiple of {source_freq}"
        )
    if source >= pd.Timedelta(days=1):
        raise DataError(f"frequency {freq!r}: resampling daily (session) bars is not supported")
    ratio = int(ratio)
    agg = {c: f for c, f in _AGG.items() if c in frame.columns}
    grouped = frame.resample(target, origin="epoch", label="left", closed="left")
    out = grouped.agg(agg)
    counts = grouped["volume"].count()
    complete = counts == ratio
    incomplete = int(((counts > 0) & ~complete).sum())
    if incomplete:
        first = counts.index[((counts > 0) & ~complete).to_numpy()][0]
        warnings.warn(
            f"resampling to {freq}: dropped {incomplete} bin(s) with missing source bars (data gaps); first at {first}",
            DataWarning,
            stacklevel=2,
        )
    out = out[complete.to_numpy()]
    out.index.name = "timestamp"
    out.attrs = dict(frame.attrs)
    out.attrs["freq"] = format_freq(target)
    out.attrs["resampled_from"] = format_freq(source)
    return out
