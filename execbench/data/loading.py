"""``load_bars``: bundled datasets by name, universes, and a user's own files."""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from execbench.data.bundled import (
    UNIVERSES,
    BundledDataset,
    bundled_assets,
    bundled_datasets,
    data_dir,
    universe_members,
)
from execbench.data.frequency import format_freq, parse_freq
from execbench.data.readers import bar_files, read_bars_path, verify_checksums
from execbench.data.resample import resample_bars
from execbench.data.synthetic import DEFAULT_HESTON, SYNTHETIC_OPTIONS, simulate_bars
from execbench.data.validate import DataWarning, validate_bars
from execbench.errors import DataError

_PATH_SUFFIXES = (".parquet", ".pq", ".csv", ".zip", ".gz")

def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def infer_freq(index: pd.DatetimeIndex, source: str) -> str:
    """The most common spacing of ``index`` as a frequency string."""
    if len(index) < 2:
        raise DataError(f"{source}: holds {len(index)} bar(s); at least two are needed to tell the bar frequency, "
                        "and an evaluation needs many more (windows of T bars after the fit and validation periods)")
    steps = np.diff(index.as_unit("ns").asi8)
    values, counts = np.unique(steps, return_counts=True)
    return format_freq(pd.Timedelta(int(values[np.argmax(counts)]), unit="ns"))


def calendar_of(frame: pd.DataFrame, freq: str) -> str:
    """``continuous`` (every bar of the clock exists, e.g. crypto) or ``sessions`` (daily bars of
    trading sessions: consecutive rows are consecutive sessions)."""
    if parse_freq(freq) < pd.Timedelta(days=1):
        return "continuous"
    weekend = frame.index.day_of_week >= 5
    return "continuous" if weekend.any() else "sessions"


def _looks_like_path(asset: str | Path) -> bool:
    """A path, not a name: a ``Path``, a string with a folder separator or a data-file suffix, or an existing
    file or folder that is not also the name of bundled data (bundled names win; see ``load_bars``)."""
    if isinstance(asset, Path):
        return True
    if os.sep in asset or "/" in asset or asset.lower().endswith(_PATH_SUFFIXES):
        return True
    return Path(asset).exists() and not _is_bundled_name(asset)


def _is_bundled_name(name: str) -> bool:
    names = [a.strip() for a in name.split(",") if a.strip()]
    bundled = {e.asset for e in bundled_datasets()}
    return bool(names) and all(n.upper() in bundled or n.lower() in UNIVERSES for n in names)


def _finish(frame: pd.DataFrame, asset: str, native_freq: str, freq: str | None, sources: list[Path],
            hashes: list[str]) -> pd.DataFrame:
    frame.attrs = {
        "asset": asset,
        "freq": native_freq,
        "sources": [str(s) for s in sources],
        "sha256": hashes[0] if len(hashes) == 1 else hashlib.sha256("".join(hashes).encode()).hexdigest(),
    }
    if freq is not None and parse_freq(freq) != parse_freq(native_freq):
        frame = resample_bars(frame, freq, native_freq)
    frame.attrs["calendar"] = calendar_of(frame, frame.attrs["freq"])
    return frame


def _checked_member(frame: pd.DataFrame, source: str, validate: bool) -> str:
    """Validate one asset's bars read from a user's file; returns their native frequency."""
    if validate:
        validate_bars(frame, source)
    traded = frame["volume"].to_numpy("float64") > 0
    if not traded.any():
        raise DataError(f"{source}: all {len(frame):,} bars have zero volume; bar prices (quote_volume / volume) and "
                        "VWAP benchmarks need traded volume")
    if traded.mean() < 0.5:
        warnings.warn(f"{source}: {1 - traded.mean():.0%} of the bars have zero volume; they carry the last price "
                      "and add no volume, so most windows are thin", stacklevel=4)
    return infer_freq(frame.index, source)


def _load_user_path(path: Path, freq: str | None, validate: bool) -> pd.DataFrame:
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    frame = read_bars_path(path)
    files = bar_files(path)
    hashes = [file_sha256(p) for p in files]
    verify_checksums(files, hashes)
    if not isinstance(frame.index, pd.MultiIndex):
        return _finish(frame, path.stem, _checked_member(frame, str(path), validate), freq, files, hashes)
    members = {}  # a universe in one file (e.g. saved from load_bars): each asset checked on its own
    for asset in frame.index.get_level_values("asset").unique():
        bars = frame.xs(asset, level="asset")
        source = f"{path} [asset {asset}]"
        members[str(asset)] = _finish(bars, str(asset), _checked_member(bars, source, validate), freq, files, hashes)
    return _universe(members, path.stem, listed=False)


def _universe(frames: dict[str, pd.DataFrame], name: str, *, listed: bool) -> pd.DataFrame:
    """Member frames → one frame indexed by (asset, timestamp), with the universe's attrs."""
    first = next(iter(frames.values()))
    calendars = {m: f.attrs["calendar"] for m, f in frames.items()}
    if len(set(calendars.values())) > 1:
        raise DataError(f"asset {name!r}: cannot mix calendars in one dataset ({calendars})")
    freqs = {m: f.attrs["freq"] for m, f in frames.items()}
    if len(set(freqs.values())) > 1:
        raise DataError(f"asset {name!r}: its assets have different bar frequencies ({freqs}); pass freq to resample")
    out = pd.concat(frames, names=["asset", "timestamp"])
    hashes = list(dict.fromkeys(f.attrs["sha256"] for f in frames.values()))
    out.attrs = {
        "asset": ",".join(frames) if listed else name,
        "freq": first.attrs["freq"],
        "calendar": first.attrs["calendar"],
        "sources": list(dict.fromkeys(s for f in frames.values() for s in f.attrs["sources"])),
        "sha256": hashes[0] if len(hashes) == 1 else hashlib.sha256("".join(hashes).encode()).hexdigest(),
        "assets": list(frames),
    }
    return out


def unavailable_freq(asset: str, freq: str) -> str | None:
    """Why the bundled data of ``asset`` (an asset or universe) cannot give ``freq`` bars, or ``None``
    when it can (or when ``asset`` is not bundled: its own loader decides)."""
    from execbench.data.bundled import UNIVERSES, universe_members

    members = universe_members(asset) if asset.lower() in UNIVERSES else [asset]
    if not any(e.asset == members[0] for e in bundled_datasets()):
        return None
    try:
        _pick_bundled(members[0], freq)
    except DataError as exc:
        return str(exc)
    return None


def _pick_bundled(asset: str, freq: str | None) -> tuple[BundledDataset, str | None]:
    entries = [e for e in bundled_datasets() if e.asset == asset]
    natives = sorted({e.freq for e in entries}, key=parse_freq)
    if freq is None:
        return next(e for e in entries if e.freq == natives[0]), None
    target = parse_freq(freq)
    divisors = [f for f in natives if (target / parse_freq(f)) == int(target / parse_freq(f)) and parse_freq(f) <= target]
    if divisors and parse_freq(divisors[-1]) >= pd.Timedelta(days=1) and parse_freq(divisors[-1]) != target:
        raise DataError(f"frequency {freq!r} for {asset}: its bundled bars are daily sessions ({divisors[-1]}), which "
                        "are not resampled (a week of sessions is not a fixed number of days); use 1d")
    if not divisors:
        raise DataError(
            f"frequency {freq!r} for {asset}: bundled data is at {', '.join(natives)}; a frequency must be one "
            f"of these or a whole multiple of one (e.g. 90m from 15m)"
        )
    chosen = divisors[-1]  # the coarsest exact source has the longest history
    return next(e for e in entries if e.freq == chosen), freq


def _load_bundled(asset: str, freq: str | None, validate: bool) -> pd.DataFrame:
    entry, target = _pick_bundled(asset, freq)
    frame = read_bars_path(entry.path)
    if validate:
        validate_bars(frame, str(entry.path))
    return _finish(frame, asset, entry.freq, target, [entry.path], [file_sha256(entry.path)])


def _load_synthetic(name: str, freq: str | None, params: dict | None) -> pd.DataFrame:
    model = name.split(":", 1)[1].strip().lower()
    if model != "heston":
        raise DataError(f"asset {name!r}: unknown synthetic market {model!r}; available: synthetic:heston")
    params = dict(params or {})
    options = {k: params.pop(k, v) for k, v in SYNTHETIC_OPTIONS.items()}
    market = DEFAULT_HESTON.with_overrides(params)
    for key in ("bars", "seed", "paths"):
        if not isinstance(options[key], (int, np.integer)) or isinstance(options[key], bool):
            raise DataError(f"synthetic market parameter {key!r}: expected an integer, got {options[key]!r}")
    return simulate_bars(market, n_bars=int(options["bars"]), freq=freq or "15m", start=str(options["start"]),
                         seed=int(options["seed"]), paths=int(options["paths"]))


def load_bars(asset: str | Path, freq: str | None = None, *, validate: bool = True,
              synthetic: dict | None = None) -> pd.DataFrame:
    """Load bars by bundled name, universe name or path.

    Parameters
    ----------
    asset
        A bundled asset (``"BTCUSDT"``, ``"AAPL"``), a universe (``"dow30"``, ``"crypto5"``), a
        comma-separated list of bundled assets (``"BTCUSDT,ETHUSDT"``, loaded like a universe), a
        synthetic market (``"synthetic:heston"``), or a path to a Parquet/CSV file, a Binance Data
        Vision klines CSV/zip, or a folder of them.
    freq
        Bar frequency (``"15m"``, ``"90m"``, ``"1h"``, ``"1d"``).  Coarser frequencies are built by
        summing bars of a finer one.  Defaults to the finest bundled frequency, or the file's own.
    validate
        Run ``validate_bars`` (recommended).
    synthetic
        For ``"synthetic:heston"``: ``HestonParams`` overrides plus ``bars`` (default 40,000),
        ``seed``, ``start`` and ``paths`` (see ``execbench.data.synthetic``).

    Returns
    -------
    pandas.DataFrame
        One asset: indexed by UTC ``timestamp`` (bar open time).  A universe: indexed by
        (``asset``, ``timestamp``).  ``attrs`` carry ``asset``, ``freq``, ``calendar``, ``sources``
        and ``sha256``.

    Raises
    ------
    DataError
        Unknown asset, unavailable frequency, unreadable or invalid file.
    """
    if isinstance(asset, str) and asset.lower().startswith("synthetic:"):
        return _load_synthetic(asset, freq, synthetic)
    if synthetic:
        raise DataError(f"synthetic market parameters ({', '.join(synthetic)}) apply to a synthetic market "
                        f"(asset synthetic:heston), not to {asset!r}")
    if _looks_like_path(asset):
        return _load_user_path(Path(asset), freq, validate)
    name = str(asset).strip()
    if Path(name).exists():  # a local file or folder named like bundled data: say which one is loaded
        warnings.warn(f"asset {name!r}: loading the bundled data; the local {name!r} here is ignored (pass "
                      f"./{name} to load it)", DataWarning, stacklevel=2)
    listed = [a.strip().upper() for a in name.split(",") if a.strip()] if "," in name else None
    if listed is not None or name.lower() in UNIVERSES:
        members = listed if listed is not None else universe_members(name)
        if not members:
            raise DataError(f"asset {name!r}: the bundled universe has no files under {data_dir()}")
        if listed is not None and len(set(listed)) != len(listed):
            raise DataError(f"asset {name!r}: an asset is listed twice")
        frames = {m: load_bars(m, freq, validate=validate) for m in members}
        return _universe(frames, name.lower(), listed=listed is not None)
    upper = name.upper()
    if upper not in {e.asset for e in bundled_datasets()}:
        known = ", ".join(sorted(bundled_assets()))
        raise DataError(f"asset {name!r}: not a bundled asset, universe or existing file; bundled: {known}")
    return _load_bundled(upper, freq, validate)
