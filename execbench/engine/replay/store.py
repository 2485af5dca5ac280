"""Where a chunked replay puts its results: in memory while they fit a budget, on disk past it.

``ResultStore`` receives a replay's chunks (``write``: each chunk's ``ReplayResult`` and the final
positions of its orders) and gives back one ``ReplayResult`` in the final order (``result``).  Its
(orders × scenarios) fields are filled in place, so no chunk is concatenated or reordered; the order
labels and reference prices are given whole (one copy per set of orders, shared by every result on it).

While the results fit ``memory_budget()`` (``EXECBENCH_RESULTS_MEMORY_MB``, default 256 MB, for all
stores in the process) they stay in memory and the result holds plain arrays.  Past it they go to
unlinked temporary files in ``tempfile.gettempdir()`` (``TMPDIR``), and the result holds ``Columns``
(read one scenario at a time) and ``StoredRows``: memory then stays flat in the number of orders, at a
few columns, whatever the universe.  Either way every value is the same.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from execbench.engine.replay.columns import RowTable, ScenarioTable, final_order
from execbench.engine.replay.result import ReplayResult
from execbench.errors import DataError, ParameterError

MEMORY_ENV = "EXECBENCH_RESULTS_MEMORY_MB"
DEFAULT_MEMORY_MB = 256
FLOAT_FIELDS = ("achieved", "benchmark", "executed", "max_participation")
COUNT_FIELDS = ("end_bar", "violations")  # at most T: int32 as the kernel gives them; on disk int16 below 32768 bars

_held = [0]  # bytes of results held in memory by live stores' arrays
_held_lock = threading.Lock()


def memory_budget() -> int:
    """Bytes of per-order results all in-memory stores may hold together (``EXECBENCH_RESULTS_MEMORY_MB``)."""
    text = os.environ.get(MEMORY_ENV, "")
    try:
        mb = float(text) if text else DEFAULT_MEMORY_MB
    except ValueError:
        raise ParameterError(f"{MEMORY_ENV}={text!r}: expected a number of megabytes (0: always on disk)") from None
    if not (math.isfinite(mb) and mb >= 0):
        raise ParameterError(f"{MEMORY_ENV}={text!r}: expected a finite number of megabytes >= 0")
    return int(mb * 2**20)


@dataclass(frozen=True)
class StoreSize:
    """What a store of n orders × S scenarios holds (``result_bytes``) and where it goes."""

    n_orders: int
    n_scenarios: int
    horizon: int
    kept: int = 0
    impact: bool = False

    @property
    def count_dtype(self) -> np.dtype:
        return np.dtype(np.int16 if self.horizon < 2**15 else np.int32)

    @property
    def result_bytes(self) -> int:
        per_cell = 8 * (len(FLOAT_FIELDS) + len(COUNT_FIELDS) + self.impact)  # in memory (on disk, a little less)
        return self.n_orders * (self.n_scenarios * per_cell + self.horizon * self.kept * 4)

    @property
    def rewrite_bytes(self) -> int:
        """The largest field, which a disk table copies once to put it in final order."""
        return self.n_orders * self.n_scenarios * 8

    def on_disk(self) -> bool:
        """Whether these results go to disk: they would take the in-memory budget past its limit."""
        with _held_lock:
            held = _held[0]
        return held + self.result_bytes > memory_budget()


def check_space(*sizes: StoreSize, directory: str | None = None) -> None:
    """Refuse, before any work, results that fit neither the memory budget nor the temporary disk: ``sizes``
    are every result an evaluation keeps (the strategy's, the option's ...); the first is named."""
    if not any(size.on_disk() for size in sizes):
        return
    directory = directory or tempfile.gettempdir()
    free = shutil.disk_usage(directory).free
    need = sum(size.result_bytes for size in sizes) + max(size.rewrite_bytes for size in sizes)
    if need > 0.9 * free:
        first = sizes[0]
        raise DataError(f"results of {first.n_orders:,} orders × {first.n_scenarios} scenarios need about "
                        f"{need / 2**30:.1f} GiB of temporary disk in {directory} (past the "
                        f"{memory_budget() / 2**20:.0f} MB memory budget, {MEMORY_ENV}), {free / 2**30:.1f} GiB is "
                        "free: point TMPDIR at a larger disk or shorten the test period")


class ResultStore:
    """A chunked replay's results (module docstring).

    Parameters
    ----------
    grid
        The scenarios replayed.
    size
        Orders, scenarios, horizon, kept allocations (scenarios) and whether impact is replayed.
    kept
        Labels of the scenarios whose allocations are kept.
    """

    def __init__(self, grid, size: StoreSize, *, kept: tuple[str, ...] = (), orders: pd.DataFrame,
                 reference: dict[str, np.ndarray] | None = None):
        self.grid, self.size, self.kept = grid, size, tuple(kept)
        self.orders, self.reference = orders, reference
        self.on_disk = size.on_disk()
        n, n_scen = size.n_orders, size.n_scenarios
        if len(orders) != n:
            raise ValueError(f"ResultStore: {len(orders)} order labels for {n} orders")
        fields = {name: np.float64 for name in FLOAT_FIELDS} | {name: size.count_dtype for name in COUNT_FIELDS}
        if size.impact:
            fields["achieved_no_impact"] = np.float64
        self.tables = {name: ScenarioTable(n, n_scen, dtype, on_disk=self.on_disk,
                                           read_dtype=np.int32 if name in COUNT_FIELDS else None)
                       for name, dtype in fields.items()}
        self.allocations = (RowTable(n, (size.horizon, len(self.kept)), np.float32, on_disk=self.on_disk)
                            if self.kept else None)
        self._rows: list[np.ndarray] = []
        if not self.on_disk:  # each array counts until it is freed (the result holds the arrays themselves)
            buffers = [t.buffer for t in self.tables.values()] + ([self.allocations.buffer] if self.kept else [])
            for buffer in buffers:
                _change_held(buffer.nbytes)
                weakref.finalize(buffer, _change_held, -buffer.nbytes)

    def __repr__(self) -> str:
        where = "on disk" if self.on_disk else "in memory"
        return f"ResultStore({self.size.n_orders:,} orders × {self.size.n_scenarios} scenarios, {where})"

    def write(self, rows: np.ndarray, part: ReplayResult, allocations: np.ndarray | None = None) -> None:
        """The chunk ``part``, whose orders go to final positions ``rows``; ``allocations`` (len(rows), T, K)
        are its kept allocations (float32)."""
        rows = np.asarray(rows, dtype=np.int64)
        for name, table in self.tables.items():
            table.write(rows, getattr(part, name))
        if self.allocations is not None:
            self.allocations.write(rows, allocations)
        self._rows.append(rows)

    def write_scenarios(self, read: Callable[[str, int], np.ndarray]) -> None:
        """Every order at once, already in final order, one field's scenario at a time: ``read(name, s)``
        gives the n values of field ``name`` in scenario ``s`` (results read back from a file are then never
        whole in memory twice).  For a store in memory without kept allocations."""
        if self.on_disk or self.kept or self._rows:
            raise ValueError(f"{self!r}: write_scenarios fills an empty store in memory without kept allocations")
        for name, table in self.tables.items():
            for s in range(self.size.n_scenarios):
                table.buffer[:, s] = read(name, s)
        self._rows.append(np.arange(self.size.n_orders))

    def result(self) -> ReplayResult:
        """Every chunk written, in final order, with the store's order labels and reference prices."""
        order = final_order(self._rows, self.size.n_orders)
        values = {name: table.array(order) for name, table in self.tables.items()}
        allocations = None if self.allocations is None else self.allocations.array()
        return ReplayResult(grid=self.grid, orders=self.orders, reference=self.reference, kept=self.kept,
                            allocations=allocations, **values)


def _change_held(nbytes: int) -> None:
    with _held_lock:
        _held[0] += nbytes
