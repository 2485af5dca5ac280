"""Seed spread of a learned strategy against TWAP: one run folder per seed (``execbench run`` or
``execbench compare`` on the same asset and test period; ``--strategy`` picks it out of a comparison), e.g.

    for s in 0 1 2; do execbench train ppo --asset BTCUSDT --seed $s --out ppo-seed$s; \\
      execbench run --strategy ppo --asset BTCUSDT --param checkpoint=ppo-seed$s --out run-ppo-seed$s; done
    python examples/seed_spread.py run-ppo-seed0 run-ppo-seed1 run-ppo-seed2
    python examples/seed_spread.py --strategy flow my-comparison run-flow-seed1 run-flow-seed2
"""

from __future__ import annotations

import argparse

from execbench.analysis.significance import seed_table
from execbench.results import load_run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", help="one run or comparison folder per seed, seed 0 first")
    parser.add_argument("--strategy", default=None, help="the strategy to take from each folder (default: its only one)")
    args = parser.parse_args(argv)
    runs = {}
    for k, folder in enumerate(args.folders):
        _, data = load_run(folder)
        name = args.strategy or next(iter(data))
        if name not in data:
            parser.error(f"{folder}: no strategy {name!r} (it holds {', '.join(data)})")
        runs[f"seed {k}"] = data[name]
    horizon = next(iter(runs.values())).horizon
    table = seed_table(runs, periods=[1, horizon // 2, "match"])
    print(table.to_markdown(index=False, floatfmt="+.2f"))


if __name__ == "__main__":
    main()
