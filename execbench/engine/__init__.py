"""Replay engine: Numba kernels over plain arrays, their NumPy twins, and ``replay``."""

from execbench.engine.replay import SUM_TOLERANCE, check_allocations, replay

__all__ = ["SUM_TOLERANCE", "check_allocations", "replay"]
