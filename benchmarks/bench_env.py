"""Execution-environment throughput: environment steps per second of the JAX environment under
``jit`` + ``vmap`` (``--orders`` parallel orders, one whole episode per order in one compiled call)
against the gymnasium wrapper stepped from Python (the baseline, measured in the same run).

    .venv/bin/python benchmarks/bench_env.py [--orders 4096] [--episodes 50]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import execbench as eb
from execbench.learning import EnvParams, ExecutionEnv, Market, rollout
from execbench.learning.gym import ExecutionGymEnv

HORIZON, LOOKBACK = 12, 24


def main(args: argparse.Namespace) -> None:
    bars = eb.load_bars("BTCUSDT")
    market = Market.from_bars(bars, HORIZON, LOOKBACK, start="2024-01-01", end="2025-01-01")  # training bars
    env = ExecutionEnv(HORIZON, LOOKBACK)
    params = EnvParams.from_spec(eb.scenario_grid(HORIZON).specs[0])
    rng = np.random.default_rng(0)
    orders = rng.integers(0, market.n_orders, args.orders)
    actions = rng.uniform(0.0, 0.2, (args.orders, HORIZON))
    np.asarray(rollout(env, params, market, orders, actions)[1])  # compile
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        np.asarray(rollout(env, params, market, orders, actions)[1])
        times.append(time.perf_counter() - start)
    vectorised = args.orders * HORIZON / min(times)

    gym = ExecutionGymEnv(env, params, market)
    gym.reset(seed=0)
    gym.step(np.array([0.1]))  # compile
    start = time.perf_counter()
    for episode in range(args.episodes):
        gym.reset(options={"order": int(orders[episode])})
        for s in range(HORIZON):
            gym.step(actions[episode, s:s + 1])
    python = args.episodes * HORIZON / (time.perf_counter() - start)
    print(f"execution environment, T={HORIZON}, lookback {LOOKBACK}, {market.n_orders:,} BTCUSDT 15m training "
          f"orders, float64, {os.cpu_count()} CPUs")
    print(f"{'jit + vmap, ' + format(args.orders, ',') + ' orders per call':<40}{vectorised:>14,.0f} steps/s")
    print(f"{'gymnasium wrapper, stepped from Python':<40}{python:>14,.0f} steps/s")
    print(f"jit + vmap is {vectorised / python:,.0f}x the gymnasium wrapper's steps/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=4096)
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    main(parser.parse_args())
