"""Running a GIL-free row kernel over blocks of orders on a thread pool (shared by the kernel families: the
engine's replay and impact, the bootstrap, and the strategies' per-order policies), a strategy's independent
calls on threads, and one call on a thread of its own (the option replay beside a run)."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sized
from concurrent.futures import Future, ThreadPoolExecutor

import numba as nb
import numpy as np

CALLS_AHEAD = 4  # strategy calls per thread started ahead of the result being read (``map_calls``)
MIN_ROWS_PER_THREAD = 2048  # below this, threads cost more than they save
_POOLS: dict[tuple[int, str], ThreadPoolExecutor] = {}  # one pool per thread count and use, kept: starting threads per call cost 1 ms
_POOLS_LOCK = threading.Lock()


def cores() -> int:
    """The cores this process may use (its CPU affinity where the system tells it, else 2)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2


def _forget_pools() -> None:
    """In a forked child (report figure workers, process pools): the parent's pool threads do not exist
    there, so its pools would take jobs and never run them; the child starts its own."""
    global _POOLS_LOCK
    _POOLS.clear()
    _POOLS_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools)


def _pool(threads: int, name: str = "execbench-rows") -> ThreadPoolExecutor:
    with _POOLS_LOCK:
        if (threads, name) not in _POOLS:
            _POOLS[threads, name] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
        return _POOLS[threads, name]


def in_background(function: Callable[[], object], name: str) -> Callable[[], object]:
    """Start ``function()`` on a daemon thread named ``name`` (a process that exits, or is interrupted,
    does not wait for it); the returned callable waits for it and returns its value, or raises what it
    raised."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = function()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, who raises it
            outcome["error"] = exc

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()

    def join() -> object:
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    return join


def map_calls(function: Callable, items: Iterable, workers: int | None = None, ahead: int | None = None) -> Iterator:
    """``function(item)`` for each item, on ``workers`` threads (default: one more than ``cores()`` where
    there are several: a call alternates Python, which holds the GIL, with work that releases it, such as
    the LEM's XLA programs, so with one thread per core a core idles while both threads are in Python;
    120 LEM calls took a median 1.81 s on three threads against 2.02 s on two), in the items' order.
    Items are taken as results are read, at most ``ahead`` (default ``CALLS_AHEAD`` per thread) ahead of
    the one being read, so a caller that makes its items lazily (the audit's perturbed markets) holds a
    few at a time; calls not yet started when the reader stops are cancelled.  A pool of its own: a call
    may itself run a row kernel on the row pools."""
    workers = workers or (cores() + 1 if cores() > 1 else 1)
    if isinstance(items, Sized):
        workers = min(workers, len(items))
    if workers <= 1:
        return map(function, items)
    ahead = CALLS_AHEAD * workers if ahead is None else max(workers, ahead)
    return _in_order(_pool(workers, "execbench-calls"), function, items, ahead)


def _in_order(pool: ThreadPoolExecutor, function: Callable, items: Iterable, ahead: int) -> Iterator:
    pending: deque[Future] = deque()
    try:
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) > ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for job in pending:
            job.cancel()


def run_rows(rows_kernel, n: int, inputs: tuple, outputs: tuple, min_rows: int = MIN_ROWS_PER_THREAD) -> tuple:
    """Run a GIL-free ``rows_kernel(*inputs, start, stop, *outputs)`` over rows 0..n on
    ``numba.config.NUMBA_NUM_THREADS`` threads (one thread unless each gets ``min_rows``); returns
    ``outputs``."""
    threads = max(1, min(nb.config.NUMBA_NUM_THREADS, n // max(1, int(min_rows))))
    if threads == 1:
        rows_kernel(*inputs, 0, n, *outputs)
        return outputs
    blocks = min(threads * 4, n // max(1, int(min_rows)))  # up to 4 per thread (balance), each worth a thread
    bounds = np.linspace(0, n, blocks + 1).astype(np.int64)
    pool = _pool(threads)
    jobs = [pool.submit(rows_kernel, *inputs, int(a), int(b), *outputs) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    for job in jobs:
        job.result()
    return outputs
