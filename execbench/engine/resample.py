"""Bootstrap resampling kernels: the sum of a series, and the median of orders grouped by date, over
each resample's positions.

``resampled_sums`` (Numba) and its NumPy twin ``resampled_sums_numpy`` give the same (reps,) sums of
``values[indices[r]]``; the kernel reads the positions once, without the (reps × n) gathered copy the
twin builds (400 resamples of 30k dates: a 90 MB temporary per series).  The tables use
``resampled_run_sums_columns``: a block bootstrap's rows as runs of consecutive positions
(``index_runs``), each run's sum a difference of running sums.

``resampled_medians`` gives the median of every resample of dates, each resampled date bringing all
its orders, as a weighted median: the orders sorted once, each weighted by how often the resample
drew its date.  Its twin ``resampled_medians_numpy`` gathers each resample's orders and takes
``np.nanmedian``; the two are equal exactly (the middle element, or the half-sum of the two middle
elements, as NumPy computes it).
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from execbench.threads import run_rows


WORK_PER_THREAD = 1_000_000  # resampled positions a thread should read, at least, to be worth starting


def _rows_per_thread(indices: np.ndarray) -> int:
    return -(-WORK_PER_THREAD // max(1, indices.shape[1]))


@nb.njit(nogil=True, cache=True)
def _sums(values, indices, start, stop, out):
    n = indices.shape[1]
    for r in range(start, stop):
        acc = 0.0
        for j in range(n):
            acc += values[indices[r, j]]
        out[r] = acc


def resampled_sums(values: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Sum of ``values`` (n,) over each row of ``indices`` (reps, m) of positions into it."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    indices = np.ascontiguousarray(indices, dtype=np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= values.size):
        raise IndexError(f"resampled_sums: positions must lie in 0..{values.size - 1}")
    out = np.empty(indices.shape[0])
    run_rows(_sums, indices.shape[0], (values, indices), (out,), min_rows=_rows_per_thread(indices))
    return out


class IndexRuns(NamedTuple):
    """The rows of a (reps, m) array of positions as runs of consecutive positions: run k covers
    ``start[k] .. start[k] + length[k] − 1``, and row r's runs are ``offsets[r]:offsets[r + 1]``, in
    the row's own order."""

    start: np.ndarray
    length: np.ndarray
    offsets: np.ndarray


def index_runs(indices: np.ndarray) -> IndexRuns:
    """``indices`` (reps, m) as ``IndexRuns``: a block bootstrap's rows are mostly long runs, so a sum
    over them reads the values in order instead of a (reps × m) array of positions."""
    indices = np.asarray(indices, dtype=np.int64)
    reps, m = indices.shape
    if m == 0:
        empty = np.zeros(0, dtype=np.int64)
        return IndexRuns(empty, empty, np.zeros(reps + 1, dtype=np.int64))
    begins = np.ones((reps, m), dtype=bool)
    begins[:, 1:] = indices[:, 1:] != indices[:, :-1] + 1
    first = np.flatnonzero(begins.ravel())  # every row begins a run, so no run crosses rows
    length = np.diff(np.append(first, reps * m))
    offsets = np.searchsorted(first // m, np.arange(reps + 1))
    return IndexRuns(indices.ravel()[first], length.astype(np.int64), offsets.astype(np.int64))


def _check_runs(runs: IndexRuns, size: int, caller: str) -> None:
    if runs.start.size and (runs.start.min() < 0 or (runs.start + runs.length).max() > size):
        raise IndexError(f"{caller}: positions must lie in 0..{size - 1}")


def resampled_run_sums(values: np.ndarray, runs: IndexRuns) -> np.ndarray:
    """The sum of ``values`` (n,) over each row of ``runs`` (``index_runs``), (reps,):
    ``resampled_run_sums_columns`` of one column."""
    values = np.asarray(values, dtype=np.float64)
    _check_runs(runs, values.size, "resampled_run_sums")
    return resampled_run_sums_columns(values[:, None], runs)[:, 0]


@nb.njit(nogil=True, cache=True)
def _prefix_run_sums(prefix, start, length, offsets, first_row, stop_row, out):
    k = prefix.shape[1]
    acc = np.empty(k)
    for r in range(first_row, stop_row):
        acc[:] = 0.0
        for q in range(offsets[r], offsets[r + 1]):
            a, b = start[q], start[q] + length[q]
            for c in range(k):
                acc[c] += prefix[b, c] - prefix[a, c]
        for c in range(k):
            out[r, c] = acc[c]


def _prefix(values: np.ndarray) -> np.ndarray:
    """(n + 1, k) running sums of the columns, from 0 (``np.cumsum`` adds in order)."""
    prefix = np.zeros((values.shape[0] + 1, values.shape[1]))
    np.cumsum(values, axis=0, out=prefix[1:])
    return prefix


def resampled_run_sums_columns(values: np.ndarray, runs: IndexRuns) -> np.ndarray:
    """The sums of every column of ``values`` (n, k), finite, over each row of ``runs``, (reps, k).

    A run's sum is the difference of the column's running sums at its ends, so a resample costs one
    subtraction per run (about n / block) instead of one addition per position (n): 20 to 30 times
    fewer operations for the block lengths the tables use.  Against adding the values one by one it
    differs by rounding only, at most about 2·runs·ε·max|running sum| per resample (tested against
    ``resampled_sums``); ``resampled_run_sums_numpy`` is its twin, to the last bit."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"resampled_run_sums_columns: values must be (n, k), got shape {values.shape}")
    _check_runs(runs, values.shape[0], "resampled_run_sums_columns")
    if not np.isfinite(values).all():
        raise ValueError("resampled_run_sums_columns: values must be finite (drop missing values per date first)")
    reps = runs.offsets.size - 1
    out = np.empty((reps, values.shape[1]))
    per_rep = max(1, runs.start.size * max(values.shape[1], 1) // max(reps, 1))
    run_rows(_prefix_run_sums, reps, (_prefix(values), runs.start, runs.length, runs.offsets), (out,),
             min_rows=-(-WORK_PER_THREAD // per_rep))
    return out


def resampled_run_sums_numpy(values: np.ndarray, runs: IndexRuns) -> np.ndarray:
    """The NumPy twin of ``resampled_run_sums_columns``: the runs' differences of running sums, added in
    each row's order."""
    values = np.asarray(values, dtype=np.float64)
    prefix = _prefix(values)
    differences = prefix[runs.start + runs.length] - prefix[runs.start]
    out = np.zeros((runs.offsets.size - 1, values.shape[1]))
    for r in range(out.shape[0]):
        row = differences[runs.offsets[r]:runs.offsets[r + 1]]
        if len(row):
            out[r] = np.cumsum(row, axis=0)[-1]
    return out


def resampled_sums_numpy(values: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """The NumPy twin of ``resampled_sums``."""
    return np.asarray(values, dtype=np.float64)[indices].sum(axis=1)


@nb.njit(nogil=True, cache=True)
def _medians(sorted_values, sorted_dates, n_dates, start, length, offsets, first_row, stop_row, out):
    drawn = np.zeros(n_dates, dtype=np.int64)
    for r in range(first_row, stop_row):
        drawn[:] = 0
        for k in range(offsets[r], offsets[r + 1]):
            for j in range(start[k], start[k] + length[k]):
                drawn[j] += 1
        total = 0
        for k in range(sorted_dates.size):
            total += drawn[sorted_dates[k]]
        if total == 0:
            out[r] = np.nan
            continue
        low_at, high_at = (total - 1) // 2, total // 2  # positions of the middle element(s)
        low = high = np.nan
        seen = 0
        for k in range(sorted_dates.size):
            seen += drawn[sorted_dates[k]]
            if np.isnan(low) and seen > low_at:
                low = sorted_values[k]
            if seen > high_at:
                high = sorted_values[k]
                break
        out[r] = low if low_at == high_at else 0.5 * (low + high)


def resampled_medians(values: np.ndarray, date_of: np.ndarray, n_dates: int, runs: IndexRuns) -> np.ndarray:
    """Median of the non-NaN ``values`` (one per order) of each resample, (reps,): the rows of ``runs``
    (``index_runs``) draw date positions, and each draw brings every order whose ``date_of`` is that
    date (NaN where a resample holds no finite value)."""
    values = np.asarray(values, dtype=np.float64)
    date_of = np.asarray(date_of, dtype=np.int64)
    _check_runs(runs, n_dates, "resampled_medians")
    finite = ~np.isnan(values)  # as np.nanmedian: ±inf values count
    order = np.argsort(values[finite], kind="stable")
    reps = runs.offsets.size - 1
    out = np.empty(reps)
    per_rep = max(1, int(runs.length.sum()) // max(reps, 1))
    run_rows(_medians, reps, (values[finite][order], date_of[finite][order], int(n_dates), *runs), (out,),
             min_rows=-(-WORK_PER_THREAD // max(per_rep, date_of.size)))
    return out


def resampled_medians_numpy(values: np.ndarray, date_of: np.ndarray, n_dates: int, indices: np.ndarray) -> np.ndarray:
    """The NumPy twin of ``resampled_medians``, from the positions themselves (``runs`` are
    ``index_runs(indices)``): each resample's orders gathered, then ``np.nanmedian``."""
    values = np.asarray(values, dtype=np.float64)
    members = [np.flatnonzero(np.asarray(date_of) == d) for d in range(n_dates)]
    out = np.empty(len(indices))
    for r, row in enumerate(indices):
        drawn = values[np.concatenate([members[d] for d in row])] if len(row) else np.zeros(0)
        finite = drawn[~np.isnan(drawn)]
        out[r] = np.median(finite) if finite.size else np.nan
    return out


@nb.njit(nogil=True, cache=True)
def stationary_sample(indices: np.ndarray, u: np.ndarray, p: float) -> np.ndarray:  # pragma: no cover - compiled
    """Politis–Romano's stationary bootstrap, in place: position i continues the block of i − 1 (the
    next position, wrapping to 0) unless ``u[i]`` ≤ ``p``, when it keeps its uniform draw
    ``indices[i]`` (a new block).  The rule of ``arch.bootstrap.StationaryBootstrap``."""
    n = indices.shape[0]
    for i in range(1, n):
        if u[i] > p:
            indices[i] = indices[i - 1] + 1
            if indices[i] == n:
                indices[i] = 0
    return indices


def stationary_sample_numpy(indices: np.ndarray, u: np.ndarray, p: float) -> np.ndarray:
    """The NumPy twin of ``stationary_sample``: each block's start and its offsets, wrapped."""
    n = indices.shape[0]
    if n == 0:
        return indices
    new = u > p
    new[0] = False
    new = ~new  # True where a block starts (position 0 always does)
    block = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    offset = np.arange(n) - starts[block]
    indices[:] = (indices[starts][block] + offset) % n
    return indices


@nb.njit(nogil=True, cache=True)
def stationary_runs(starts: np.ndarray, u: np.ndarray, p: float, run_start: np.ndarray,
                    run_length: np.ndarray) -> int:  # pragma: no cover - compiled
    """One resample of ``stationary_sample`` (its rule, from the same ``starts`` and ``u``) written
    directly as the runs of consecutive positions ``index_runs`` finds in it, into ``run_start`` and
    ``run_length`` (each at least n long); returns the number of runs.  No (n,) array of positions is
    built, and a block that happens to continue the previous one merges with it, as in ``index_runs``."""
    n = starts.shape[0]
    if n == 0:
        return 0
    count = 0
    position = starts[0]
    run_start[0] = position
    length = 1
    for i in range(1, n):
        following = position + 1
        if u[i] > p:
            step = 0 if following == n else following
        else:
            step = starts[i]
        if step == following:
            length += 1
        else:
            run_length[count] = length
            count += 1
            run_start[count] = step
            length = 1
        position = step
    run_length[count] = length
    return count + 1


def stationary_runs_numpy(starts: np.ndarray, u: np.ndarray, p: float) -> tuple[np.ndarray, np.ndarray]:
    """The NumPy twin of ``stationary_runs``: ``index_runs`` of ``stationary_sample_numpy``'s positions,
    as (run starts, run lengths)."""
    positions = stationary_sample_numpy(np.array(starts, dtype=np.int64), np.asarray(u), p)
    runs = index_runs(positions[None, :])
    return runs.start, runs.length
