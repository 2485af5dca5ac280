"""execbench: evaluate trade-execution strategies against flexible-horizon VWAP/TWAP contracts."""

from execbench.contracts import ContractSpec, ScenarioGrid, scenario_grid
from execbench.data import (
    PRICE_CONVENTION,
    DataWarning,
    bar_prices,
    bundled_assets,
    load_bars,
    resample_bars,
    validate_bars,
)
from execbench.engine import replay
from execbench.errors import AllocationError, ContractError, DataError, ExecbenchError, StrategyError
from execbench.audit import AuditReport, audit_strategy
from execbench.evaluate import Evaluation, compare, default_split, evaluate, make_split, replay_strategy
from execbench.output import save_comparison, save_evaluation
from execbench.registry import available_strategies, load_fitted, load_strategy
from execbench.results import ReplayResult
from execbench.stats import summarize
from execbench.strategy import OrderContext, RealisedWindow, StepObservation, Strategy, run_strategy
from execbench.schedules import bounded_step, fit_profile
from execbench.tables import comparison_table, min_period_table, paper_table, scenario_table
from execbench.volume_profile import SeasonalVolume
from execbench.windows import DateSplit, OrderWindows, build_order_windows

__all__ = [
    "AuditReport", "SeasonalVolume", "audit_strategy", "bounded_step", "compare", "comparison_table", "fit_profile",
    "load_fitted", "save_comparison",
    "PRICE_CONVENTION", "AllocationError", "ContractError", "ContractSpec", "DataError", "DataWarning",
    "DateSplit", "Evaluation", "ExecbenchError", "OrderContext", "OrderWindows", "RealisedWindow",
    "ReplayResult", "ScenarioGrid", "StepObservation", "Strategy", "StrategyError", "available_strategies",
    "bar_prices", "build_order_windows", "bundled_assets", "default_split", "evaluate",
    "load_bars", "load_strategy", "make_split", "min_period_table", "paper_table", "replay", "replay_strategy",
    "resample_bars", "run_strategy", "save_evaluation", "scenario_grid", "scenario_table", "summarize",
    "validate_bars",
]
