"""The replay kernel family: ``kernel.py`` (Numba), ``twin.py`` (NumPy), ``codes.py`` (status codes,
messages, tolerances) and ``api.py`` (``replay``: checks, dispatch) and ``result.py`` (``ReplayResult``, what it returns)."""

from execbench.engine.replay.api import Backend, replay
from execbench.engine.replay.codes import SUM_TOLERANCE
from execbench.engine.replay.result import METRICS, ReplayResult

__all__ = ["METRICS", "SUM_TOLERANCE", "Backend", "ReplayResult", "replay"]
