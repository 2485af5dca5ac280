"""Adaptive built-ins: their per-order Numba policies against their NumPy ``step`` (the twin).

For each built-in with a kernel (optstop, dvwap, pov, flex), fitted on the BTCUSDT training bars, runs
its allocations for the test orders on the full scenario grid both ways, and a look-ahead audit
(500 orders) both ways; prints the wall times, the ratio (step / kernel) and the largest difference
between the two allocations.  The kernels are compiled (and the driver specialised) before timing.

    .venv/bin/python benchmarks/bench_policies.py [--asset BTCUSDT] [--test-start 2026-03-01]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import execbench as eb
from execbench.pipeline.audit import audit_strategy
from execbench.strategy import fit_strategy, run_strategy
from execbench.strategy import runner
from execbench.strategy.registry import load_strategy

KERNELS = ("optstop", "dvwap", "pov", "flex")


def timed(call) -> tuple[float, object]:
    start = time.perf_counter()
    out = call()
    return time.perf_counter() - start, out


def audit_seconds(strategy, bars, split, policies: bool) -> float:
    """An audit of 500 orders, with the kernel or with ``step`` (the runner's default switched)."""
    default = runner.run_strategy.__kwdefaults__["policies"]
    runner.run_strategy.__kwdefaults__["policies"] = policies
    try:
        return timed(lambda: audit_strategy(strategy, bars, horizon=12, split=split, fit=False))[0]
    finally:
        runner.run_strategy.__kwdefaults__["policies"] = default


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asset", default="BTCUSDT")
    parser.add_argument("--test-start", default="2026-03-01")
    args = parser.parse_args()
    bars = eb.load_bars(args.asset)
    split = eb.make_split(bars, test_start=args.test_start)
    grid = eb.scenario_grid(12)
    print(f"{args.asset}, test from {args.test_start}, T=12, {len(grid)} scenarios")
    print(f"{'strategy':<9}{'orders':>8}{'step s':>9}{'kernel s':>10}{'ratio':>7}{'max |diff|':>12}"
          f"{'audit step s':>14}{'audit kernel s':>16}{'ratio':>7}")
    for name in KERNELS:
        strategy = fit_strategy(load_strategy(name), eb.training_bars(bars, split.train_end))
        windows = eb.build_order_windows(bars, 12, start=split.test_start, min_history=max(1, strategy.lookback))
        run_strategy(strategy, windows.subset(slice(0, 64)), grid)  # compile, solve the stopping rules
        kernel_s, kernel = timed(lambda: run_strategy(strategy, windows, grid))
        step_s, step = timed(lambda: run_strategy(strategy, windows, grid, policies=False))
        audit_step = audit_seconds(strategy, bars, split, False)
        audit_kernel = audit_seconds(strategy, bars, split, True)
        print(f"{name:<9}{len(windows):>8,}{step_s:>9.2f}{kernel_s:>10.2f}{step_s / kernel_s:>6.1f}x"
              f"{np.abs(kernel - step).max():>12.1e}{audit_step:>14.2f}{audit_kernel:>16.2f}"
              f"{audit_step / audit_kernel:>6.1f}x")


if __name__ == "__main__":
    main()
