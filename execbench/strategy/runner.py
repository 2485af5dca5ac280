"""Driving a strategy over order windows according to its mode (the framework side of the interface)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from execbench.contracts import ScenarioGrid
from execbench.errors import AllocationError, StrategyError
from execbench.strategy.base import OrderContext, RealisedWindow, StepObservation, Strategy

if TYPE_CHECKING:
    from execbench.orders.windows import OrderWindows


def _checked_shape(name: str, what: str, array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.shape != shape:
        raise AllocationError(f"strategy {name!r}: {what} returned shape {array.shape}, expected {shape}")
    return array


def check_supported(strategy: Strategy, grid: ScenarioGrid) -> None:
    """Raise ``StrategyError`` naming the first scenario the strategy does not support."""
    for spec in grid.specs:
        reason = strategy.unsupported(spec)
        if reason:
            raise StrategyError(f"strategy {strategy.name!r} does not support scenario {spec.label}: {reason}")


def run_strategy(strategy: Strategy, windows: "OrderWindows", grid: ScenarioGrid) -> np.ndarray:
    """Drive ``strategy`` over ``windows`` according to its mode; returns allocations (n, T, S).

    Static strategies see history only; adaptive ones see, at bar s, the realised bars before s;
    sequence models see the realised window (their causality is what the audit checks).
    """
    ctx = OrderContext(windows)
    n, horizon, n_scen = len(windows), windows.horizon, len(grid)
    if grid.horizon != horizon:
        raise StrategyError(f"scenario grid horizon {grid.horizon} differs from the order windows' horizon {horizon}")
    if strategy.mode == "static":
        return _checked_shape(strategy.name, "schedule", strategy.schedule(ctx, grid), (n, horizon, n_scen))
    prices, volumes = windows.window("prices"), windows.window("volumes")
    if strategy.mode == "sequence":
        out = strategy.allocate_sequence(ctx, grid, RealisedWindow(prices, volumes))
        return _checked_shape(strategy.name, "allocate_sequence", out, (n, horizon, n_scen))
    if strategy.mode == "adaptive":
        alloc = np.zeros((n, horizon, n_scen))
        state = strategy.start(ctx, grid)
        for s in range(horizon):
            obs = StepObservation(step=s, prices=prices[:, :s].copy(), volumes=volumes[:, :s].copy(),
                                  allocated=alloc[:, :s, :].copy())
            alloc[:, s, :] = _checked_shape(strategy.name, f"step {s}", strategy.step(state, obs), (n, n_scen))
        return alloc
    raise StrategyError(f"strategy {strategy.name!r}: unknown mode {strategy.mode!r}; expected static, adaptive or sequence")
