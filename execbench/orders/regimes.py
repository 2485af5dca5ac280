"""Causal volatility-regime labels at each order origin: HH, HL, LH, LL.

First letter: realised volatility (std of bar log returns over the last ``window`` bars, all before
the origin) above (H) or not above (L) its own median over the trailing ``history`` bars.  Second
letter: the same for volatility of volatility (std of that realised volatility over the last
``window`` values).  "NA" until there is enough history.  Only bars before the origin are used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from execbench.data.frequency import parse_freq

LABELS = ("HH", "HL", "LH", "LL")


def regime_windows(freq: str) -> tuple[int, int]:
    """(window, history) in bars: one day and 30 days of intraday bars; 20 and 250 daily bars."""
    bar = parse_freq(freq)
    if bar >= pd.Timedelta(days=1):
        return 20, 250
    per_day = int(pd.Timedelta(days=1) / bar)
    return per_day, 30 * per_day


def volatility_regimes(prices: np.ndarray, freq: str) -> np.ndarray:
    """Label for an order whose first execution bar is each bar (object array of HH/HL/LH/LL/NA)."""
    window, history = regime_windows(freq)
    returns = pd.Series(np.diff(np.log(prices), prepend=np.nan))
    vol = returns.rolling(window, min_periods=window).std()
    vov = vol.rolling(window, min_periods=window).std()
    vol_med = vol.rolling(history, min_periods=window).median()
    vov_med = vov.rolling(history, min_periods=window).median()
    # values at bar i use returns up to bar i; an order starting at bar i may use bar i−1's values
    high_vol = (vol > vol_med).shift(1)
    high_vov = (vov > vov_med).shift(1)
    known = (vol_med.notna() & vov_med.notna()).shift(1, fill_value=False).to_numpy(bool)
    first = np.where(high_vol.to_numpy(dtype=object) == True, "H", "L")  # noqa: E712 (object dtype)
    second = np.where(high_vov.to_numpy(dtype=object) == True, "H", "L")  # noqa: E712
    return np.where(known, np.char.add(first.astype(str), second.astype(str)), "NA").astype(object)
