"""Date-based train / validation / test splits and the bars a strategy may be fitted on."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from execbench.data.frames import bar_times
from execbench.errors import DataError


@dataclass(frozen=True)
class DateSplit:
    """Date-based train / validation / test split (each bound inclusive-exclusive, UTC).

    Orders whose origin falls in [``test_start``, ``test_end``) are evaluated; strategies may be
    fitted on bars before ``val_start`` (or before ``test_start`` when there is no validation).
    """

    test_start: pd.Timestamp
    val_start: pd.Timestamp | None = None
    test_end: pd.Timestamp | None = None

    def __post_init__(self) -> None:
        if self.val_start is not None and self.val_start > self.test_start:
            raise DataError(f"split: val_start {self.val_start} is after test_start {self.test_start}")
        if self.test_end is not None and self.test_end <= self.test_start:
            raise DataError(f"split: test_end {self.test_end} is not after test_start {self.test_start}")

    @property
    def train_end(self) -> pd.Timestamp:
        return self.val_start if self.val_start is not None else self.test_start

    @property
    def validation(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """(start, end) of the validation period, or ``None`` without one."""
        return None if self.val_start is None else (self.val_start, self.test_start)

    def __repr__(self) -> str:
        val = "" if self.val_start is None else f", validation from {self.val_start.date()}"
        end = "" if self.test_end is None else f" to {self.test_end.date()}"
        return f"DateSplit(fit before {self.train_end.date()}{val}, test from {self.test_start.date()}{end})"


def to_utc(value: str | pd.Timestamp | None, name: str) -> pd.Timestamp | None:
    """Parse a date or timestamp parameter as UTC (naive values are taken as UTC)."""
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise DataError(f"parameter {name!r}: expected a date like 2025-07-01, got {value!r}") from None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


# Default splits: the paper's for daily equities; for intraday crypto the last ~10 months of the bundled
# 15m data are the test period, the 6 months before it validation.
SESSION_SPLIT = ("2017-01-01", "2020-01-01")
INTRADAY_SPLIT = ("2025-01-01", "2025-07-01")


def default_split(bars: pd.DataFrame) -> DateSplit:
    """The default split for ``bars``: fixed dates (see ``SESSION_SPLIT``/``INTRADAY_SPLIT``) when
    they fall inside the data, else 70 % / 15 % / 15 % of the data's time span."""
    times = bar_times(bars)
    first, last = times.min(), times.max()
    val, test = SESSION_SPLIT if bars.attrs.get("calendar") == "sessions" else INTRADAY_SPLIT
    val_ts, test_ts = to_utc(val, "val_start"), to_utc(test, "test_start")
    if first < val_ts and test_ts < last:
        return DateSplit(test_start=test_ts, val_start=val_ts)
    span = last - first
    return DateSplit(test_start=(first + 0.85 * span).floor("D"), val_start=(first + 0.70 * span).floor("D"))


def _when(stamp: pd.Timestamp) -> str:
    """A date, or date and time when the time of day matters (so two different instants never print alike)."""
    return str(stamp.date()) if stamp == stamp.normalize() else stamp.strftime("%Y-%m-%d %H:%M UTC")


def make_split(bars: pd.DataFrame, test_start: str | None = None, val_start: str | None = None,
               test_end: str | None = None) -> DateSplit:
    """A ``DateSplit`` from user dates (defaults from ``default_split``), checked against the data."""
    times = bar_times(bars)
    first, last = times.min(), times.max()
    default = default_split(bars)
    test = to_utc(test_start, "test_start") if test_start else default.test_start
    val = to_utc(val_start, "val_start") if val_start else default.val_start
    end = to_utc(test_end, "test_end")
    for name, value in (("test_start", test), ("val_start", val), ("test_end", end)):
        if value is not None and not first <= value <= last:
            raise DataError(
                f"parameter {name!r}: {_when(value)} is outside the data ({bars.attrs.get('asset')} "
                f"{bars.attrs.get('freq')}: first bar {_when(first)}, last bar {_when(last)})"
            )
    if val is not None and val > test:
        if val_start:
            raise DataError(f"parameter 'val_start': {val.date()} is after test_start {test.date()}")
        val = None  # the default validation start does not fit before a user's early test start
    return DateSplit(test_start=test, val_start=val, test_end=end)


def training_bars(bars: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Bars strictly before ``end`` (what a strategy may be fitted on)."""
    out = bars[bar_times(bars) < end]
    out.attrs = dict(bars.attrs)
    return out
