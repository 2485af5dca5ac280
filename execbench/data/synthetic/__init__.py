"""Synthetic markets (a data source like the bundled files): Heston prices with an intraday volume process.

``kernel.py`` (Numba) and ``twin.py`` (NumPy) simulate the paths; ``heston.py`` turns them into bars.
"""

from execbench.data.synthetic.heston import (
    DEFAULT_HESTON,
    SYNTHETIC_OPTIONS,
    HestonParams,
    calibrate_heston,
    market_parameter_names,
    simulate_bars,
)

__all__ = ["DEFAULT_HESTON", "SYNTHETIC_OPTIONS", "HestonParams", "calibrate_heston", "market_parameter_names",
           "simulate_bars"]
