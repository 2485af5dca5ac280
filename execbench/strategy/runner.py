"""Driving a strategy over order windows according to its mode (the framework side of the interface)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
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
    """``strategy.fit(bars)`` on a private copy of the bars, with the strategy checked first and its errors
    named (``call_strategy``); records what it was fitted on as ``strategy.fitted_on``."""
    check_strategy(strategy)
    copy = bars.copy(deep=True)  # no view back into a longer frame
    call_strategy(strategy, "fit", lambda: strategy.fit(copy))
    strategy.fitted_on = fitted_on(bars)
    return strategy


def fitted_on(bars) -> dict[str, Any]:
    """Asset, frequency, calendar and last bar time of training bars (kept with a fitted state)."""
    return {"asset": str(bars.attrs.get("asset")), "freq": bars.attrs.get("freq"),
            "calendar": bars.attrs.get("calendar", "continuous"),
            "end": None if len(bars) == 0 else str(bars.index.get_level_values(-1).max())}


def check_fitted_for(strategy: Strategy, bars, train_end) -> None:
    """A strategy fitted elsewhere (a saved state) may be evaluated on ``bars`` only if its training bars
    ended before ``train_end``; a state from another asset, frequency or calendar is warned about."""
    import warnings

    import pandas as pd

    record = getattr(strategy, "fitted_on", None)
    if not record:
        return
    if record.get("end") and pd.Timestamp(record["end"]) >= pd.Timestamp(train_end):
        raise StrategyError(f"strategy {strategy.name!r}: its state was fitted on bars up to {record['end']}, at or "
                            f"after the validation start {train_end}; it has seen the period it would be scored on")
    here = fitted_on(bars)
    differ = [f"{k} {record.get(k)} (here {here[k]})" for k in ("asset", "freq", "calendar") if record.get(k) != here[k]]
    if differ:
        warnings.warn(f"strategy {strategy.name!r}: state fitted on another " + ", ".join(differ), stacklevel=3)


def check_supported(strategy: Strategy, grid: ScenarioGrid) -> None:
    """Raise ``StrategyError`` naming the first scenario the strategy does not support."""
    for spec in grid.specs:
        reason = strategy.unsupported(spec)
        if reason:
            raise StrategyError(f"strategy {strategy.name!r} does not support scenario {spec.label}: {reason}")


def order_context(windows: "OrderWindows", lookback: int) -> OrderContext:
    """The context of ``windows``' orders: copies of the ``lookback`` bars before each origin, the
    window's bar times and the order sizes (nothing later than origin−1)."""
    lookback = max(1, int(lookback))
    qty, notional = windows.sizes()
    return OrderContext(horizon=windows.horizon, freq=windows.freq, calendar=windows.calendar, lookback=lookback,
                        history_prices=windows.history("prices", lookback),
                        history_volumes=windows.history("volumes", lookback),
                        history_open_times=windows.history_times(lookback), execution_times=windows.bar_times(),
                        asset_names=windows.assets(), quantity=qty, notional=notional)


def masked_window(prices: np.ndarray, volumes: np.ndarray, last_known: np.ndarray, visible: int) -> RealisedWindow:
    """The window as known before bar ``visible``: later bars carry the last known price and no volume."""
    prices, volumes = prices.copy(), volumes.copy()
    fill = prices[:, visible - 1] if visible > 0 else last_known
    prices[:, visible:] = fill[:, None]
    volumes[:, visible:] = 0.0
    return RealisedWindow(prices, volumes, visible=visible)


STITCH_TOLERANCE = 1e-9


def _check_stitched(name: str, alloc: np.ndarray) -> None:
    """A sequence model's per-bar decisions, each taken with the later bars masked, must still add up:
    if they do not, its allocation for some bar moved when later bars were revealed."""
    total = alloc.sum(axis=1)
    bad = np.abs(total - 1.0) > STITCH_TOLERANCE
    if bad.any():
        i, s = np.argwhere(bad)[0]
        raise StrategyError(f"strategy {name!r}: its per-bar decisions (bar s decided with bars >= s masked) do "
                            f"not sum to 1 (order {i}, scenario {s}: {total[i, s]:.9g}); its allocations depend on "
                            "later bars, which a decision cannot see")


def _read_only(array: np.ndarray) -> np.ndarray:
    out = array.view()
    out.flags.writeable = False
    return out


def _kernel_is_current(strategy: Strategy) -> bool:
    """Whether ``policy_kernel`` belongs to the strategy's own class: a subclass may change ``step`` or
    anything ``step`` calls, so it runs its own ``step`` unless it declares the kernel again."""
    return "policy_kernel" in type(strategy).__dict__


@dataclass(frozen=True, eq=False)
class PolicyBatch:
    """One batch's per-order Numba policy, ready to drive: the kernel ``strategy.policy_kernel`` returned, its
    rows and shared arrays (read-only), and the batch's bars (``execbench.strategy.policy``)."""

    kernel: Callable
    rows: np.ndarray  # (n, k): each order's start-time state
    shared: tuple  # what every order of the batch shares
    prices: np.ndarray  # (n, T)
    volumes: np.ndarray  # (n, T)

    def joins(self, other: "PolicyBatch") -> bool:
        """Whether ``other`` may be driven in the same call: the same kernel, equal shared arrays and rows of
        the same width.  The kernel sees one order's row, the shared arrays and that order's own bars, so
        each order's decisions are the same whichever orders share the call."""
        return (self.kernel is other.kernel and self.rows.shape[1] == other.rows.shape[1]
                and len(self.shared) == len(other.shared)
                and all(a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
                        for a, b in zip(self.shared, other.shared, strict=True)))


def _policy_batch(strategy: Strategy, compiled: tuple, prices: np.ndarray, volumes: np.ndarray) -> PolicyBatch:
    """What ``strategy.policy_kernel`` returned for a batch, checked and made read-only."""
    kernel, rows, shared = compiled
    rows = _read_only(np.ascontiguousarray(rows, dtype=np.float64))  # Numba refuses to compile writes to these
    shared = tuple(_read_only(np.array(a)) for a in shared)
    if rows.ndim != 2 or rows.shape[0] != len(prices):
        raise AllocationError(f"strategy {strategy.name!r}: policy rows have shape {rows.shape}, expected "
                              f"({len(prices)}, columns)")
    return PolicyBatch(kernel, rows, shared, _read_only(prices), _read_only(volumes))


def _drive_batches(strategy: Strategy, batches: list[PolicyBatch], n_scen: int, decided: int) -> np.ndarray:
    """Drive the kernel of ``batches`` (which all join the first) over their orders in one call; their
    allocations (n, T, S), in batch order."""
    from execbench.strategy.policy import drive_policy  # numba: only for strategies that have a kernel

    first = batches[0]
    if len(batches) == 1:
        rows, prices, volumes = first.rows, first.prices, first.volumes
    else:
        rows, prices, volumes = (_read_only(np.concatenate([getattr(b, name) for b in batches]))
                                 for name in ("rows", "prices", "volumes"))
    alloc = np.zeros(prices.shape + (n_scen,))
    call_strategy(strategy, "policy kernel",
                  lambda: drive_policy(first.kernel, rows, first.shared, prices, volumes, alloc, decided))
    return alloc


def calls_map(strategy: Strategy, ahead: int | None = None) -> Callable:
    """``map`` for a strategy's independent calls: on threads (``execbench.threads.map_calls``, with at most
    ``ahead`` calls started ahead of the result being read) for one whose calls may run at once
    (``Strategy.concurrent_calls``), one after the other otherwise; results in call order either way."""
    if strategy.concurrent_calls and strategy.mode != "static":
        from execbench.threads import map_calls  # numba: only when calls run on threads

        return map_calls if ahead is None else functools.partial(map_calls, ahead=ahead)
    return map


def _run_batch(strategy: Strategy, windows: "OrderWindows", grid: ScenarioGrid, policies: bool,
               decided: int) -> np.ndarray | PolicyBatch:
    """One independent batch: its allocations, or, for a policy kernel, the ``PolicyBatch`` to drive."""
    ctx = order_context(windows, strategy.lookback)
    n, horizon, n_scen = len(windows), windows.horizon, len(grid)
    if strategy.mode == "static":
        out = call_strategy(strategy, "schedule", lambda: strategy.schedule(ctx, grid))
        return _checked_shape(strategy.name, "schedule", out, (n, horizon, n_scen))
    prices, volumes = windows.window("prices"), windows.window("volumes")
    alloc = np.zeros((n, horizon, n_scen))
    if strategy.mode == "sequence":  # one call per decision bar, the bars at and after it masked
        last_known = ctx.history("prices", 1)[:, 0]
        for s in range(decided):
            window = masked_window(prices, volumes, last_known, s)
            out = call_strategy(strategy, f"allocate_sequence (bar {s})",
                                lambda: strategy.allocate_sequence(ctx, grid, window))
            alloc[:, s, :] = _checked_shape(strategy.name, "allocate_sequence", out, (n, horizon, n_scen))[:, s, :]
        if decided == horizon:
            _check_stitched(strategy.name, alloc)
        return alloc
    state = call_strategy(strategy, "start", lambda: strategy.start(ctx, grid))
    compiled = None
    if policies and _kernel_is_current(strategy):
        compiled = call_strategy(strategy, "policy_kernel", lambda: strategy.policy_kernel(state))
    if compiled is not None:  # the per-order Numba form of step (execbench.strategy.policy), driven by the caller
        return _policy_batch(strategy, compiled, prices, volumes)
    for s in range(decided):
        obs = StepObservation(step=s, prices=prices[:, :s].copy(), volumes=volumes[:, :s].copy(),
                              allocated=alloc[:, :s, :].copy())
        out = call_strategy(strategy, f"step (bar {s})", lambda: strategy.step(state, obs))
        alloc[:, s, :] = _checked_shape(strategy.name, f"step {s}", out, (n, n_scen))
    return alloc


def run_strategy(strategy: Strategy, windows: "OrderWindows", grid: ScenarioGrid, *,
                 batches: list[np.ndarray] | None = None, policies: bool = True, bars: int | None = None) -> np.ndarray:
    """Drive ``strategy`` over ``windows`` according to its mode; returns allocations (n, T, S).

    The orders are shown to the strategy in independent batches (``execbench.orders.independent_batches``:
    no order's inputs reveal another's window).  Static strategies see history only; adaptive ones
    see, at bar s, the realised bars before s; sequence models are called once per bar s with the
    bars ≥ s masked, and only their row s is kept.

    Parameters
    ----------
    strategy, windows, grid
        What to run, on which orders, for which scenarios.
    batches
        Row indices of ``windows``, one array per call, as ``independent_batches`` returns them
        (computed here when not given).
    policies
        Drive an adaptive strategy's per-order Numba kernel where it has one (``Strategy.policy_kernel``);
        ``False`` steps its NumPy ``step`` (the reference twin).
    bars
        Decide bars 0 … ``bars`` − 1 only and leave the later ones 0 (the look-ahead audit's runs that
        check those bars alone); an adaptive or sequence strategy, or a policy kernel, is then called for
        those bars only (a call cannot change what earlier calls returned), a static one still
        allocates every bar.  ``None``: all T.
    """
    from execbench.orders.batches import independent_batches  # pandas: only when running

    check_strategy(strategy)
    horizon = windows.horizon
    if grid.horizon != horizon:
        raise StrategyError(f"scenario grid horizon {grid.horizon} differs from the order windows' horizon {horizon}")
    if bars is not None and not 1 <= bars <= horizon:
        raise ValueError(f"run_strategy: bars must lie in 1..{horizon}, got {bars}")
    if batches is None:
        batches = independent_batches(windows, strategy.lookback)
    decided = horizon if bars is None else bars
    alloc = np.zeros((len(windows), horizon, len(grid)))
    pending: list[tuple[np.ndarray, PolicyBatch]] = []  # consecutive policy batches that join, driven in one call

    def drive_pending() -> None:
        if pending:
            alloc[np.concatenate([rows for rows, _ in pending])] = _drive_batches(
                strategy, [batch for _, batch in pending], len(grid), decided)
            pending.clear()

    def one_batch(rows: np.ndarray) -> np.ndarray | PolicyBatch:
        return _run_batch(strategy, windows.subset(rows), grid, policies, decided)

    for rows, out in zip(batches, calls_map(strategy)(one_batch, batches), strict=True):
        if not isinstance(out, PolicyBatch):
            alloc[rows] = out
            continue
        if pending and not pending[0][1].joins(out):
            drive_pending()
        pending.append((rows, out))
    drive_pending()
    return alloc
