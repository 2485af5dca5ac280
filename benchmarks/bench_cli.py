"""How fast the command line answers: ``execbench --help`` and ``execbench strategies`` (target < 0.5 s),
against baselines measured in the same run: a bare Python start, and importing pandas + numba (what every
command paid before the CLI imported the heavy stacks only where they are used).

    .venv/bin/python benchmarks/bench_cli.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXECBENCH = Path(sys.executable).parent / "execbench"


def wall(command: list[str], repeats: int) -> tuple[float, float]:
    """Median and best wall time of ``command`` over ``repeats`` runs (after one warm-up)."""
    subprocess.run(command, capture_output=True, check=True)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, cwd=tempfile.gettempdir())
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rows = [
        ("python -c pass (interpreter start)", [sys.executable, "-c", "pass"]),
        ("python -c 'import pandas, numba' (old eager start)", [sys.executable, "-c", "import pandas, numba"]),
        ("execbench --help", [str(EXECBENCH), "--help"]),
        ("execbench strategies", [str(EXECBENCH), "strategies"]),
    ]
    results = {name: wall(command, args.repeats) for name, command in rows}
    eager = results[rows[1][0]][0]
    print(f"CLI start-up, median and best of {args.repeats} runs (wall seconds); ratio = median / eager imports")
    print(f"{'command':<52} {'median':>8} {'best':>8} {'ratio':>7}")
    for name, (median, best) in results.items():
        print(f"{name:<52} {median:8.3f} {best:8.3f} {median / eager:7.2f}")


if __name__ == "__main__":
    main()
