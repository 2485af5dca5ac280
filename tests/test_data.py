"""Data layer: bundled data, user files (Parquet, CSV, Binance Data Vision), validation, resampling."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from execbench.data import (
    DataWarning,
    bar_prices,
    bundled_assets,
    load_bars,
    parse_freq,
    resample_bars,
    universe_members,
    validate_bars,
)
from execbench.errors import DataError

from conftest import make_bars


def test_bundled_crypto_and_equities_resolve_by_name():
    btc = load_bars("BTCUSDT")
    assert btc.attrs["freq"] == "15m" and btc.attrs["calendar"] == "continuous"
    assert list(btc.columns) == ["open", "high", "low", "close", "volume", "quote_volume"]
    assert btc.index.tz is not None and str(btc.index.tz) == "UTC" and btc.index.name == "timestamp"
    assert len(btc.attrs["sha256"]) == 64
    hourly = load_bars("btcusdt", "1h")
    assert hourly.index[0] == pd.Timestamp("2018-01-01", tz="UTC")
    aapl = load_bars("AAPL")
    assert aapl.attrs["freq"] == "1d" and aapl.attrs["calendar"] == "sessions"


def test_dow30_universe():
    members = universe_members("dow30")
    assert len(members) == 30 and "AAPL" in members and "INTC" not in members
    dow = load_bars("dow30", "1d")
    assert dow.index.names == ["asset", "timestamp"]
    assert sorted(dow.index.get_level_values("asset").unique()) == members
    assert "dow30" in bundled_assets()


def test_bundled_resampling_matches_native_hourly_bars():
    from_15m = load_bars("ETHUSDT", "15m")
    with pytest.warns(DataWarning, match="dropped"):  # the 2023-03-24 outage hour is incomplete
        built = resample_bars(from_15m, "1h")
    native = load_bars("ETHUSDT", "1h")
    common = built.index.intersection(native.index)
    assert len(common) > 25_000
    np.testing.assert_allclose(built.loc[common, "volume"], native.loc[common, "volume"], rtol=1e-5)
    np.testing.assert_allclose(built.loc[common, "quote_volume"], native.loc[common, "quote_volume"], rtol=1e-5)
    np.testing.assert_array_equal(built.loc[common, "high"], native.loc[common, "high"])


def test_resample_sums_volumes_and_keeps_vwap_exact(bars):
    bars.attrs["freq"] = "15m"
    out = resample_bars(bars, "90m")
    assert out.attrs["freq"] == "90m"
    first = bars.iloc[:6]
    assert out["volume"].iloc[0] == pytest.approx(first["volume"].sum())
    assert out["quote_volume"].iloc[0] == pytest.approx(first["quote_volume"].sum())
    assert out["high"].iloc[0] == first["high"].max() and out["open"].iloc[0] == first["open"].iloc[0]
    assert out.index[1] - out.index[0] == pd.Timedelta("90min")


def test_resample_rejects_non_multiples():
    frame = make_bars(100, freq="30min")
    frame.attrs["freq"] = "30m"
    with pytest.raises(DataError, match="whole multiple of 30m"):
        resample_bars(frame, "45m")
    with pytest.raises(DataError, match="whole multiple"):
        resample_bars(frame, "15m")
    with pytest.raises(DataError, match="frequency '90x'"):
        parse_freq("90x")
    with pytest.raises(DataError, match="250m"):
        load_bars("BTCUSDT", "250m")


def test_resample_drops_bins_with_missing_source_bars(bars):
    bars.attrs["freq"] = "15m"
    holed = bars.drop(bars.index[7])
    with pytest.warns(DataWarning, match="dropped 1 bin"):
        out = resample_bars(holed, "90m")
    assert pd.Timestamp("2024-01-01 01:30", tz="UTC") not in out.index


def test_zero_volume_bars_carry_last_price(bars):
    bars.iloc[[0, 5, 6], bars.columns.get_loc("volume")] = 0.0
    bars.iloc[[0, 5, 6], bars.columns.get_loc("quote_volume")] = 0.0
    prices = bar_prices(bars)
    vwap = (bars["quote_volume"] / bars["volume"]).to_numpy()
    assert prices[0] == bars["close"].iloc[0]  # before the first trade: the bar's own close
    assert prices[5] == prices[6] == vwap[4]
    assert prices[7] == vwap[7]


def _write_klines(rows: np.ndarray) -> bytes:
    buffer = io.StringIO()
    for row in rows:
        buffer.write(",".join(str(int(v)) if i in (0, 6, 8, 11) else repr(float(v)) for i, v in enumerate(row)) + "\n")
    return buffer.getvalue().encode()


def _kline_rows(start_ms: int, n: int, unit: float = 1.0) -> np.ndarray:
    rows = np.zeros((n, 12))
    for i in range(n):
        t = start_ms + i * 900_000
        vol = 2.0 + i
        rows[i] = [t * unit, 100 + i, 101 + i, 99 + i, 100.5 + i, vol, (t + 899_999) * unit, vol * (100.2 + i),
                   10, 1.0, 100.0, 0]
    return rows


def test_binance_data_vision_csv_zip_ms_and_us(tmp_path):
    ms = _kline_rows(1_704_067_200_000, 8)  # 2024-01-01
    us = _kline_rows(1_735_689_600_000, 8, unit=1000.0)  # 2025-01-01 files carry microseconds
    (tmp_path / "BTCUSDT-15m-2024-01.csv").write_bytes(_write_klines(ms))
    with zipfile.ZipFile(tmp_path / "BTCUSDT-15m-2025-01.zip", "w") as archive:
        archive.writestr("BTCUSDT-15m-2025-01.csv", _write_klines(us))
    frame = load_bars(tmp_path)
    assert len(frame) == 16 and frame.attrs["freq"] == "15m"
    assert frame.index[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert frame.index[8] == pd.Timestamp("2025-01-01", tz="UTC")
    assert frame["quote_volume"].iloc[1] / frame["volume"].iloc[1] == pytest.approx(101.2)
    single = load_bars(tmp_path / "BTCUSDT-15m-2025-01.zip")
    assert len(single) == 8 and single.attrs["sha256"]


def test_user_parquet_and_csv_with_header(tmp_path, bars):
    bars.to_parquet(tmp_path / "mine.parquet")
    loaded = load_bars(tmp_path / "mine.parquet")
    expected = bars.set_axis(bars.index.as_unit("ns"))  # execbench stores timestamps at ns resolution
    pd.testing.assert_frame_equal(loaded, expected, check_freq=False)
    assert loaded.attrs["freq"] == "15m"
    csv = bars.reset_index().rename(columns={"timestamp": "Date", "volume": "Volume"})
    csv.to_csv(tmp_path / "mine.csv", index=False)
    from_csv = load_bars(str(tmp_path / "mine.csv"), "30m")
    assert from_csv.attrs["freq"] == "30m" and len(from_csv) == len(bars) // 2


@pytest.mark.parametrize("corrupt, message", [
    ("unsorted", r"not sorted; first out-of-order bar at 2024-01-01 00:30:00\+00:00"),
    ("duplicate", r"duplicates; first duplicate at 2024-01-01 00:15:00\+00:00"),
    ("negative", r"column 'volume' is negative; first at 2024-01-01 01:00:00\+00:00"),
    ("nan", r"column 'quote_volume' has NaN/inf values; first at 2024-01-01 00:45:00\+00:00"),
    ("missing", r"missing column\(s\) quote_volume"),
    ("mismatch", r"disagree on whether the bar traded"),
])
def test_validation_errors_name_file_column_and_bar(tmp_path, bars, corrupt, message):
    frame = bars.copy()
    if corrupt == "unsorted":
        frame = frame.iloc[[0, 1, 3, 2, 4]]
    elif corrupt == "duplicate":
        frame = frame.iloc[[0, 1, 1, 2]]
    elif corrupt == "negative":
        frame.iloc[4, frame.columns.get_loc("volume")] = -1.0
    elif corrupt == "nan":
        frame.iloc[3, frame.columns.get_loc("quote_volume")] = np.nan
    elif corrupt == "missing":
        frame = frame.drop(columns="quote_volume")
    elif corrupt == "mismatch":
        frame.iloc[2, frame.columns.get_loc("volume")] = 0.0
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path)
    with pytest.raises(DataError, match=message) as info:
        load_bars(path)
    assert str(path) in str(info.value)


def test_vwap_outside_range_warns(bars):
    bars.iloc[9, bars.columns.get_loc("quote_volume")] *= 1.01
    with pytest.warns(DataWarning, match=r"outside \[low, high\] on 1 bars; first at 2024-01-01 02:15"):
        validate_bars(bars, "test.parquet")


def test_unknown_asset_and_unreadable_files(tmp_path):
    with pytest.raises(DataError, match="'NOPE': not a bundled asset"):
        load_bars("NOPE")
    with pytest.raises(DataError, match="no such file"):
        load_bars(tmp_path / "absent.parquet")
    (tmp_path / "junk.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="no time column"):
        load_bars(tmp_path / "junk.csv")
    (tmp_path / "text.csv").write_text("timestamp,volume,quote_volume\n2024-01-01,abc,1\n2024-01-02,1,1\n")
    with pytest.raises(DataError, match="'volume' has non-numeric values"):
        load_bars(tmp_path / "text.csv")
