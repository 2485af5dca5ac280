"""What a user waits for: the wall time and peak memory of the commands issue 16 names, each against its
target, all measured in this run (fresh processes, run from a temporary folder outside the checkout).

* ``execbench --help``;
* ``execbench run --strategy twap --asset BTCUSDT --no-audit`` on an empty user cache
  (``EXECBENCH_CACHE_DIR``, a temporary folder for every command up to the report: stopping rules
  solved, the option replayed), then warm (the second of two runs: Numba's on-disk cache and the user
  cache filled), with the engine's own time from the run's record (``timings_s.engine_s``) and the ratio
  of the time outside the engine to the engine's;
* ``execbench compare`` of the six classic strategies on BTCUSDT with their audits;
* ``execbench report`` on that comparison;
* peak RSS against orders: ``execbench run --strategy twap --asset crypto5 --freq 1h --no-audit`` with
  the test period starting in successive years (the memory curve in the README; with the caller's user
  cache, where the stopping rules of those markets are usually solved already), then on synthetic
  markets (``--asset synthetic:heston --market-param bars=N``) of up to ten times as many orders, and the
  report on the largest crypto5 run (its results file read a block of orders at a time): past
  the in-memory budget (``EXECBENCH_RESULTS_MEMORY_MB``) results go to temporary files, so the peak
  should stay flat.

``execbench run --strategy lem`` (warm and with empty caches) is ``bench_lem.py``'s.

    .venv/bin/python benchmarks/bench_commands.py [--skip-compare] [--memory-starts 2025-01-01,2023-01-01]
        [--memory-bars 1000000,4000000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXECBENCH = Path(sys.executable).parent / "execbench"
CLASSIC = "twap,vwap,dvwap,pov,ac,flex"
MEMORY_STARTS = "2025-01-01,2023-01-01,2021-01-01,2019-01-01"
MEMORY_BARS = "1000000"  # synthetic bars (about 0.87 orders per bar in the test period); 4000000: ~3.5M orders
TARGETS = {"help": 0.5, "run twap": 2.0, "compare six": 10.0, "report six": 20.0}
TARGET_RSS_GB = 2.0  # crypto5 1h from 2019


def timed(args: list[str], cwd: str, own_cache: bool = True) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (GB) and stdout of ``execbench ARGS`` run in ``cwd`` (with the user cache in
    ``cwd/cache``, or the caller's with ``own_cache=False``); exits on failure."""
    start = time.perf_counter()
    env = {**os.environ, **({"EXECBENCH_CACHE_DIR": str(Path(cwd) / "cache")} if own_cache else {})}
    process = subprocess.Popen([str(EXECBENCH), *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"execbench {' '.join(args)} failed ({process.returncode}):\n{output[-3000:]}")
    return seconds, usage.ru_maxrss / 2**20, output


def timings(folder: Path) -> dict[str, float]:
    return json.loads((folder / "run.json").read_text()).get("timings_s", {})


def row(name: str, seconds: float, rss: float, target: float | None, note: str = "") -> None:
    ratio = f"{seconds / target:6.2f}×" if target else ""
    target_text = f"{target:.1f}" if target else ""
    print(f"{name:<44}{seconds:9.2f}{rss:9.2f}{target_text:>8}{ratio:>9}  {note}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-compare", action="store_true", help="skip compare and report (the slow rows)")
    parser.add_argument("--memory-starts", default=MEMORY_STARTS,
                        help=f"test-start dates of the memory curve (default {MEMORY_STARTS}; empty: skip)")
    parser.add_argument("--memory-bars", default=MEMORY_BARS,
                        help=f"bars of the synthetic markets of the memory curve (default {MEMORY_BARS}; 4000000 "
                             "gives ten times crypto5's 2019 orders, about 45 GB of temporary files; empty: skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"commands, wall seconds and peak RSS (GB) in fresh processes, {os.cpu_count()} CPUs; "
              "ratio = wall / target")
        print(f"{'command':<44}{'wall s':>9}{'RSS GB':>9}{'target':>8}{'ratio':>9}")
        seconds, rss, _ = timed(["--help"], tmp)
        row("execbench --help", seconds, rss, TARGETS["help"])

        twap = ["run", "--strategy", "twap", "--asset", "BTCUSDT", "--no-audit", "--overwrite", "--out"]
        seconds, rss, _ = timed([*twap, f"{tmp}/twap"], tmp)  # fills Numba's on-disk cache and the user cache
        spent = timings(Path(tmp) / "twap")
        row("run twap BTCUSDT --no-audit (empty user cache)", seconds, rss, None,
            f"stopping rules solved, option replayed in {spent.get('option_s', 0):.2f} s")
        seconds, rss, _ = timed([*twap, f"{tmp}/twap"], tmp)
        spent = timings(Path(tmp) / "twap")
        engine = spent.get("engine_s")
        note = (f"engine {engine:.2f} s, outside the engine {(seconds - engine) / engine:.1f}× the engine's"
                if engine else "")
        note += ", option read from the user cache" if "option_cache_read_s" in spent else ""
        row("run twap BTCUSDT --no-audit (warm)", seconds, rss, TARGETS["run twap"], note)

        if not args.skip_compare:
            seconds, rss, _ = timed(["compare", "--strategies", CLASSIC, "--asset", "BTCUSDT", "--out",
                                     f"{tmp}/six"], tmp)
            row(f"compare {CLASSIC} (audited)", seconds, rss, TARGETS["compare six"])
            seconds, rss, _ = timed(["report", f"{tmp}/six"], tmp)
            row("report on that comparison", seconds, rss, TARGETS["report six"])

        starts = [s for s in args.memory_starts.split(",") if s]
        bars = [int(b) for b in args.memory_bars.split(",") if b]
        if starts or bars:
            print("\npeak RSS against orders: run twap --no-audit on crypto5 1h, test period from START, then on "
                  f"synthetic markets of BARS bars (target for crypto5 from 2019: < {TARGET_RSS_GB:.0f} GB)")
            print(f"{'market':<36}{'orders':>10}{'wall s':>9}{'RSS GB':>9}{'MB / 1k orders':>16}")
        runs = [(f"crypto5 1h from {start}", ["--asset", "crypto5", "--freq", "1h", "--test-start", start])
                for start in starts]
        runs += [(f"synthetic:heston, {n:,} bars", ["--asset", "synthetic:heston", "--market-param", f"bars={n}"])
                 for n in bars]
        for k, (name, market) in enumerate(runs):
            out = Path(tmp) / f"mem-{k}"
            seconds, rss, _ = timed(["run", "--strategy", "twap", *market, "--no-audit", "--out", str(out)], tmp,
                                    own_cache=False)  # solved stopping rules kept, as in the earlier curves
            orders = json.loads((out / "run.json").read_text())["orders"]["evaluated"]
            print(f"{name:<36}{orders:>10,}{seconds:9.1f}{rss:9.2f}{rss * 1024 / orders * 1000:16.1f}", flush=True)
            if k == len(starts) - 1:  # the largest crypto5 run: its report reads the results file past the budget
                seconds, rss, _ = timed(["report", str(out)], tmp, own_cache=False)
                print(f"{'  report on it':<36}{orders:>10,}{seconds:9.1f}{rss:9.2f}{rss * 1024 / orders * 1000:16.1f}",
                      flush=True)

if __name__ == "__main__":
    main()
