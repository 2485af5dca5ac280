"""Writing a run's results file (``results_<strategy>.npz``): ``savez_fast`` on one thread (the baseline,
measured in this run) and with its slow members deflated on every core, as a run writes it beside its tables.

The members are those of a BTCUSDT run (29,077 orders × 104 scenarios, 52 kept scenarios of T = 12) with
synthetic values of the same kinds: per-order bps that do not compress, end bars and violation counts that
do, and kept allocations like an adaptive model's (shares to four decimals, which deflate to about 72 %,
as LEM's do to 76 %).  ``--file`` times a real results file's members instead.  Only members over
``PARALLEL_BYTES`` that deflate to more than half their size are split over the threads: a file without
any (TWAP's) is written the same way on both rows.

    .venv/bin/python benchmarks/bench_results_file.py [--repeats 3] [--file reports/RUN/results_lem.npz]

It needs ``savez_fast``'s ``threads`` (73198b0 and later), so ``bench_against.py --script`` cannot run it on
older trees.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from execbench.results.run_data import savez_fast
from execbench.threads import cores


def synthetic_members(n: int = 29_077, scenarios: int = 104, horizon: int = 12, kept: int = 52) -> dict:
    rng = np.random.default_rng(0)
    shares = rng.dirichlet(np.ones(horizon), size=(n, kept)).transpose(0, 2, 1)
    return {"bps": rng.normal(0, 8, (n, scenarios)).astype(np.float32),
            "end_bar": rng.integers(1, horizon + 1, (n, scenarios)).astype(np.int16),
            "violations": np.zeros((n, scenarios), np.int16),
            "allocations": np.round(shares, 4).astype(np.float32)}


def best_seconds(members: dict, threads: int, repeats: int, folder: Path) -> tuple[float, int]:
    path = folder / f"results-{threads}.npz"
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        savez_fast(path, threads, **members)
        times.append(time.perf_counter() - start)
    with np.load(path) as stored:  # what was written reads back exactly
        for name, value in members.items():
            np.testing.assert_array_equal(stored[name], value)
    with zipfile.ZipFile(path) as archive:
        if archive.testzip() is not None:
            raise SystemExit(f"{path}: a member fails its CRC check")
    return min(times), path.stat().st_size


def main(args: argparse.Namespace) -> None:
    if args.file:
        with np.load(args.file) as stored:
            members = {name: stored[name] for name in stored.files}
        source = args.file
    else:
        members = synthetic_members()
        source = "synthetic members of a BTCUSDT run"
    raw = sum(value.nbytes for value in members.values())
    print(f"results file: {source}, {raw / 1e6:.1f} MB raw, best of {args.repeats}, {cores()} cores")
    with tempfile.TemporaryDirectory() as folder:
        one, size_one = best_seconds(members, 1, args.repeats, Path(folder))
        every, size_every = best_seconds(members, cores(), args.repeats, Path(folder))
    print(f"  one thread (baseline)   {one:7.3f} s  {size_one / 1e6:7.1f} MB")
    print(f"  {cores()} threads               {every:7.3f} s  {size_every / 1e6:7.1f} MB  "
          f"(one thread's time / this: {one / every:.2f}x; size {size_every / size_one - 1:+.2%})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--file", help="a results_<strategy>.npz to time instead of synthetic members")
    main(parser.parse_args())
