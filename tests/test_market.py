"""The synthetic Heston market: kernel twin, moments, seeding, format, calibration, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import execbench as eb
from execbench.cli import main
from execbench.errors import DataError
from execbench.data.synthetic import DEFAULT_HESTON, HestonParams, calibrate_heston, simulate_bars
from execbench.data.synthetic.heston import MINUTES_PER_YEAR
from execbench.data.synthetic.kernel import heston_kernel
from execbench.data.synthetic.twin import heston_numpy


@given(seed=st.integers(0, 2**32 - 1), paths=st.integers(1, 4), steps=st.integers(1, 50),
       rho=st.floats(-0.9, 0.9), xi=st.floats(0.0, 20.0))
def test_heston_kernel_equals_numpy_twin(seed, paths, steps, rho, xi):
    rng = np.random.default_rng(seed)
    z1, z2 = rng.standard_normal((2, paths, steps))
    args = (z1, z2, 1e-5, 0.05, 300.0, 0.2, xi, rho, 0.15, np.log(100.0))
    for a, b in zip(heston_kernel(*args), heston_numpy(*args), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)


def test_same_seed_same_bars_and_the_real_data_format():
    a = simulate_bars(n_bars=3000, seed=7)
    b = simulate_bars(n_bars=3000, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(simulate_bars(n_bars=3000, seed=8))
    assert list(a.columns) == ["open", "high", "low", "close", "volume", "quote_volume"]
    assert str(a.index.tz) == "UTC" and a.index.name == "timestamp" and a.attrs["freq"] == "15m"
    eb.validate_bars(a, "synthetic")  # VWAP inside [low, high], no NaN, positive volume
    pd.testing.assert_frame_equal(simulate_bars(n_bars=500, seed=1), simulate_bars(n_bars=500, seed=1, backend="numpy"),
                                  rtol=1e-12)


def test_variance_mean_reverts_to_its_long_run_level():
    params = HestonParams(kappa=50.0, theta=0.2, v0=0.6, xi=2.0, substeps=1)
    dt = 15 / MINUTES_PER_YEAR
    bars = simulate_bars(params, n_bars=60_000, seed=3, paths=4)
    from execbench.data.synthetic.kernel import heston_kernel as kernel

    rng = np.random.default_rng(3)
    z1, z2 = rng.standard_normal((2, 4, 60_000))
    _, var = kernel(z1, z2, dt, 0.0, 50.0, 0.2, 2.0, 0.0, 0.6, np.log(100.0))
    tail = var[:, 20_000:]
    assert abs(tail.mean() - 0.2) < 0.02  # long-run level θ
    # E[v_t] − θ decays like exp(−κt): starting at 0.6, after 1/κ years the excess is ≈ 0.4·e^−1
    lag = int(round(1 / 50.0 / dt))
    assert abs(var[:, lag].mean() - (0.2 + 0.4 * np.exp(-1))) < 0.05
    assert bars.attrs["assets"] == ["HESTON0", "HESTON1", "HESTON2", "HESTON3"]


def test_volume_profile_and_volume_volatility_correlation():
    params = HestonParams(u_amp=0.8, u_open_hour=14.0, vol_beta=0.6)
    bars = simulate_bars(params, n_bars=40_000, seed=5)
    hours = bars.index.hour
    by_hour = bars["volume"].groupby(hours).mean()
    # U-shaped from the 14:00 open: high right after the open and right before it, low half a day later
    assert by_hour.loc[14] > 1.3 * by_hour.loc[2] and by_hour.loc[13] > 1.3 * by_hour.loc[2]
    ratio = by_hour.loc[14] / by_hour.loc[2]
    expected = (1 + 0.8 * (1 - 1 / 3)) / (1 + 0.8 * (0 - 1 / 3))
    assert ratio == pytest.approx(expected, rel=0.15)
    r = np.abs(np.diff(np.log(eb.bar_prices(bars))))
    daily = pd.DataFrame({"absret": r, "volume": bars["volume"].to_numpy()[1:]}, index=bars.index[1:]).resample("1D").mean()
    assert daily["absret"].corr(np.log(daily["volume"])) > 0.3  # volume rises with volatility
    flat = simulate_bars(HestonParams(u_amp=0.0, vol_beta=0.0, vol_sigma=0.0), n_bars=2000, seed=5)
    np.testing.assert_allclose(flat["volume"], DEFAULT_HESTON.volume_level)


def test_defaults_are_the_btcusdt_calibration():
    bars = eb.load_bars("BTCUSDT", "15m")
    train = bars[bars.index < "2025-01-01"]
    train.attrs = dict(bars.attrs)
    fitted = calibrate_heston(train)
    for name in ("theta", "kappa", "xi", "volume_level", "u_amp", "vol_beta", "vol_phi", "vol_sigma"):
        assert getattr(DEFAULT_HESTON, name) == pytest.approx(getattr(fitted, name), rel=0.01), name
    assert DEFAULT_HESTON.u_open_hour == fitted.u_open_hour


def test_synthetic_asset_and_simulate_command(tmp_path, capsys):
    bars = eb.load_bars("synthetic:heston", synthetic={"kappa": 100, "bars": 3000, "seed": 2})
    assert len(bars) == 3000 and '"kappa": 100.0' in bars.attrs["sources"][0]
    with pytest.raises(DataError, match="parameter 'kapa': unknown; valid: bars, kappa"):
        eb.load_bars("synthetic:heston", synthetic={"kapa": 1})
    with pytest.raises(DataError, match="parameter 'rho'"):
        eb.load_bars("synthetic:heston", synthetic={"rho": 2})
    with pytest.raises(DataError, match="unknown synthetic market 'gbm'"):
        eb.load_bars("synthetic:gbm")
    out = tmp_path / "sim.parquet"
    assert main(["simulate", "--out", str(out), "--market-param", "bars=2000", "--market-param", "seed=4"]) == 0
    written = pd.read_parquet(out)
    assert len(written) == 2000
    pd.testing.assert_frame_equal(written, simulate_bars(n_bars=2000, seed=4), check_freq=False)
    assert main(["simulate", "--out", str(out), "--market-param", "nope=1"]) == 2
