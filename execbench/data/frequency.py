"""Bar-frequency strings (``15m``, ``90m``, ``1h``, ``1d``) and their durations."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from execbench.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

_FREQ = re.compile(r"^\s*(\d+)\s*(m|min|h|d)\s*$", re.IGNORECASE)
_UNIT_MINUTES = {"m": 1, "min": 1, "h": 60, "d": 1440}


def freq_minutes(freq: str) -> int:
    """Bar length in minutes of a bar-frequency string such as ``"15m"``, ``"1h"`` or ``"1d"``.

    Raises
    ------
    DataError
        If ``freq`` is not ``<integer><m|h|d>``.
    """
    match = _FREQ.match(str(freq))
    if not match or int(match.group(1)) <= 0:
        raise DataError(f"frequency {freq!r}: expected a positive integer followed by m, h or d (e.g. 15m, 90m, 1h, 1d)")
    return int(match.group(1)) * _UNIT_MINUTES[match.group(2).lower()]


def parse_freq(freq: str) -> "pd.Timedelta":
    """Return the duration of a bar-frequency string as a ``pandas.Timedelta`` (see ``freq_minutes``)."""
    import pandas as pd  # on first use: strategies that only need minutes stay free of pandas at import

    return pd.Timedelta(minutes=freq_minutes(freq))


def format_freq(delta) -> str:
    """Return the canonical string of a bar duration (``1d``, ``1h``, ``90m``, ...)."""
    minutes = int(delta.total_seconds() // 60)
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"
