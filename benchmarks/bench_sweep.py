"""Sweep throughput: the same 24-cell sweep (twap, flex, dvwap × BTCUSDT, ETHUSDT, BNBUSDT, XRPUSDT ×
1h, 4h; audited, block-bootstrap CIs) run serially in one process without Dask (the baseline) and on
a Dask LocalCluster with 2 single-threaded workers, in the same run; prints the speed-up, the
scheduler overhead per task, and an *estimate* of the wall time on a cluster of N workers (the
measured per-cell times scheduled longest-first onto N workers, plus the measured overhead per task;
a simulation, not a measurement).

    .venv/bin/python benchmarks/bench_sweep.py [--workers 2] [--test-start 2025-10-01]
"""

from __future__ import annotations

import argparse
import heapq
import os
import tempfile
import time

from execbench.sweep import SweepOptions, sweep, sweep_cells, sweep_serial

STRATEGIES = ["twap", "flex", "dvwap"]
ASSETS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "XRPUSDT"]
FREQS = ["1h", "4h"]


def estimate(seconds: list[float], workers: int, overhead: float) -> float:
    """Longest-processing-time-first schedule of the cells on ``workers``: the makespan."""
    loads = [0.0] * workers
    for s in sorted(seconds, reverse=True):
        heapq.heapreplace(loads, loads[0] + s + overhead)
    return max(loads)


def main(args: argparse.Namespace) -> None:
    options = SweepOptions(test_start=args.test_start, audit=True, audit_orders=100, reps=200)
    cells = sweep_cells(STRATEGIES, ASSETS, FREQS)
    with tempfile.TemporaryDirectory() as serial_dir, tempfile.TemporaryDirectory() as dask_dir:
        start = time.perf_counter()
        statuses = sweep_serial(cells, options, serial_dir)
        serial = time.perf_counter() - start
        per_cell = [s["seconds"] for s in statuses]
        done = []
        start = time.perf_counter()
        sweep(STRATEGIES, ASSETS, freqs=FREQS, out=dask_dir, options=options, workers=args.workers, on_cell=done.append)
        distributed = time.perf_counter() - start
    in_cells = sum(s["seconds"] for s in done)
    overhead = max(distributed * args.workers - in_cells, 0.0) / len(done)
    print(f"{len(cells)} cells on {os.cpu_count()} cores; serial (one process, no Dask): {serial:.1f} s "
          f"(cells {sum(per_cell):.1f} s, first cell {per_cell[0]:.1f} s with the imports and compilations)")
    print(f"Dask LocalCluster, {args.workers} workers x 1 thread: {distributed:.1f} s including the cluster's start; "
          f"speed-up {serial / distributed:.2f}x")
    print(f"time inside cells on the workers: {in_cells:.1f} s; scheduler and start-up overhead per task "
          f"≈ {overhead:.2f} s (workers x wall − time in cells, over {len(done)} tasks)")
    print(f"a cell takes {in_cells / sum(per_cell):.2f}x as long on a 1-thread worker beside another as in the serial "
          f"run, whose engine already uses {os.cpu_count()} threads: on this machine the cores are shared either way")
    on_workers = [s["seconds"] for s in done]
    steady = sorted(on_workers)[len(on_workers) // 2]
    print(f"estimate (simulated from the per-cell times measured on the workers, not a measurement): median cell "
          f"{steady:.1f} s; N workers on N cores, longest cells first, plus the overhead per task")
    for n in (2, 8, 32, 128):
        print(f"  {n:>4} workers: ≈ {estimate(on_workers, n, overhead):.1f} s for these {len(cells)} cells; "
              f"≈ {estimate(on_workers * 40, n, overhead):.0f} s for a 40x larger grid")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--test-start", default="2025-10-01")
    main(parser.parse_args())
