"""Independent batches: the orders a strategy may be shown in one call.

A strategy is called for many orders at once (vectorised), but orders overlap in time: a later order's
history holds an earlier order's window.  Shown together, one order's inputs would reveal another's
future.  So each call gets a batch in which every order's information — its visible history, from
``lookback`` bars before its origin, to the last bar of its window — is disjoint in time from every
other order's, except for orders with the same origin (a universe's assets at one instant, which
share a clock).  Batches are found by greedy interval partitioning (optimal: as few batches as the
deepest overlap); each batch's orders are spread over the whole period.
"""

from __future__ import annotations

import heapq

import numpy as np

from execbench.orders.windows import SIZE_LOOKBACK, OrderWindows

NAT_FLOOR = np.iinfo(np.int64).min
INT64_MAX = np.iinfo(np.int64).max
DEFAULT_CHUNK = 4096  # most orders per strategy call and per replay chunk


def information_lookback(lookback: int) -> int:
    """Bars before an origin that a call reveals about an order: the strategy's history and the
    ``SIZE_LOOKBACK`` bars the order size is computed from."""
    return max(1, int(lookback), SIZE_LOOKBACK)


def information_spans(windows: OrderWindows, lookback: int) -> tuple[np.ndarray, np.ndarray]:
    """Per order, the open times (int64 ns) of the first bar it reveals and of its last window bar."""
    first = windows.time_at(-information_lookback(lookback)).astype("int64")
    first = np.where(first == np.datetime64("NaT").astype("int64"), NAT_FLOOR, first)
    last = windows.time_at(windows.horizon - 1)
    if np.isnat(last).any():  # a window past the end of its series: OrderWindows never builds one
        raise ValueError(f"information_spans: order {int(np.flatnonzero(np.isnat(last))[0])}'s window ends past its data")
    return first, last.astype("int64")


def cohorts(windows: OrderWindows, lookback: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orders grouped by origin time (a cohort shares a clock): each order's cohort (index into the
    sorted origin times) and, per cohort, the first bar any member reveals and the last window bar."""
    first, last = information_spans(windows, lookback)
    _, cohort_of = np.unique(windows.origin_times().astype("int64"), return_inverse=True)
    n_cohorts = int(cohort_of.max()) + 1 if len(cohort_of) else 0
    start = np.full(n_cohorts, INT64_MAX)
    end = np.full(n_cohorts, NAT_FLOOR)
    np.minimum.at(start, cohort_of, first)
    np.maximum.at(end, cohort_of, last)
    return cohort_of, start, end


def independent_batches(windows: OrderWindows, lookback: int) -> list[np.ndarray]:
    """Partition the orders of ``windows`` into batches with disjoint information (module docstring).

    Parameters
    ----------
    windows
        The orders.
    lookback
        Bars of history the strategy is shown before each origin.

    Returns
    -------
    list of numpy.ndarray
        Row indices into ``windows``, each batch in origin order; every order is in exactly one batch.
    """
    if len(windows) == 0:
        return []
    cohort_of, start, end = cohorts(windows, lookback)
    batch_of_cohort = np.empty(len(start), dtype=np.int64)
    open_batches: list[tuple[int, int]] = []  # (end of its latest cohort, batch id)
    n_batches = 0
    for c in np.argsort(start, kind="stable"):
        if open_batches and open_batches[0][0] < start[c]:
            _, batch = heapq.heappop(open_batches)
        else:
            batch, n_batches = n_batches, n_batches + 1
        batch_of_cohort[c] = batch
        heapq.heappush(open_batches, (int(end[c]), batch))
    batch_of_order = batch_of_cohort[cohort_of]
    order = np.argsort(batch_of_order, kind="stable")  # rows in order within each batch
    bounds = np.flatnonzero(np.diff(batch_of_order[order])) + 1
    return np.split(order, bounds)


def strategy_calls(windows: OrderWindows, lookback: int, chunk_size: int = DEFAULT_CHUNK) -> list[np.ndarray]:
    """The row sets a run shows the strategy, one per call: its independent batches, split to at most
    ``chunk_size`` orders (a part of an independent batch is still independent).  A run and its
    look-ahead audit use the same calls."""
    return [part for rows in independent_batches(windows, lookback)
            for part in np.array_split(rows, -(-len(rows) // chunk_size))]
