"""Stage 4, strategies: the ``Strategy`` interface, the runner that keeps it causal, the registry of
plug-ins (entry points) and helpers that turn wishes into allocations the contract allows.

Plug-ins (the built-ins in ``execbench.strategies`` and users' own) import from here; nothing here
imports a plug-in.  Importing this package needs NumPy only (no pandas), so listings stay fast.
"""

from execbench.strategy.base import Mode, OrderContext, RealisedWindow, StepObservation, Strategy
from execbench.strategy.param_spec import Param
from execbench.strategy.registry import (
    ENTRY_POINT_GROUP,
    available_strategies,
    load_fitted,
    load_strategy,
    strategy_class,
)
from execbench.strategy.runner import (
    call_strategy,
    check_fitted_for,
    check_strategy,
    check_supported,
    fit_strategy,
    masked_window,
    order_context,
    run_strategy,
)
from execbench.strategy.schedules import (
    ac_trajectory,
    bounded_step,
    fit_profile,
    participation_caps,
    rate_bounds,
)
from execbench.strategy.volume_profile import SeasonalVolume

__all__ = [
    "ENTRY_POINT_GROUP", "Mode", "OrderContext", "Param", "RealisedWindow", "SeasonalVolume", "StepObservation", "Strategy",
    "ac_trajectory", "available_strategies", "bounded_step", "call_strategy", "check_fitted_for", "check_strategy", "check_supported",
    "fit_strategy", "fit_profile", "load_fitted", "masked_window", "order_context",
    "load_strategy", "participation_caps", "rate_bounds", "run_strategy", "strategy_class",
]
