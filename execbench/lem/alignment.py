"""The causal-vs-upstream alignment experiment (``execbench lem-alignment``).

The same LEM is trained twice with the same seed and data: once causally, once fed the upstream
``lems`` way (step s would see bar s itself).  The framework masks bar s for decision s, so the
upstream-aligned model's per-bar decisions no longer add up and it is refused (recorded in
``AlignmentResult.refused`` and the table); the causal one is audited and scored next to TWAP.  This is the one module of ``execbench.lem`` that runs the pipeline (it sits above it); the
model library below it does not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from execbench.contracts import Period
from execbench.engine import ImpactModel
from execbench.contracts import scenario_grid
from execbench.errors import ParameterError, StrategyError
from execbench.lem.presets import training_params
from execbench.lem.training import TrainedLEM, train_lem
from execbench.orders import DEFAULT_ORDER_SIZE, DateSplit, build_order_windows, training_bars
from execbench.pipeline.evaluation import AUDIT_ORDERS, Comparison, compare
from execbench.strategy import fit_strategy, load_strategy, run_strategy, strategy_class

NAMES = {"causal": "lem", "upstream": "lem-upstream-aligned"}


@dataclass(frozen=True, eq=False)
class AlignmentResult:
    """Both trained models, the comparison (with TWAP, audits included) and its table with an Audit column."""

    models: dict[str, TrainedLEM]
    comparison: Comparison
    table: pd.DataFrame
    refused: dict[str, str] = field(default_factory=dict)  # model → why the framework refused it

    def __repr__(self) -> str:
        return f"AlignmentResult({', '.join(self.models)} + twap; {self.comparison!r})"


def alignment_experiment(bars: pd.DataFrame, split: DateSplit, *, config: str = "tiny", epochs: int = 3,
                         params: dict[str, Any] | None = None, horizon: int = 12,
                         order_size: float = DEFAULT_ORDER_SIZE, impact: ImpactModel | None = None,
                         periods: list[Period] | None = None, benchmark: str = "vwap", target: str = "quantity",
                         audit: bool = True, audit_orders: int = AUDIT_ORDERS, seed: int = 0,
                         on_stage: Callable[[str], None] | None = None,
                         on_epoch: Callable[[str, int, dict], None] | None = None,
                         progress: Callable[[int], None] | None = None,
                         on_windows: Callable[[Any], None] | None = None) -> AlignmentResult:
    """Train the causal and the upstream-aligned LEM (preset ``config``, ``params``), audit both and
    compare them with TWAP on the test orders of ``split``.

    ``on_epoch(name, epoch, logs)`` reports training; ``on_stage``, ``progress`` and ``on_windows``
    are passed to ``compare``.
    """
    if "alignment" in (params or {}):
        raise ParameterError("lem-alignment: --param alignment is set by the command (it trains both)")
    stage = on_stage or (lambda text: None)
    lem_class = strategy_class("lem")
    models, strategies = {}, []
    for alignment, name in NAMES.items():
        architecture, training = training_params(config, horizon=horizon, epochs=epochs, params=params)
        architecture["alignment"] = alignment
        stage(f"training {name} ({config}, {training['epochs']} epochs) on {bars.attrs.get('asset')} "
              f"{bars.attrs.get('freq')} before {split.train_end.date()}")
        report = None if on_epoch is None else (lambda epoch, logs, name=name: on_epoch(name, epoch, logs))
        models[name] = train_lem([bars], architecture, training, end=split.train_end, validation=split.validation,
                                 on_epoch=report)
        strategies.append(lem_class.from_trained(models[name], name=name))
    refused = {}
    probe = build_order_windows(bars, horizon, start=split.test_start, end=split.test_end,
                                min_history=max(s.lookback for s in strategies))
    for strategy in list(strategies):  # a model whose per-bar decisions depend on later bars is refused
        try:
            run_strategy(strategy, probe.subset(slice(0, 64)), scenario_grid(horizon))
        except StrategyError as exc:
            refused[strategy.name] = str(exc)
            strategies.remove(strategy)
            stage(f"{strategy.name} refused: {exc}")
    strategies.append(fit_strategy(load_strategy("twap"), training_bars(bars, split.train_end)))
    comparison = compare(strategies, bars, horizon=horizon, split=split, order_size=order_size, fit=False,
                         impact=impact, audit=audit, audit_orders=audit_orders, seed=seed, on_stage=on_stage,
                         progress=progress, on_windows=on_windows)
    table = comparison.table(periods=periods, benchmark=benchmark, target=target)
    table.insert(2, "Audit", [comparison[name].audit_label() for name in table["Strategy"]])
    rows = [{"Strategy": name, "Side": side, "Audit": "refused: not causal"} for name in refused for side in ("BUY", "SELL")]
    table = pd.concat([table, pd.DataFrame(rows, columns=table.columns)], ignore_index=True) if rows else table
    table["N"] = table["N"].astype("Int64")  # a refused model's row has no N
    return AlignmentResult(models=models, comparison=comparison, table=table, refused=refused)
