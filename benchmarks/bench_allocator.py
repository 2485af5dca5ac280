"""The console script's allocator setting (``execbench.allocator``) on work that allocates and frees large
arrays: solving the option's stopping rules for BTCUSDT's flexible scenarios, what every run with an
empty user cache (or the first after an edit of the package) does.  Fresh processes, alternating, with
glibc's default ``malloc`` and with ``reuse_freed_memory()``; the user cache off so that every process
solves.  Prints the wall times of the solve and the ratio default / reused.

    .venv/bin/python benchmarks/bench_allocator.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

CHILD = """
import sys, time
from execbench.allocator import reuse_freed_memory
if sys.argv[1] == "reused" and not reuse_freed_memory():
    sys.exit("reuse_freed_memory() did not apply here (not glibc, or malloc tuned by the environment)")
from execbench.contracts import ScenarioGrid, scenario_grid
from execbench.data.loading import load_bars
from execbench.orders.split import default_split
from execbench.pipeline.evaluation import training_bars
from execbench.strategy import fit_strategy
from execbench.strategy.registry import load_strategy
from execbench.strategy.stopping import solve_rules
bars = load_bars("BTCUSDT")
optstop = fit_strategy(load_strategy("optstop"), training_bars(bars, default_split(bars).train_end))
grid = ScenarioGrid(tuple(s for s in scenario_grid(12).specs if not s.match and optstop.unsupported(s) is None))
start = time.perf_counter()
solve_rules(optstop.model, grid)
print(time.perf_counter() - start, len(grid))
"""


def solve_seconds(mode: str) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES" and not k.startswith("MALLOC_")}
    env["EXECBENCH_CACHE_DIR"] = "off"
    done = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, env=env)
    if done.returncode:
        sys.exit(f"bench_allocator ({mode}) failed:\n{done.stderr[-2000:]}")
    seconds, scenarios = done.stdout.split()
    return float(seconds), int(scenarios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"default": [], "reused": []}
    scenarios = 0
    for k in range(args.repeats):  # alternating, in alternating order
        for mode in (("default", "reused") if k % 2 == 0 else ("reused", "default")):
            seconds, scenarios = solve_seconds(mode)
            times[mode].append(seconds)
    print(f"stopping rules of BTCUSDT's {scenarios} flexible scenarios, solved in fresh processes "
          f"({os.cpu_count()} CPUs), seconds:")
    for mode, values in times.items():
        print(f"  malloc {mode:<8} {' '.join(f'{v:6.2f}' for v in values)}   median {statistics.median(values):6.2f}")
    ratio = statistics.median(times["default"]) / statistics.median(times["reused"])
    print(f"  default / reused: {ratio:.2f}x (execbench.allocator.reuse_freed_memory, which the console script sets)")


if __name__ == "__main__":
    main()
