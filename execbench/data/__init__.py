"""Stage 1, data: bars from the bundled files, a user's files or a synthetic market; validation,
resampling and bar prices.  Exports load lazily (``lazy_loader``): importing one helper does not pull
in pandas and the readers."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "bundled": ["UNIVERSES", "bundled_assets", "bundled_datasets", "data_dir", "universe_members"],
    "frames": ["bar_times", "iter_assets"],
    "frequency": ["format_freq", "freq_minutes", "parse_freq"],
    "loading": ["load_bars"],
    "prices": ["PRICE_CONVENTION", "bar_prices"],
    "readers": ["read_bar_file", "read_bars_path"],
    "resample": ["resample_bars"],
    "validate": ["DataWarning", "validate_bars"],
    "writing": ["write_bars"],
})
