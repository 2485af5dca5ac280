"""Synthetic markets: the Heston price process with an intraday volume process."""

from execbench.market.heston import DEFAULT_HESTON, HestonParams, calibrate_heston, simulate_bars

__all__ = ["DEFAULT_HESTON", "HestonParams", "calibrate_heston", "simulate_bars"]
