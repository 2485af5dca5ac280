"""A strategy's independent calls on threads (``execbench.threads.map_calls``): the same calls of a run on
different thread counts, alternating in one process, with the allocations checked equal.  For the LEM, each
call alternates Python (under the GIL) with XLA programs (outside it).

    .venv/bin/python benchmarks/bench_calls.py [--strategy lem] [--calls 120] [--threads 2,3,4] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from execbench import threads
from execbench.contracts import scenario_grid
from execbench.data import load_bars
from execbench.orders import build_order_windows, default_split, strategy_calls, training_bars
from execbench.strategy import fit_strategy, load_strategy, run_strategy


def main(args: argparse.Namespace) -> None:
    bars = load_bars(args.asset)
    split = default_split(bars)
    strategy = load_strategy(args.strategy)
    fit_strategy(strategy, training_bars(bars, split.train_end))
    windows = build_order_windows(bars, 12, start=split.test_start, end=split.test_end,
                                  min_history=max(1, strategy.lookback))
    calls = strategy_calls(windows, strategy.lookback)[:args.calls]
    chunk = windows.subset(np.concatenate(calls))
    bounds = np.cumsum([0] + [len(c) for c in calls])
    batches = [np.arange(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    grid = scenario_grid(12)
    counts = [int(k) for k in args.threads.split(",")]
    run_strategy(strategy, chunk, grid, batches=batches)  # warm-up: programs traced and loaded
    reference, seconds = None, {k: [] for k in counts}
    for rep in range(args.repeats):
        for k in counts if rep % 2 == 0 else counts[::-1]:
            start = time.perf_counter()
            alloc = threads_run(strategy, chunk, grid, batches, k)
            seconds[k].append(time.perf_counter() - start)
            if reference is None:
                reference = alloc
            if not np.array_equal(alloc, reference):
                raise SystemExit(f"{k} threads: allocations differ")
    print(f"{args.strategy}: {len(calls)} calls, {len(chunk):,} orders, {threads.cores()} cores; seconds, alternating "
          "(allocations equal on every thread count)")
    for k, values in seconds.items():
        print(f"  {k} threads  {' '.join(f'{v:.2f}' for v in values)}   median {np.median(values):.2f}  "
              f"best {min(values):.2f}")


def threads_run(strategy, chunk, grid, batches, workers: int) -> np.ndarray:
    real = threads.map_calls

    def map_on(function, items, workers_=None, **options):
        return real(function, items, workers, **options)  # ``ahead`` only where the caller gives it (older trees lack it)

    threads.map_calls = map_on  # calls_map imports it at each run
    try:
        return run_strategy(strategy, chunk, grid, batches=batches)
    finally:
        threads.map_calls = real


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategy", default="lem")
    parser.add_argument("--asset", default="BTCUSDT")
    parser.add_argument("--calls", type=int, default=120)
    parser.add_argument("--threads", default="2,3,4")
    parser.add_argument("--repeats", type=int, default=5)
    main(parser.parse_args())
