"""Reading bar files into the canonical frame.

The canonical frame has a UTC ``DatetimeIndex`` named ``timestamp`` (bar open time) and float64
columns ``volume`` and ``quote_volume`` plus, when the source has them, ``open, high, low, close``.
Readers accept Parquet, CSV with a header, and Binance klines exactly as Binance Data Vision
publishes them (headerless 12-column CSV, optionally zipped, open times in ms or µs).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from execbench.errors import DataError

PRICE_COLUMNS = ("open", "high", "low", "close")
VOLUME_COLUMNS = ("volume", "quote_volume")
CANONICAL_COLUMNS = PRICE_COLUMNS + VOLUME_COLUMNS
TIME_COLUMN_NAMES = ("timestamp", "open_time", "date", "datetime", "time")

BINANCE_KLINE_COLUMNS = (
    "open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume",
    "trades", "taker_buy_volume", "taker_buy_quote_volume", "ignore",
)
_BAR_FILE_SUFFIXES = (".parquet", ".pq", ".csv", ".zip", ".gz")


def epoch_to_utc(values: np.ndarray, source: str) -> pd.DatetimeIndex:
    """Convert integer epoch times in s, ms, µs or ns (detected per value) to a UTC index."""
    numbers = np.asarray(values, dtype="float64")
    if np.isnan(numbers).any():
        raise DataError(f"{source}: column 'timestamp' has missing values")
    nanos = np.select(
        [numbers >= 1e17, numbers >= 1e14, numbers >= 1e11],
        [numbers, numbers * 1e3, numbers * 1e6],
        numbers * 1e9,
    )
    return pd.DatetimeIndex(pd.to_datetime(nanos.astype("int64"), unit="ns", utc=True), name="timestamp")


def _to_utc_index(column: pd.Series, source: str) -> pd.DatetimeIndex:
    if pd.api.types.is_numeric_dtype(column):
        return epoch_to_utc(column.to_numpy(), source)
    try:
        index = pd.DatetimeIndex(pd.to_datetime(column, utc=True), name="timestamp")
    except (ValueError, TypeError) as exc:
        raise DataError(f"{source}: column {column.name!r} could not be parsed as timestamps ({exc})") from None
    return index


def _canonicalise(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Lower-case columns, move the time column to a UTC index and keep the canonical columns."""
    names = [str(c).strip().lower() for c in frame.columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        same = [str(c) for c in frame.columns if str(c).strip().lower() == twice[0]]
        raise DataError(f"{source}: columns {', '.join(map(repr, same))} are the same column once case is ignored; "
                        "keep one")
    frame = frame.rename(columns=dict(zip(frame.columns, names, strict=True)))
    if isinstance(frame.index, pd.MultiIndex) and "asset" in frame.index.names:  # a universe saved from load_bars
        frame = frame.reset_index(level="asset")
        if "timestamp" in frame.index.names:
            frame = frame.reset_index(level=[n for n in frame.index.names if n != "timestamp"], drop=True)
    if "asset" in frame.columns:  # one file, several assets (a universe; or one asset, labelled)
        assets = pd.unique(frame["asset"].astype(str))
        if len(assets) > 1:
            members = {a: _canonicalise(frame[frame["asset"].astype(str).to_numpy() == a].drop(columns="asset"),
                                        f"{source} [asset {a}]") for a in assets}
            return pd.concat(members, names=["asset", "timestamp"])
        frame = frame.drop(columns="asset")
    if isinstance(frame.index, pd.MultiIndex) and "timestamp" in frame.index.names:
        frame = frame.reset_index(level=[n for n in frame.index.names if n != "timestamp"], drop=True)
    if isinstance(frame.index, pd.DatetimeIndex):
        index = frame.index.tz_localize("UTC") if frame.index.tz is None else frame.index.tz_convert("UTC")
        index = pd.DatetimeIndex(index, name="timestamp")
    else:
        time_column = next((c for c in TIME_COLUMN_NAMES if c in frame.columns), None)
        if time_column is None:
            raise DataError(
                f"{source}: no time column; expected a DatetimeIndex or one of the columns "
                f"{', '.join(TIME_COLUMN_NAMES)}"
            )
        index = _to_utc_index(frame[time_column], source)
    missing = [c for c in VOLUME_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)}; expected timestamp, volume, quote_volume "
            f"(open, high, low, close optional). Bar price is quote_volume / volume."
        )
    index = index.as_unit("ns")
    keep = [c for c in CANONICAL_COLUMNS if c in frame.columns]
    out = pd.DataFrame({c: pd.to_numeric(frame[c], errors="coerce").to_numpy("float64") for c in keep}, index=index)
    bad = [c for c in keep if frame[c].notna().to_numpy().sum() != out[c].notna().to_numpy().sum()]
    if bad:
        raise DataError(f"{source}: column {bad[0]!r} has non-numeric values")
    return out


def _looks_headerless_klines(head: bytes) -> bool:
    first = head.split(b"\n", 1)[0].strip().split(b",")
    return len(first) == 12 and first[0].strip().isdigit()


def _read_csv_bytes(raw: bytes, source: str) -> pd.DataFrame:
    if _looks_headerless_klines(raw[:512]):
        frame = pd.read_csv(io.BytesIO(raw), header=None, names=list(BINANCE_KLINE_COLUMNS))
        return _canonicalise(frame, source)
    first = raw[:512].split(b"\n", 1)[0].decode(errors="replace").strip().lower()
    if first.startswith("open_time,") and len(first.split(",")) == 12:  # Data Vision files with a header row
        frame = pd.read_csv(io.BytesIO(raw))
        frame.columns = list(BINANCE_KLINE_COLUMNS)
        return _canonicalise(frame, source)
    return _canonicalise(pd.read_csv(io.BytesIO(raw)), source)


def read_bar_file(path: str | Path) -> pd.DataFrame:
    """Read one bar file (Parquet, CSV, zipped or gzipped CSV) into the canonical frame.

    Parameters
    ----------
    path
        A ``.parquet``/``.pq`` file, a CSV with a header (a time column plus ``volume`` and
        ``quote_volume``), or a Binance Data Vision klines CSV (headerless, 12 columns), plain,
        ``.zip`` or ``.gz``.

    Returns
    -------
    pandas.DataFrame
        The canonical frame, not yet validated.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise DataError(f"{source}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return _canonicalise(pd.read_parquet(path), source)
        if suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                members = [n for n in archive.namelist() if n.lower().endswith(".csv")]
                if len(members) != 1:
                    raise DataError(f"{source}: expected exactly one .csv inside the zip, found {len(members)}")
                return _read_csv_bytes(archive.read(members[0]), f"{source}:{members[0]}")
        if suffix == ".gz":
            import gzip

            return _read_csv_bytes(gzip.decompress(path.read_bytes()), source)
        if suffix == ".csv":
            return _read_csv_bytes(path.read_bytes(), source)
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{source}: could not be read as a bar file ({exc})") from None
    raise DataError(f"{source}: unsupported file type {suffix!r}; expected one of {', '.join(_BAR_FILE_SUFFIXES)}")


def bar_files(path: str | Path) -> list[Path]:
    """The bar files ``read_bars_path`` reads: the file itself, or a folder's bar files in name order
    (a Data Vision ``.CHECKSUM`` beside them is not one)."""
    path = Path(path)
    if not path.is_dir():
        return [path]
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in _BAR_FILE_SUFFIXES)


def verify_checksums(files: list[Path], hashes: list[str]) -> int:
    """Check each file against a Binance Data Vision ``<file>.CHECKSUM`` beside it (``<sha256>  <name>``),
    where there is one; returns how many were checked.  A mismatch is a ``DataError``."""
    checked = 0
    for path, digest in zip(files, hashes, strict=True):
        checksum = path.with_name(path.name + ".CHECKSUM")
        if not checksum.is_file():
            continue
        words = checksum.read_text(errors="replace").split()
        expected = words[0].lower() if words else ""
        if expected != digest:
            raise DataError(f"{path}: its SHA-256 {digest[:16]}… does not match {checksum.name} "
                            f"({expected[:16] or 'empty'}…); the file is damaged or not the one published")
        checked += 1
    return checked


def read_bars_path(path: str | Path) -> pd.DataFrame:
    """Read a bar file, or every bar file in a folder (e.g. monthly Data Vision zips), concatenated.

    Files in a folder are read in name order, which is time order for Binance's file names.
    """
    path = Path(path)
    if path.is_dir():
        files = bar_files(path)
        if not files:
            raise DataError(f"{path}: folder has no bar files ({', '.join(_BAR_FILE_SUFFIXES)})")
        frames = [read_bar_file(p) for p in files]
        several = next((p for p, f in zip(files, frames, strict=True) if isinstance(f.index, pd.MultiIndex)), None)
        if several is not None and len(files) > 1:
            raise DataError(f"{several}: holds several assets, but the files of a folder are read as one asset's "
                            "history; load that file on its own")
        return pd.concat(frames)
    return read_bar_file(path)
