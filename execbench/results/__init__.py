"""Stage 6, results: what a run keeps per (order, scenario) on disk (``RunData``, ``load_run``: the run
folder's ``results_<strategy>.npz``, its record and its completion manifest), beside the engine's
in-memory ``ReplayResult``.
Both derive bps and ``perf_bps`` from ``execbench.contracts.metrics``."""

from execbench.contracts.metrics import SIGN_CONVENTION, paper_bps, perf_bps
from execbench.engine import ReplayResult
from execbench.engine.replay.result import METRICS
from execbench.results.manifest import MANIFEST, new_run_id, read_manifest, verify_file, write_manifest
from execbench.results.run_data import BASELINE_LABELS, RECORDS, RunData, load_run

__all__ = ["BASELINE_LABELS", "MANIFEST", "METRICS", "RECORDS", "SIGN_CONVENTION", "ReplayResult", "RunData", "load_run",
           "new_run_id", "paper_bps", "perf_bps", "read_manifest", "verify_file", "write_manifest"]
