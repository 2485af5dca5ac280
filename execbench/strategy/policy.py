"""Per-order Numba policies: an adaptive strategy's ``step`` compiled, driven one order at a time.

An adaptive strategy steps bar by bar in NumPy over a batch of orders (``runner``): with about a hundred
orders per independent batch, most of its time is Python overhead on small arrays, T calls per batch.
A strategy may also offer the same decisions as a Numba kernel (``Strategy.policy_kernel``): after
``start`` (history only, per batch, as before) it returns ``(kernel, rows, shared)``, and the
framework's driver below calls, for each order i and bar s,

    kernel(s, rows[i], shared, prices[i, :s], volumes[i, :s], done[i, :s, :], out[i, s, :])

``rows`` holds one float64 row of ``start``-time state per order and ``shared`` what every order shares
(a tuple of arrays: the grid's bounds, a solved rule); both are read-only, as are the bars (Numba will
not compile a write to them), so no state passes from one order to the next.  The kernel writes bar
s's allocations of every scenario into ``out``.  It is handed one order's realised bars before s and
its own earlier allocations; ``rows[i]`` comes from ``start``, which sees the batch's history (as for
``step``).  Numba does not check bounds: a kernel indexing outside its slices reads memory it was not
given, which the look-ahead audit is there to catch (``prices[s]`` is the bar it may not see).  The
NumPy ``step`` stays the reference twin: ``run_strategy(..., policies=False)`` drives it,
and tests hold the two equal.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit, typeof, types

from execbench.threads import run_rows


@njit(cache=True, nogil=True)
def _drive(kernel, rows, shared, prices, volumes, decided, first, stop, alloc) -> None:  # pragma: no cover - compiled
    for i in range(first, stop):
        for s in range(decided):
            kernel(s, rows[i], shared, prices[i, :s], volumes[i, :s], alloc[i, :s, :], alloc[i, s, :])


_ENTRIES: dict = {}  # (kernel, argument types) -> the driver compiled for them
_drive_uncached = njit(nogil=True)(_drive.py_func)  # for a kernel that cannot take the signature the cached one needs
THREAD_DECISIONS = 40_000  # bar × scenario decisions (about 1 ms) a thread should make, at least, to be worth a block


def _entry(kernel: Callable, key: tuple) -> Callable:
    """The cached driver for ``kernel`` and these argument types, or the uncached one where the kernel
    cannot compile the exact signature (one declared with its own signature, e.g. A-layout arrays, which
    Numba converts to at a call but not through a function pointer)."""
    rows_t, shared_t, prices_t, volumes_t, alloc_t = key[1:]
    # the types of the slices the driver hands the kernel, by Numba's layout rules: a row and a
    # leading slice of a C array stay C; alloc[i, :s, :] (a slice before the last axis) is A
    one = (types.intp, rows_t.copy(ndim=1), shared_t, prices_t.copy(ndim=1), volumes_t.copy(ndim=1),
           alloc_t.copy(ndim=2, layout="A"), alloc_t.copy(ndim=1))
    try:
        kernel.compile(one)
        signature = kernel.overloads[one].signature
    except Exception:  # noqa: BLE001 - compilation disabled, or no exact overload: drive it as a dispatcher
        return _drive_uncached
    return _drive.compile((types.FunctionType(signature), *key[1:5], types.intp, types.intp, types.intp, key[5]))


def _contiguous(array: np.ndarray) -> np.ndarray:
    """``array`` C-contiguous (the layout the kernel's slice types assume), as read-only as it was."""
    out = np.ascontiguousarray(array)
    if out is not array and not array.flags.writeable:
        out.flags.writeable = False
    return out


def drive_policy(kernel: Callable, rows: np.ndarray, shared: tuple, prices: np.ndarray, volumes: np.ndarray,
                 alloc: np.ndarray, decided: int | None = None) -> None:
    """Fill ``alloc`` (n, T, S) bar by bar, order by order, with ``kernel`` (module docstring); only bars
    0 … ``decided`` − 1 when given (the later ones are left as they are).

    The driver receives the kernel as a first-class function (a pointer with the kernel's signature),
    not as a dispatcher: a function whose type names another dispatcher cannot be cached by Numba,
    while this one is compiled once per signature and loaded from the cache by later processes (it
    cost about 0.5 s per kernel and process before).  The kernel is called through the pointer, so a
    changed kernel is never served stale from the driver's cache.  Define a kernel once (a module-level
    ``@njit`` function), not per ``policy_kernel`` call: each new dispatcher is compiled again."""
    args = (_contiguous(rows), shared, _contiguous(prices), _contiguous(volumes), alloc)
    if not alloc.flags.c_contiguous:
        raise ValueError("drive_policy: alloc must be C-contiguous")
    quick = (kernel, *(_type_key(a) for a in args))  # Numba's typeof of a tuple of arrays took 0.37 ms a call
    entry = _ENTRIES.get(quick)
    if entry is None:
        entry = _ENTRIES[quick] = _entry(kernel, (kernel, *(typeof(a) for a in args)))
    n, horizon = prices.shape
    decided = horizon if decided is None else decided
    if not 0 <= decided <= horizon:
        raise ValueError(f"drive_policy: decided must lie in 0..{horizon}, got {decided}")
    # orders are independent (nothing passes from one to the next), so blocks of them run on threads
    run_rows(entry, n, (kernel, *args[:4], decided), (alloc,),
             min_rows=-(-THREAD_DECISIONS // max(1, horizon * alloc.shape[2])))


def _type_key(value) -> object:
    """What decides an argument's Numba type, from NumPy's own attributes: an array's dtype, dimensions,
    layout, writeability and alignment (each a part of Numba's array type), a tuple's members; for any
    other value, its Numba type itself."""
    if isinstance(value, np.ndarray):
        flags = value.flags
        return (np.ndarray, value.dtype.str, value.ndim, flags.c_contiguous, flags.f_contiguous, flags.writeable,
                flags.aligned)
    if isinstance(value, tuple):
        return (tuple, *(_type_key(v) for v in value))
    return typeof(value)


@njit(cache=True, inline="always")
def bounded(desired: float, remaining: float, step: int, horizon: int, lo: float, hi: float,
            later: float) -> float:  # pragma: no cover - compiled
    """``schedules.bounded_step`` for one order and scenario: ``desired`` clipped to the rate bounds and
    the remainder, at least what the ``later`` bars' capacity leaves; the last bar takes the remainder."""
    remaining = max(remaining, 0.0)
    if step == horizon - 1:
        return remaining
    alloc = min(max(desired, min(lo, remaining)), min(hi, remaining))
    return min(max(max(alloc, remaining - later), 0.0), remaining)
