"""Exploring saved results: the folders under a root (``catalog``), their statistics as one long table
and the per-order views a dashboard draws (``tables``), Plotly figures (``figures``), and plain-English
questions answered deterministically (``ask``).  Reads what runs, comparisons and sweeps wrote; runs
nothing."""

from execbench.explore.ask import Answer, Query, answer, ask_frame, parse
from execbench.explore.catalog import FolderInfo, discover, find, read_folder
from execbench.explore.tables import (breakdown, execution_fan, min_period_effect, paired, per_order, perf_samples,
                                      results_index, scenario_rows)

__all__ = ["Answer", "FolderInfo", "Query", "answer", "ask_frame", "breakdown", "discover", "execution_fan", "find",
           "min_period_effect", "paired", "per_order", "perf_samples", "read_folder", "results_index", "parse",
           "scenario_rows"]
