"""Seed spread of a learned strategy against TWAP: one run folder per seed (``execbench run`` on the
same asset and test period), e.g.

    for s in 0 1 2; do execbench train ppo --asset BTCUSDT --seed $s --out ppo-seed$s; \
      execbench run --strategy ppo --asset BTCUSDT --param checkpoint=ppo-seed$s --out run-ppo-seed$s; done
    python examples/seed_spread.py run-ppo-seed0 run-ppo-seed1 run-ppo-seed2
"""

from __future__ import annotations

import sys

from execbench.analysis.significance import seed_table
from execbench.results import load_run


def main(folders: list[str]) -> None:
    runs = {}
    for k, folder in enumerate(folders):
        _, data = load_run(folder)
        runs[f"seed {k}"] = next(iter(data.values()))
    horizon = next(iter(runs.values())).horizon
    table = seed_table(runs, periods=[1, horizon // 2, "match"])
    print(table.to_markdown(index=False, floatfmt="+.2f"))


if __name__ == "__main__":
    main(sys.argv[1:])
