"""The causal-vs-upstream alignment experiment (``execbench lem-alignment``).

The same LEM is trained twice with the same seed and data: once causally, once fed the upstream
``lems`` way (step s sees bar s itself).  Both are audited and scored, next to TWAP, on the same test
orders.  This is the one module of ``execbench.lem`` that runs the pipeline (it sits above it); the
model library below it does not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from execbench.contracts import Period
from execbench.engine import ImpactModel
from execbench.errors import ParameterError
from execbench.lem.presets import training_params
from execbench.lem.training import TrainedLEM, train_lem
from execbench.orders import DEFAULT_ORDER_SIZE, DateSplit, training_bars
from execbench.pipeline.evaluation import AUDIT_ORDERS, Comparison, compare
from execbench.strategy import fit_strategy, load_strategy, strategy_class

NAMES = {"causal": "lem", "upstream": "lem-upstream-aligned"}


@dataclass(frozen=True, eq=False)
class AlignmentResult:
    """Both trained models, the comparison (with TWAP, audits included) and its table with an Audit column."""

    models: dict[str, TrainedLEM]
    comparison: Comparison
    table: pd.DataFrame

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
    strategies.append(fit_strategy(load_strategy("twap"), training_bars(bars, split.train_end)))
    comparison = compare(strategies, bars, horizon=horizon, split=split, order_size=order_size, fit=False,
                         impact=impact, audit=audit, audit_orders=audit_orders, seed=seed, on_stage=on_stage,
                         progress=progress, on_windows=on_windows)
    table = comparison.table(periods=periods, benchmark=benchmark, target=target)
    table.insert(2, "Audit", [comparison[name].audit_label() for name in table["Strategy"]])
    return AlignmentResult(models=models, comparison=comparison, table=table)
