"""Strategies that try to cheat, for the audit's tests: each must be refused, neutralised or flagged."""

from __future__ import annotations

import inspect
import zlib

import numpy as np

from execbench import Strategy
from execbench.orders import OrderWindows


def caller_windows() -> OrderWindows | None:
    """The order windows of the framework's frame that called the strategy (a stack-walking peek)."""
    frame = inspect.currentframe()
    while frame is not None:
        found = frame.f_locals.get("windows")
        if isinstance(found, OrderWindows):
            return found
        frame = frame.f_back
    return None


def by_volume(volumes: np.ndarray, n_scen: int) -> np.ndarray:
    alloc = volumes / volumes.sum(axis=1, keepdims=True)
    return np.repeat(alloc[:, :, None], n_scen, axis=2)


def twap(ctx, grid) -> np.ndarray:
    return np.full((ctx.n_orders, ctx.horizon, len(grid)), 1.0 / ctx.horizon)


class ContextPeeker(Strategy):
    """Reads the window through the context, as the old context allowed: the context has no such thing."""

    name = "context_peeker"

    def schedule(self, ctx, grid):
        return by_volume(ctx.windows.window("volumes"), len(grid))


class StackPeeker(Strategy):
    """Finds the framework's order windows on the call stack and sizes each bar by its own volume."""

    name = "stack_peeker"

    def schedule(self, ctx, grid):
        return by_volume(caller_windows().window("volumes"), len(grid))


class AuditDetector(Strategy):
    """Behaves when it believes it is audited (the old audit's sign: one market copy per order, so as
    many series as orders), peeks otherwise."""

    name = "audit_detector"

    def schedule(self, ctx, grid):
        windows = caller_windows()
        audited = len(windows.series) == len(windows)
        return twap(ctx, grid) if audited else by_volume(windows.window("volumes"), len(grid))


class RareLeaker(Strategy):
    """Peeks on about 1 % of orders (chosen by a hash of the origin time), TWAP on the rest."""

    name = "rare_leaker"

    def schedule(self, ctx, grid):
        alloc = twap(ctx, grid)
        origins = ctx.bar_times()[:, 0].astype("int64")
        leaky = np.array([zlib.crc32(int(t).to_bytes(8, "little", signed=True)) % 100 == 0 for t in origins])
        if leaky.any():
            alloc[leaky] = by_volume(caller_windows().window("volumes"), len(grid))[leaky]
        return alloc


class CrossOrderPeeker(Strategy):
    """Looks for a later order in the same call whose history covers this order's window and reads the
    window's volumes from it; TWAP when it finds none."""

    name = "cross_order_peeker"
    lookback = 400

    def schedule(self, ctx, grid):
        alloc = twap(ctx, grid)
        hist_times = ctx.history_times(self.lookback).astype("int64")
        hist_volumes = ctx.history("volumes", self.lookback)
        self.found = 0
        for i, times in enumerate(ctx.bar_times().astype("int64")):
            for j in range(ctx.n_orders):
                where = np.flatnonzero(np.isin(hist_times[j], times))
                if len(where) == ctx.horizon:
                    alloc[i] = by_volume(hist_volumes[j, where][None, :], len(grid))[0]
                    self.found += 1
                    break
        return alloc


class DiskReader(Strategy):
    """Re-reads the bundled bars itself and sizes each bar by its own volume: outside what a
    perturbation audit can see; the impossible-result check must flag it."""

    name = "disk_reader"

    def schedule(self, ctx, grid):
        import execbench as eb

        bars = eb.load_bars(str(ctx.assets()[0]))
        stamps = bars.index.tz_convert("UTC").tz_localize(None).to_numpy("datetime64[ns]")
        volume = bars["volume"].to_numpy()[np.searchsorted(stamps, ctx.bar_times())]
        return by_volume(volume, len(grid))


class SequencePeeker(Strategy):
    """A sequence model whose decision for bar s reads bar s's own volume: the framework masks it."""

    name = "sequence_peeker"
    mode = "sequence"

    def allocate_sequence(self, ctx, grid, window):
        volumes = window.volumes + 1e-9
        return by_volume(volumes, len(grid))


CAUGHT_BY_AUDIT = (StackPeeker, AuditDetector, RareLeaker)
