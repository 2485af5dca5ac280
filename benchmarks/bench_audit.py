"""The look-ahead audit alone, in one process: ``audit_calls`` of a strategy on BTCUSDT's test orders (the
calls ``run`` audits), timed on its first call (which, for the LEM, compiles or loads its programs) and on
the calls after it (warm); and loading the strategy before (for the LEM, its checkpoint, keras imported
first).  Compare revisions with

    .venv/bin/python benchmarks/bench_against.py REV --script benchmarks/bench_audit.py -- --strategy lem

    .venv/bin/python benchmarks/bench_audit.py [--strategy lem] [--asset BTCUSDT] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

from execbench.contracts import scenario_grid
from execbench.data import load_bars
from execbench.orders import build_order_windows, default_split, strategy_calls, training_bars
from execbench.pipeline.audit import audit_calls
from execbench.strategy import fit_strategy, load_strategy


def main(args: argparse.Namespace) -> None:
    bars = load_bars(args.asset)
    split = default_split(bars)
    if args.strategy == "lem":  # keras imported first: the load below is the model's alone
        from execbench.lem.backend import keras_backend

        keras_backend()
    start = time.perf_counter()
    strategy = load_strategy(args.strategy)
    loaded = time.perf_counter() - start
    fit_strategy(strategy, training_bars(bars, split.train_end))
    windows = build_order_windows(bars, args.horizon, start=split.test_start, end=split.test_end,
                                  min_history=max(1, strategy.lookback))
    grid, calls = scenario_grid(args.horizon), strategy_calls(windows, strategy.lookback)
    seconds = []
    for _ in range(1 + args.repeats):
        start = time.perf_counter()
        report = audit_calls(strategy, windows, grid, calls, asset=args.asset)
        seconds.append(time.perf_counter() - start)
    print(f"look-ahead audit of {args.strategy} on {args.asset}: {report.n_orders} orders in {report.n_calls} calls, "
          f"{report.label()}")
    print(f"strategy loaded in {loaded:.2f} s; audit: first {seconds[0]:.2f} s; warm {' '.join(f'{s:.2f}' for s in seconds[1:])} s (best {min(seconds[1:]):.2f})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategy", default="lem")
    parser.add_argument("--asset", default="BTCUSDT")
    parser.add_argument("--horizon", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    main(parser.parse_args())
