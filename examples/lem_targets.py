"""Issue 12 §3's LEM targets on one asset (or a universe), from a checkpoint.

    .venv/bin/python examples/lem_targets.py --asset BTCUSDT [--freq 15m] [--checkpoint DIR]

Fits nothing but optstop and flex (the LEM comes from ``--checkpoint``, default the shipped one),
evaluates ``twap, flex, optstop, lem`` on the same test orders (audit included), and prints:

* LEM − optstop and LEM − flex, perf_bps (positive = the LEM is better), m = 1…6, buy and sell, with
  the date-block bootstrap CI and the HAC p-value (``execbench.analysis.paired_table``);
* the flexible-case mean and std of perf_bps, LEM, flex and optstop, m = 1…6;
* the match-VWAP std, LEM / TWAP; per asset, the m = 1 means and that ratio.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

import execbench as eb
from execbench.analysis.significance import paired_table
from execbench.contracts import SIDES, scenario_label
from execbench.strategy import load_strategy

PERIODS = [1, 2, 3, 4, 5, 6]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asset", default="BTCUSDT")
    parser.add_argument("--freq", default=None)
    parser.add_argument("--checkpoint", default="bundled")
    parser.add_argument("--test-start", default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    bars = eb.load_bars(args.asset, args.freq)
    split = eb.make_split(bars, test_start=args.test_start)
    lem = load_strategy("lem", checkpoint=args.checkpoint)
    comparison = eb.compare(["twap", "flex", "optstop", lem], bars, split=split)
    runs = {name: ev.run_data() for name, ev in comparison.items()}
    pd.set_option("display.width", 200)
    for reference in ("optstop", "flex"):
        table = paired_table({k: runs[k] for k in ("lem", reference)}, reference=reference, periods=PERIODS)
        print(f"\nLEM − {reference}, perf_bps (positive = LEM better)")
        print(table[["Side", "Min period", "Mean diff", "CI lo", "CI hi", "p (HAC)"]].round(3).to_string(index=False))
    rows = []
    for side in SIDES:
        for period in PERIODS:
            label = scenario_label(side, "vwap", "quantity", period)
            rows.append({"Side": side, "m": period,
                         **{f"mean {k}": runs[k].column("perf_bps", label).mean() for k in ("lem", "flex", "optstop")},
                         **{f"std {k}": runs[k].column("perf_bps", label).std() for k in ("lem", "flex", "optstop")}})
        label = scenario_label(side, "vwap", "quantity", "match")
        rows.append({"Side": side, "m": "match",
                     **{f"std {k}": runs[k].column("perf_bps", label).std() for k in ("lem", "flex", "optstop")},
                     "lem/twap": runs["lem"].column("perf_bps", label).std()
                     / runs["twap"].column("perf_bps", label).std()})
    print("\nmean and std of perf_bps")
    print(pd.DataFrame(rows).round(3).to_string(index=False))
    assets = runs["lem"].orders["asset"].to_numpy()
    per_asset = []
    for asset in dict.fromkeys(assets):
        mine = assets == asset
        row = {"asset": asset, "orders": int(mine.sum())}
        for side in SIDES:
            flexible = scenario_label(side, "vwap", "quantity", 1)
            for k in ("lem", "flex", "optstop"):
                row[f"{side} m=1 {k}"] = runs[k].column("perf_bps", flexible)[mine].mean()
            match = scenario_label(side, "vwap", "quantity", "match")
            row[f"{side} match std lem/twap"] = (runs["lem"].column("perf_bps", match)[mine].std()
                                                 / runs["twap"].column("perf_bps", match)[mine].std())
        per_asset.append(row)
    print("\nper asset: mean perf_bps at m = 1, match-VWAP std ratio")
    print(pd.DataFrame(per_asset).round(3).to_string(index=False))
    print(f"\n{args.asset} {bars.attrs.get('freq')}, {len(runs['lem'].orders):,} test orders, "
          f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
