"""Driving a strategy over order windows according to its mode (the framework side of the interface)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from execbench.contracts import ScenarioGrid
from execbench.errors import AllocationError, ExecbenchError, StrategyError
from execbench.strategy.base import OrderContext, RealisedWindow, StepObservation, Strategy

if TYPE_CHECKING:
    from execbench.orders.windows import OrderWindows


def _checked_shape(name: str, what: str, array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.shape != shape:
        raise AllocationError(f"strategy {name!r}: {what} returned shape {array.shape}, expected {shape}")
    return array


NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # a strategy name is part of file names (results_<name>.npz)
MODES = ("static", "adaptive", "sequence")


def check_strategy(strategy: Strategy) -> None:
    """Raise ``StrategyError`` unless the strategy has a usable ``name`` and a known ``mode``."""
    cls = type(strategy).__name__
    if not isinstance(strategy.name, str) or not NAME.match(strategy.name):
        raise StrategyError(f"strategy class {cls}: name {strategy.name!r} is not usable; set name to letters, digits, "
                            "'-', '_' or '.' (it names the strategy in tables and files)")
    if strategy.mode not in MODES:
        raise StrategyError(f"strategy {strategy.name!r}: unknown mode {strategy.mode!r}; expected {', '.join(MODES)}")


def call_strategy(strategy: Strategy, method: str, call: Callable[[], Any]) -> Any:
    """Run one of the strategy's own methods; an exception it raises becomes a one-line ``StrategyError``
    naming the strategy and the method (the original stays attached as the cause, for ``--debug``)."""
    try:
        return call()
    except ExecbenchError:
        raise
    except Exception as exc:  # a user's code: report what broke and where, in one line
        raise StrategyError(f"strategy {strategy.name!r}: {method} raised {type(exc).__name__}: {exc}") from exc


def fit_strategy(strategy: Strategy, bars) -> Strategy:
    """``strategy.fit(bars)``, with the strategy checked first and its errors named (``call_strategy``)."""
    check_strategy(strategy)
    call_strategy(strategy, "fit", lambda: strategy.fit(bars))
    return strategy


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
    check_strategy(strategy)
    ctx = OrderContext(windows)
    n, horizon, n_scen = len(windows), windows.horizon, len(grid)
    if grid.horizon != horizon:
        raise StrategyError(f"scenario grid horizon {grid.horizon} differs from the order windows' horizon {horizon}")
    if strategy.mode == "static":
        out = call_strategy(strategy, "schedule", lambda: strategy.schedule(ctx, grid))
        return _checked_shape(strategy.name, "schedule", out, (n, horizon, n_scen))
    prices, volumes = windows.window("prices"), windows.window("volumes")
    if strategy.mode == "sequence":
        window = RealisedWindow(prices, volumes)
        out = call_strategy(strategy, "allocate_sequence", lambda: strategy.allocate_sequence(ctx, grid, window))
        return _checked_shape(strategy.name, "allocate_sequence", out, (n, horizon, n_scen))
    alloc = np.zeros((n, horizon, n_scen))
    state = call_strategy(strategy, "start", lambda: strategy.start(ctx, grid))
    for s in range(horizon):
        obs = StepObservation(step=s, prices=prices[:, :s].copy(), volumes=volumes[:, :s].copy(),
                              allocated=alloc[:, :s, :].copy())
        out = call_strategy(strategy, f"step (bar {s})", lambda: strategy.step(state, obs))
        alloc[:, s, :] = _checked_shape(strategy.name, f"step {s}", out, (n, n_scen))
    return alloc
