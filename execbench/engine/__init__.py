"""Replay engine: Numba kernels over plain arrays, their NumPy twins, and ``replay``."""

from execbench.engine.impact import ImpactModel
from execbench.engine.replay import SUM_TOLERANCE, replay

__all__ = ["SUM_TOLERANCE", "ImpactModel", "replay"]
