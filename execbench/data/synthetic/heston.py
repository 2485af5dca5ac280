"""Heston stochastic-volatility prices with an intraday volume process, as real-format bars.

Prices: full-truncation Euler on (log S, v) at ``substeps`` points per bar (``kernel.py``, with its NumPy twin in ``twin.py``).  A bar's
open is the price at its start, close at its end, high/low the extremes of its points, and its VWAP
the mean of its points (the bar's volume is spread evenly over them); ``quote_volume = volume × VWAP``.

Volume per bar: log V = log(level · s(τ)) + β·log(v̄/θ) + u − Var(u)/2, where s is a U-shaped profile
over the day, s(τ) = 1 + a·((2τ−1)² − 1/3) with τ the time of day measured from ``u_open_hour``, v̄
the bar's mean variance (so volume rises with volatility when β > 0) and u an AR(1) with persistence
φ and innovation std σ (``scipy.signal.lfilter``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import pandas as pd

from execbench.data.frequency import format_freq, parse_freq
from execbench.data.prices import bar_prices
from execbench.errors import DataError
from execbench.data.synthetic.kernel import heston_kernel
from execbench.data.synthetic.twin import heston_numpy

MINUTES_PER_YEAR = 365.0 * 24 * 60  # crypto trades around the clock
# what ``load_bars("synthetic:heston", synthetic=...)`` accepts besides the ``HestonParams`` fields
SYNTHETIC_OPTIONS = {"bars": 40_000, "seed": 0, "start": "2024-01-01", "paths": 1}


@dataclass(frozen=True)
class HestonParams:
    """Parameters of the synthetic market (annualised rates; see the module docstring)."""

    # defaults: ``calibrate_heston`` on BTCUSDT 15m bars before 2025-01-01, rounded
    s0: float = 16_620.0
    mu: float = 0.0
    v0: float = 0.170
    kappa: float = 384.0
    theta: float = 0.170
    xi: float = 13.8
    rho: float = -0.081
    volume_level: float = 705.5
    u_amp: float = 0.851
    u_open_hour: float = 15.5
    vol_beta: float = 0.423
    vol_phi: float = 0.858
    vol_sigma: float = 0.504
    substeps: int = 5

    def __post_init__(self) -> None:
        checks = {
            "s0": self.s0 > 0, "v0": self.v0 >= 0, "kappa": self.kappa >= 0, "theta": self.theta > 0,
            "xi": self.xi >= 0, "rho": -1 <= self.rho <= 1, "volume_level": self.volume_level > 0,
            "u_amp": -1.5 < self.u_amp < 3.0, "vol_phi": -1 < self.vol_phi < 1, "vol_sigma": self.vol_sigma >= 0,
            "substeps": isinstance(self.substeps, (int, np.integer)) and self.substeps >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise DataError(f"synthetic market parameter {bad[0]!r}: invalid value {getattr(self, bad[0])!r}")

    def with_overrides(self, overrides: dict) -> "HestonParams":
        """A copy with parameters from ``--market-param name=value`` (unknown names and values that are
        not numbers are errors)."""
        names = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise DataError(f"synthetic market parameter {unknown[0]!r}: unknown; valid: "
                            f"{', '.join(market_parameter_names())}")
        cast = {f.name: (int if f.name == "substeps" else float) for f in fields(self)}
        values = {}
        for key, value in overrides.items():
            try:
                values[key] = cast[key](value)
            except (TypeError, ValueError):
                raise DataError(f"synthetic market parameter {key!r}: expected a number, got {value!r}") from None
        return replace(self, **values)


def market_parameter_names() -> list[str]:
    """Every name a synthetic market accepts: the ``HestonParams`` fields and ``SYNTHETIC_OPTIONS``."""
    return sorted({f.name for f in fields(HestonParams)} | set(SYNTHETIC_OPTIONS))


def seasonal_profile(minutes_of_day: np.ndarray, amp: float, open_hour: float) -> np.ndarray:
    """The U-shaped intraday volume factor (mean 1 over the day)."""
    tau = ((minutes_of_day / 60.0 - open_hour) % 24.0) / 24.0
    return 1.0 + amp * ((2.0 * tau - 1.0) ** 2 - 1.0 / 3.0)


def simulate_bars(params: HestonParams = None, *, n_bars: int = 20_000, freq: str = "15m",
                  start: str = "2024-01-01", seed: int = 0, paths: int = 1, backend: str = "numba") -> pd.DataFrame:
    """Simulate bars in exactly the format of the bundled data.

    Parameters
    ----------
    params
        Market parameters (default ``DEFAULT_HESTON``, calibrated to BTCUSDT 15m).
    n_bars, freq, start
        Number of bars, bar length and the first bar's open time (UTC).
    seed
        Seeds every random draw: the same seed gives the same bars.
    paths
        Independent assets; more than one gives a universe frame indexed by (asset, timestamp).
    backend
        ``"numba"`` or ``"numpy"`` (the kernel's twin).

    Returns
    -------
    pandas.DataFrame
        open, high, low, close, volume, quote_volume; ``attrs`` as from ``load_bars``.
    """
    params = params or DEFAULT_HESTON
    if n_bars < 2 or paths < 1:
        raise DataError(f"simulate: expected n_bars >= 2 and paths >= 1, got {n_bars}, {paths}")
    bar = parse_freq(freq)
    k = params.substeps
    dt = bar / pd.Timedelta(minutes=1) / MINUTES_PER_YEAR / k
    rng = np.random.default_rng(seed)
    z_price = rng.standard_normal((paths, n_bars * k))
    z_var = rng.standard_normal((paths, n_bars * k))
    noise = rng.standard_normal((paths, n_bars))
    kernel = heston_kernel if backend == "numba" else heston_numpy
    log_s, var = kernel(z_price, z_var, dt, params.mu, params.kappa, params.theta, params.xi, params.rho,
                        params.v0, float(np.log(params.s0)))
    points = np.exp(log_s).reshape(paths, n_bars, k)
    starts = np.concatenate([np.full((paths, 1), params.s0), points[:, :-1, -1]], axis=1)
    index = pd.date_range(start, periods=n_bars, freq=bar, tz="UTC", name="timestamp").as_unit("ns")
    minutes = (index.hour * 60 + index.minute).to_numpy()
    profile = seasonal_profile(minutes, params.u_amp, params.u_open_hour)
    mean_var = np.maximum(var.reshape(paths, n_bars, k).mean(axis=2), 1e-6 * params.theta)
    from scipy.signal import lfilter  # 2–3 s to import: only where paths are simulated

    ar = lfilter([params.vol_sigma], [1.0, -params.vol_phi], noise, axis=1)
    stationary = params.vol_sigma**2 / (1.0 - params.vol_phi**2)
    log_volume = (np.log(params.volume_level * profile)[None, :] + params.vol_beta * np.log(mean_var / params.theta)
                  + ar - 0.5 * stationary)
    volume = np.exp(log_volume)
    vwap = points.mean(axis=2)
    frames = {}
    for p in range(paths):
        frames[f"HESTON{p}" if paths > 1 else "synthetic:heston"] = pd.DataFrame({
            "open": starts[p],
            "high": np.maximum(starts[p], points[p].max(axis=1)),
            "low": np.minimum(starts[p], points[p].min(axis=1)),
            "close": points[p, :, -1],
            "volume": volume[p],
            "quote_volume": volume[p] * vwap[p],
        }, index=index)
    spec = {"model": "heston", **asdict(params), "n_bars": n_bars, "freq": format_freq(bar), "start": start,
            "seed": seed, "paths": paths}
    attrs = {"asset": "synthetic:heston", "freq": format_freq(bar), "calendar": "continuous",
             "sources": [f"synthetic: {json.dumps(spec)}"],
             "sha256": hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()}
    out = next(iter(frames.values())) if paths == 1 else pd.concat(frames, names=["asset", "timestamp"])
    out.attrs = {**attrs, **({"assets": list(frames)} if paths > 1 else {})}
    return out


def calibrate_heston(bars: pd.DataFrame) -> HestonParams:
    """Moment-matching calibration of ``HestonParams`` to intraday bars (one asset, e.g. BTCUSDT 15m).

    θ = v0: mean squared bar log return, annualised.  κ: from the lag-1 autocorrelation of daily
    realised variance, ρ₁ = exp(−κ/365).  ξ: from the variance of daily realised variance,
    Var(v) = θξ²/(2κ) (the CIR stationary variance; realised-variance noise inflates it).  ρ: correlation
    of daily returns with daily changes in realised variance.  Volume: the level is the mean bar volume;
    the U-profile amplitude and open hour are the least-squares fit of the mean volume by time of day;
    β is the slope of deseasonalised log volume on the log of the day's realised variance; φ and σ are
    the AR(1) fit of what remains.
    """
    freq = bars.attrs.get("freq", "15m")
    bar_years = parse_freq(freq) / pd.Timedelta(minutes=1) / MINUTES_PER_YEAR
    prices = bar_prices(bars)
    returns = pd.Series(np.diff(np.log(prices)), index=bars.index[1:])
    theta = float((returns**2).mean() / bar_years)
    per_day = pd.Timedelta(days=1) / parse_freq(freq)
    daily_rv = (returns**2).resample("1D").sum() / (per_day * bar_years)
    daily_rv = daily_rv[daily_rv > 0]
    rho1 = float(daily_rv.autocorr(1))
    kappa = -np.log(min(max(rho1, 1e-3), 0.999)) * 365.0
    xi = float(np.sqrt(2.0 * kappa * daily_rv.var() / theta))
    daily_ret = returns.resample("1D").sum().reindex(daily_rv.index)
    rho = float(np.corrcoef(daily_ret.to_numpy()[1:], np.diff(daily_rv.to_numpy()))[0, 1])
    volume = bars["volume"].to_numpy("float64")
    minutes = (bars.index.hour * 60 + bars.index.minute).to_numpy()
    level = float(volume.mean())
    by_slot = pd.Series(volume).groupby(minutes).mean()
    shape = by_slot.to_numpy() / by_slot.mean()
    best = (np.inf, 0.0, 0.0)
    for open_hour in np.arange(0.0, 24.0, 0.25):
        basis = seasonal_profile(by_slot.index.to_numpy(), 1.0, open_hour) - 1.0
        amp = float(basis @ (shape - 1.0) / (basis @ basis))
        err = float(((shape - 1.0 - amp * basis) ** 2).sum())
        if err < best[0]:
            best = (err, amp, open_hour)
    _, amp, open_hour = best
    traded = volume > 0
    day_rv = daily_rv.reindex(bars.index.floor("D")).to_numpy()
    ok = traded & np.isfinite(day_rv)
    y = np.log(volume[ok]) - np.log(level * seasonal_profile(minutes[ok], amp, open_hour))
    x = np.log(day_rv[ok] / theta)
    beta = float(np.polyfit(x, y, 1)[0])
    resid = y - beta * x
    resid = resid - resid.mean()
    phi = float(np.corrcoef(resid[1:], resid[:-1])[0, 1])
    sigma = float(resid.std() * np.sqrt(1.0 - phi**2))
    return HestonParams(s0=float(prices[0]), mu=0.0, v0=theta, kappa=float(kappa), theta=theta, xi=xi, rho=rho,
                        volume_level=level, u_amp=amp, u_open_hour=float(open_hour), vol_beta=beta, vol_phi=phi,
                        vol_sigma=sigma)


# Rounded output of ``calibrate_heston`` on the bundled BTCUSDT 15m bars before 2025-01-01 (the default
# training period); tests/test_market.py re-runs the calibration and checks these numbers.
DEFAULT_HESTON = HestonParams()
