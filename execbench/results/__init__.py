"""Stage 6, results: what a run keeps per (order, scenario) on disk (``RunData``, ``load_run``: the run
folder's ``results_<strategy>.npz`` and its record), beside the engine's in-memory ``ReplayResult``.
Both derive bps and ``perf_bps`` from ``execbench.contracts.metrics``."""

from execbench.contracts.metrics import SIGN_CONVENTION, paper_bps, perf_bps
from execbench.engine import ReplayResult
from execbench.engine.replay.result import METRICS
from execbench.results.run_data import BASELINE_LABELS, RunData, load_run

__all__ = ["BASELINE_LABELS", "METRICS", "SIGN_CONVENTION", "ReplayResult", "RunData", "load_run", "paper_bps",
           "perf_bps"]
