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


def information_lookback(lookback: int) -> int:
    """Bars before an origin that a call reveals about an order: the strategy's history and the
    ``SIZE_LOOKBACK`` bars the order size is computed from."""
    return max(1, int(lookback), SIZE_LOOKBACK)


def information_spans(windows: OrderWindows, lookback: int) -> tuple[np.ndarray, np.ndarray]:
    """Per order, the open times (int64 ns) of the first bar it reveals and of its last window bar."""
    first = windows.history_times(information_lookback(lookback))[:, 0].astype("int64")
    first = np.where(first == np.datetime64("NaT").astype("int64"), NAT_FLOOR, first)
    last = windows.bar_times()[:, -1].astype("int64")
    return first, last


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
    first, last = information_spans(windows, lookback)
    origin = windows.origin_times().astype("int64")
    cohorts, cohort_of = np.unique(origin, return_inverse=True)
    start = np.full(len(cohorts), np.iinfo(np.int64).max)
    end = np.full(len(cohorts), NAT_FLOOR)
    np.minimum.at(start, cohort_of, first)
    np.maximum.at(end, cohort_of, last)
    batch_of_cohort = np.empty(len(cohorts), dtype=np.int64)
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
    order = np.lexsort((np.arange(len(windows)), origin, batch_of_order))
    bounds = np.flatnonzero(np.diff(batch_of_order[order])) + 1
    return [np.sort(rows) for rows in np.split(order, bounds)]


def check_independent(windows: OrderWindows, lookback: int) -> bool:
    """Whether the orders of ``windows`` may be shown in one call (``independent_batches`` gives one)."""
    return len(independent_batches(windows, lookback)) <= 1
