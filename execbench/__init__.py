"""execbench: evaluate trade-execution strategies against flexible-horizon VWAP/TWAP contracts.

The public API, re-exported from the stage subpackages (data → orders → contracts → strategy →
engine → results → analysis → pipeline → reporting → sweep → explore).  Names load on first use (``lazy_loader``), so
``import execbench`` is cheap and the command line starts fast.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submodules=["explore", "lem"], submod_attrs={
    "analysis.significance": ["ci_table", "paired_breakdown", "paired_table", "seed_table"],
    "analysis.stats": ["summarize"],
    "analysis.tables": ["comparison_table", "min_period_table", "paper_table", "scenario_table"],
    "contracts": ["ContractSpec", "ScenarioGrid", "scenario_grid", "scenario_label"],
    "data": ["PRICE_CONVENTION", "DataWarning", "bar_prices", "bundled_assets", "load_bars", "resample_bars",
             "validate_bars"],
    "engine": ["ImpactModel", "replay"],
    "errors": ["AllocationError", "ContractError", "DataError", "ExecbenchError", "ParameterError", "StrategyError"],
    "orders": ["DateSplit", "OrderWindows", "build_order_windows", "default_split", "independent_batches", "make_split",
               "training_bars"],
    "pipeline.audit": ["AuditReport", "audit_strategy"],
    "pipeline.evaluation": ["Comparison", "Evaluation", "compare", "evaluate", "replay_strategy"],
    "pipeline.option": ["OptionValue", "option_value"],
    "reporting.run_folder": ["save_comparison", "save_evaluation"],
    "results": ["ReplayResult", "RunData", "load_run"],
    "strategy": ["OrderContext", "Param", "RealisedWindow", "SeasonalVolume", "StepObservation", "Strategy",
                 "available_strategies", "bounded_step", "fit_profile", "fit_strategy", "load_fitted", "load_strategy",
                 "run_strategy"],
    "sweep": ["SweepOptions", "load_sweep", "sweep", "sweep_cells"],
    "sweep.summary": ["frequency_overview", "paper_tables", "seeds_view"],
    "explore": ["ask_frame", "discover", "read_folder", "results_index"],
})
