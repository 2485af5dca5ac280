"""Data layer: loading, validation, resampling and bar prices."""

from execbench.data.frequency import format_freq, parse_freq
from execbench.data.loading import (
    UNIVERSES,
    bundled_assets,
    bundled_datasets,
    data_dir,
    iter_assets,
    load_bars,
    universe_members,
)
from execbench.data.prices import PRICE_CONVENTION, bar_prices
from execbench.data.readers import read_bar_file, read_bars_path
from execbench.data.resample import resample_bars
from execbench.data.validate import DataWarning, validate_bars

__all__ = [
    "PRICE_CONVENTION", "UNIVERSES", "DataWarning", "bar_prices", "bundled_assets", "bundled_datasets",
    "data_dir", "format_freq", "iter_assets", "load_bars", "parse_freq", "read_bar_file", "read_bars_path",
    "resample_bars", "universe_members", "validate_bars",
]
