"""The impact kernel family: ``model.py`` (``ImpactModel``), ``kernel.py`` (Numba) and ``twin.py`` (NumPy)."""

from execbench.engine.impact.kernel import impact_kernel
from execbench.engine.impact.model import ImpactModel
from execbench.engine.impact.twin import impact_numpy

__all__ = ["ImpactModel", "impact_kernel", "impact_numpy"]
