"""Stage 5, engine: Numba kernel families over plain arrays, each beside its NumPy twin.

``replay/`` scores allocations against realised-window benchmarks; ``impact/`` adds market impact;
``threads.py`` runs a family's row kernel on a thread pool.
"""

from execbench.engine.impact import ImpactModel
from execbench.engine.replay import SUM_TOLERANCE, ReplayResult, replay

__all__ = ["SUM_TOLERANCE", "ImpactModel", "ReplayResult", "replay"]
