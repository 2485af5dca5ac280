"""Stage 7, analysis: statistics of results (the paper's columns), tables as DataFrames, inference that
respects overlapping orders (block bootstrap, non-overlapping paired tests, Holm), implementation
shortfall."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "inference": ["BLOCK_FACTOR", "DEFAULT_REPS", "Interval", "PairedComparison", "block_length", "bootstrap_ci",
                  "bootstrap_indices", "holm", "non_overlapping", "paired_comparison"],
    "sanity": ["impossible_results"],
    "shortfall": ["COMPONENTS", "shortfall_table"],
    "significance": ["ci_table", "paired_table"],
    "stats": ["PAPER_COLUMNS", "summarize"],
    "tables": ["breakdown_table", "comparison_table", "min_period_table", "paper_table", "scenario_table"],
})
