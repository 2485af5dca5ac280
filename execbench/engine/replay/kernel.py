"""Numba replay kernel.  ``twin.py`` holds its NumPy twin, ``codes.py`` the status codes and tolerances.

Arrays in, arrays out.  Shapes: ``prices``, ``volumes``: (n, T); ``alloc``: (n, T, S);
per-scenario arrays: (S,); per-order arrays: (n,).  Outputs are (n, S), plus per-order allocation
problem codes.  For each order the loop runs over bars outside and scenarios inside, so the inner
loop reads ``alloc[i, t, :]`` contiguously.

Speed (``benchmarks/bench_engine.py`` prints it against the traffic bounds): the kernel reads the
allocations once, and the scenario loop vectorises (AVX2, or AVX-512 where the CPU has it).  Divisions follow IEEE rules
(``error_model="numpy"``: no zero-division branch, and an all-zero allocation gives NaN, which the sum
check then reports); one weighted sum per scenario serves both targets.  The kernel is bound by its
work per bar and scenario, most of it loading and storing the per-scenario accumulators, so they are
kept few and narrow: the counts and the last traded bar are int32 (half the stores of int64), a negative
allocation is counted rather than tracked as a running minimum, and the running maximum is a select
(``x if x > m else m``), which skips a NaN share (``0 · inf`` on a bar with no volume) as the twin's
guard does.  These equal the twin's running minimum and guarded maximum for what ``replay`` passes: caps
above 0, ``sum_tol`` of at least 0, finite volumes (a direct call outside them may count differently).
Measured against the form with int64 scratch, ``np.minimum``/``np.maximum`` and the guard, outputs
bit-identical: 1.12–1.20x alternating in one process with ``malloc`` reusing memory, 1.20–1.23x in
``bench_engine.py --against 862670f``.

Parallelism: ``replay_rows`` is a serial, GIL-free (``nogil``) kernel over a range of orders;
``replay_kernel`` runs it on row blocks from a thread pool (``execbench/threads.py``).  This gives the
same speed as ``parallel=True`` with about half the first-call compile time (no parfor lowering).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from execbench.engine.replay.codes import ALLOC_EPS, BAD_SUM, NEGATIVE, NOT_FINITE, OK, RATE_TOL
from execbench.threads import run_rows


@nb.njit(nogil=True, cache=True, error_model="numpy")
def replay_rows(prices, volumes, alloc, order_qty, order_notional, is_notional, is_twap, min_period, min_rate,
                max_rate, max_participation, sum_tol, start, stop, achieved, benchmark, executed, max_part, end_bar,
                violations, codes, where):
    """Replay allocations against bar prices; see ``api.replay`` for the semantics.

    Fills rows ``start:stop`` of the outputs: achieved and benchmark prices, executed fraction,
    maximum participation, realised end bar (1-based), violation counts, and per order the
    allocation problem code and its scenario.  (bps and perf_bps derive from achieved / benchmark;
    ``ReplayResult`` computes them.)
    """
    _, horizon, n_scen = alloc.shape
    # the caps plus their tolerance, once; the target as a float (a float compare vectorises more cheaply
    # than widening booleans)
    part_cap = np.empty(n_scen)
    rate_cap = np.empty(n_scen)
    notional_f = np.empty(n_scen)
    for s in range(n_scen):
        notional_f[s] = 1.0 if is_notional[s] else 0.0
        part_cap[s] = max_participation[s] + RATE_TOL
        rate_cap[s] = max_rate[s] + RATE_TOL
    # scratch reused across orders
    weighted = np.empty(n_scen)
    total = np.empty(n_scen)
    part = np.empty(n_scen)
    negative = np.empty(n_scen, dtype=np.int32)
    last = np.empty(n_scen, dtype=np.int32)
    bad = np.empty(n_scen, dtype=np.int32)
    unit_f = np.empty(n_scen)
    cum_v = np.empty(horizon)
    cum_vp = np.empty(horizon)
    cum_p = np.empty(horizon)
    bench_twap = np.empty(horizon)
    bench_vwap = np.empty(horizon)
    for i in range(start, stop):
        for s in range(n_scen):
            weighted[s] = 0.0
            total[s] = 0.0
            part[s] = 0.0
            negative[s] = 0
            last[s] = -1
            bad[s] = 0
            unit_f[s] = order_notional[i] if is_notional[s] else order_qty[i]
        sv = 0.0
        svp = 0.0
        sp = 0.0
        for t in range(horizon):
            p = prices[i, t]
            v = volumes[i, t]
            sv += v
            svp += v * p
            sp += p
            cum_v[t] = sv
            cum_vp[t] = svp
            cum_p[t] = sp
            inv_p = 1.0 / p
            t32 = np.int32(t)
            # units bought per unit of allocation, over bar volume (inf on a bar with no volume)
            inv_v = 1.0 / v if v > 0.0 else np.inf
            for s in range(n_scen):
                a = alloc[i, t, s]
                notional = notional_f[s] > 0.0
                remaining = 1.0 - total[s]
                # quantity: Σ a·p (achieved = Σ a·p / Σ a); notional: Σ a/p (achieved = Σ a / Σ a/p)
                weighted[s] += a * (inv_p if notional else p)
                units = a * unit_f[s] * (inv_p if notional else 1.0)
                # a share that is NaN (0 · inf) or not positive changes neither the maximum nor the cap count,
                # as a share of 0 would
                share = units * inv_v
                part[s] = share if share > part[s] else part[s]
                last[s] = t32 if a > ALLOC_EPS else last[s]
                negative[s] += np.int32(a < -sum_tol)
                bad[s] += (
                    np.int32(share > part_cap[s])
                    + np.int32(a > rate_cap[s])
                    + np.int32((remaining > RATE_TOL) & (a < min(min_rate[s], remaining) - RATE_TOL))
                )
                total[s] += a
        # benchmark for every possible window end: T divisions per order instead of S
        for t in range(horizon):
            bench_twap[t] = cum_p[t] / (t + 1)
            bench_vwap[t] = cum_vp[t] / cum_v[t] if cum_v[t] > 0.0 else np.nan
        # gathers from the benchmark tables in one loop, the rest in a loop that vectorises
        for s in range(n_scen):
            e = max(min_period[s] - 1, last[s])
            benchmark[i, s] = bench_twap[e] if is_twap[s] else bench_vwap[e]
            end_bar[i, s] = e + 1
        problems = 0
        for s in range(n_scen):
            notional = is_notional[s]
            achieved[i, s] = (total[s] if notional else weighted[s]) / (weighted[s] if notional else total[s])
            executed[i, s] = total[s]
            max_part[i, s] = part[s]
            violations[i, s] = bad[s]
            problems += (np.int64(not np.isfinite(total[s])) + np.int64(abs(total[s] - 1.0) > sum_tol)
                         + np.int64(negative[s] > 0))
        problem = problems > 0
        if problem:  # rare: find the first scenario with a problem, in grid order
            for s in range(n_scen):
                if not np.isfinite(total[s]):  # a NaN or inf allocation makes the sum non-finite
                    codes[i] = NOT_FINITE
                elif negative[s] > 0:
                    codes[i] = NEGATIVE
                elif abs(total[s] - 1.0) > sum_tol:
                    codes[i] = BAD_SUM
                if codes[i] != OK:
                    where[i] = s
                    break


def replay_kernel(prices, volumes, alloc, order_qty, order_notional, is_notional, is_twap, min_period, min_rate,
                  max_rate, max_participation, sum_tol):
    """Run ``replay_rows`` over all orders on a thread pool; same arguments and outputs as
    ``twin.replay_numpy``."""
    n, _, n_scen = alloc.shape
    outputs = (np.empty((n, n_scen)), np.empty((n, n_scen)), np.empty((n, n_scen)), np.empty((n, n_scen)),
               np.empty((n, n_scen), dtype=np.int32), np.empty((n, n_scen), dtype=np.int32),
               np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64))
    inputs = (prices, volumes, alloc, order_qty, order_notional, is_notional, is_twap, min_period, min_rate,
              max_rate, max_participation, sum_tol)
    return run_rows(replay_rows, n, inputs, outputs)
