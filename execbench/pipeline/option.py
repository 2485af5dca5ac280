"""What the flexible window is worth: the stopping policy's value under its fitted model beside what
it earns on the real test period (``execbench option-value``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from execbench.analysis.inference import mean_inference
from execbench.analysis.significance import date_blocks
from execbench.contracts import BENCHMARKS, SIDES, TARGETS, scenario_grid, scenario_label
from execbench.orders import DateSplit, default_split
from execbench.pipeline.evaluation import Evaluation, evaluate
from execbench.strategy import load_strategy, order_context


@dataclass(frozen=True, eq=False, repr=False)
class OptionValue:
    """The option's value per scenario family and minimum period (``table``), the stopping policy's
    evaluation on the test orders, and the mean causal volatility level of those orders (bps per bar)."""

    table: pd.DataFrame
    evaluation: Evaluation
    sigma_bps: float

    def __repr__(self) -> str:
        e = self.evaluation
        return (f"OptionValue({e.asset} {e.freq}, T={e.horizon}: {e.result.n_orders:,} test orders, "
                f"mean volatility {self.sigma_bps:.1f} bps per bar, {len(self.table)} rows)")


def option_value(bars: pd.DataFrame, *, horizon: int = 12, split: DateSplit | None = None,
                 periods: list[int] | None = None, audit: bool = True, seed: int = 0,
                 progress: Callable[[int], None] | None = None,
                 on_windows: Callable[[object], None] | None = None,
                 on_stage: Callable[[str], None] | None = None) -> OptionValue:
    """Fit ``optstop`` on the training bars, evaluate (and audit) it on the test period, and tabulate
    per scenario family (side × benchmark × target) and minimum period m:

    * **Model**: the option's value under the fitted martingale model, in bps: the rule's expected
      perf_bps per bps of volatility (on independent simulated paths) times the test orders' mean
      causal volatility level; **Model SE** its Monte Carlo standard error;
    * **Realised**: the mean perf_bps (positive = better) ``optstop`` earns against the realised
      window on the test orders, with its 95 % date-block CI;
    * **Front** (the share traded over the first m bars) and **Mean end bar** (realised window).
    """
    split = split or default_split(bars)
    periods = periods or list(range(1, horizon + 1))
    grid = scenario_grid(horizon, min_periods=tuple(periods), include_match=False)
    stopping = load_strategy("optstop", seed=seed)
    evaluation = evaluate(stopping, bars, horizon=horizon, split=split, grid=grid, audit=audit, seed=seed,
                          keep_allocations=False, progress=progress, on_windows=on_windows,
                          on_stage=on_stage)
    rules = stopping.rules(grid)
    sigma_bps = float(np.mean(stopping.volatility(order_context(evaluation.windows, stopping.lookback)))) * 1e4
    run = evaluation.run_data()
    blocks = date_blocks(run, seed=seed)
    rows = []
    for side in SIDES:
        for benchmark in BENCHMARKS:
            for target in TARGETS:
                for period in periods:
                    label = scenario_label(side, benchmark, target, period)
                    rule = rules[label]
                    realised = mean_inference(run.column("perf_bps", label), blocks)
                    rows.append({"Side": side.upper(), "Benchmark": benchmark.upper(), "Target": target,
                                 "Min period": period, "Model": rule.value * sigma_bps, "Model SE": rule.se * sigma_bps,
                                 "Realised": realised.mean.estimate, "Realised lo": realised.mean.low,
                                 "Realised hi": realised.mean.high, "Front": rule.front,
                                 "Mean end bar": float(np.mean(evaluation.result.column("end_bar", label)))})
    table = pd.DataFrame(rows)
    for column in ("Model", "Model SE", "Realised", "Realised lo", "Realised hi"):  # exact zeros, not 1e-12
        table[column] = table[column].where(table[column].abs() > 1e-9, 0.0)
    return OptionValue(table=table, evaluation=evaluation, sigma_bps=sigma_bps)

