"""Stage 3, contracts: flexible-horizon contract specs, the scenario grid, scenario labels, and how an
outcome is measured against the contract (paper-sign bps, side-adjusted ``perf_bps``)."""

from execbench.contracts.grid import ScenarioGrid, grid_position, scenario_grid
from execbench.contracts.labels import (
    BENCHMARKS,
    MATCH,
    SIDES,
    TARGETS,
    Benchmark,
    Period,
    Side,
    Target,
    all_periods,
    default_periods,
    period_name,
    period_row,
    period_short,
    report_periods,
    run_periods,
    scenario_label,
)
from execbench.contracts.metrics import SIGN_CONVENTION, TIE_BPS, PerScenario, hit_rate, paper_bps, perf_bps
from execbench.contracts.spec import ALLOC_EPS, ContractSpec

__all__ = [
    "SIGN_CONVENTION", "TIE_BPS", "PerScenario", "hit_rate", "paper_bps", "perf_bps",
    "ALLOC_EPS", "BENCHMARKS", "MATCH", "SIDES", "TARGETS", "Benchmark", "ContractSpec", "Period", "ScenarioGrid",
    "Side", "Target", "all_periods", "default_periods", "grid_position", "period_name", "period_row", "period_short", "report_periods",
    "run_periods", "scenario_grid", "scenario_label",
]
