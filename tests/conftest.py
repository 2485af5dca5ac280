"""Shared fixtures: small synthetic bar frames in the canonical format."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

from execbench.cache import use_jax_cache

settings.register_profile("execbench", deadline=None, max_examples=60, derandomize=True)
settings.load_profile("execbench")

# JAX's compilation cache for every test, as the product sets it wherever it compiles: some tests call JAX
# directly, and programs compiled before the cache is set are not kept
use_jax_cache()


def make_bars(n: int = 600, freq: str = "15min", seed: int = 0, start: str = "2024-01-01") -> pd.DataFrame:
    """Random-walk bars with a positive volume; bar VWAP lies inside [low, high]."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="timestamp")
    vwap = 100.0 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    volume = rng.gamma(2.0, 5.0, n) + 0.1
    frame = pd.DataFrame({
        "open": vwap * (1 + rng.normal(0, 2e-4, n)),
        "high": vwap * 1.002,
        "low": vwap * 0.998,
        "close": vwap * (1 + rng.normal(0, 2e-4, n)),
        "volume": volume,
        "quote_volume": volume * vwap,
    }, index=index)
    return frame


@pytest.fixture
def bars() -> pd.DataFrame:
    return make_bars()
