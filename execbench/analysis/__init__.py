"""Stage 7, analysis: statistics of results (the paper's columns), tables as DataFrames, inference that
respects overlapping orders, shared dates and volatility clustering (date-block bootstrap with a
data-driven block length, HAC standard errors and tests, Holm), implementation shortfall."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "inference": ["BLOCK_FACTOR", "DEFAULT_REPS", "DateBlocks", "Interval", "MeanInference", "block_length",
                  "bootstrap_ci", "bootstrap_indices", "bootstrap_runs", "data_block_length", "hac_se", "holm",
                  "mean_inference", "median_interval", "non_overlapping", "paired_comparison"],
    "sanity": ["impossible_results"],
    "shortfall": ["COMPONENTS", "shortfall_table"],
    "significance": ["ci_table", "date_blocks", "paired_table"],
    "stats": ["PAPER_COLUMNS", "summarize"],
    "tables": ["breakdown_table", "comparison_table", "min_period_table", "paper_table", "scenario_table"],
})
