"""The meta-strategy: for each order, at its origin, run one of several candidate strategies, chosen
per contract by a selector trained on the candidates' per-order results (``execbench.learning.meta``).

The default, ``checkpoint="bundled"``, is the selector shipped in ``checkpoints/meta-btcusdt-15m``
(``execbench train meta --asset BTCUSDT``: the candidates' results over the training and validation
orders, never the test period).  ``fit`` fits the candidates on the training bars, as ``execbench
run`` fits any strategy; the selector itself is trained by ``execbench train meta`` (it needs the
engine's scores, which a strategy does not compute).

Each candidate runs exactly as it would alone: it sees the same context and, bar by bar, its *own*
earlier allocations; the meta-strategy returns, per order and scenario, the chosen candidate's.  So
its perf_bps on an order is the chosen candidate's perf_bps on that order.
"""

from __future__ import annotations

from importlib.resources import files
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from execbench.contracts import ContractSpec, ScenarioGrid
from execbench.errors import StrategyError
from execbench.strategy import OrderContext, Param, StepObservation, Strategy

BUNDLED_META = Path(str(files(__package__) / "checkpoints" / "meta-btcusdt-15m"))


class MetaStrategy(Strategy):
    """Per-order, per-contract choice among candidate strategies (see the module docstring)."""

    name = "meta"
    description = "Meta-strategy: per order and contract, the candidate a selector trained on past results expects best."
    mode = "adaptive"
    param_specs = {"checkpoint": Param(str)}

    def __init__(self, checkpoint: str = "bundled"):
        from execbench.learning.meta import MetaSelector, load_candidates

        self.checkpoint = checkpoint
        self.selector = MetaSelector.load(BUNDLED_META if checkpoint == "bundled" else Path(checkpoint))
        self.candidates = load_candidates(self.selector.candidates)

    @classmethod
    def from_selector(cls, selector, candidates: list[Strategy]) -> "MetaStrategy":
        """A meta-strategy around a selector just trained and its already fitted candidates."""
        strategy = cls.__new__(cls)
        strategy.checkpoint, strategy.selector, strategy.candidates = None, selector, list(candidates)
        return strategy

    @property
    def lookback(self) -> int:
        return max([self.selector.lookback] + [c.lookback for c in self.candidates])

    @property
    def trained_on(self) -> dict[str, Any]:
        return self.selector.trained_on

    def unsupported(self, spec: ContractSpec) -> str | None:
        if spec.horizon != self.selector.horizon or spec.label not in self.selector.coef:
            return f"the selector was not trained on scenario {spec.label} (T={spec.horizon})"
        for candidate in self.candidates:
            reason = candidate.unsupported(spec)
            if reason:
                return f"candidate {candidate.name!r}: {reason}"
        return None

    def checkpoint_mismatch(self, bars) -> str | None:
        """The selector's or a candidate's checkpoint made for other data than ``bars``."""
        asset, freq = bars.attrs.get("asset"), bars.attrs.get("freq")
        trained = self.selector.trained_on or {}
        if self.checkpoint is not None and (freq != self.selector.freq or trained.get("asset") not in (None, asset)):
            return f"selector trained on {trained.get('asset', '?')} {self.selector.freq}, not on {asset} {freq}"
        for candidate in self.candidates:
            reason = candidate.checkpoint_mismatch(bars)
            if reason:
                return f"candidate {candidate.name!r}: {reason}"
        return None

    def fit(self, bars) -> "MetaStrategy":
        """Fit every candidate on the training bars (the selector comes from the checkpoint)."""
        from execbench.strategy.runner import fit_strategy

        if bars.attrs.get("freq") != self.selector.freq:
            raise StrategyError(f"strategy 'meta': the selector was trained on {self.selector.freq} bars, the data "
                                f"are {bars.attrs.get('freq')} (train one with execbench train meta)")
        mismatch = self.checkpoint_mismatch(bars)
        if mismatch:
            warnings.warn(f"strategy 'meta': {mismatch}", stacklevel=2)
        for candidate in self.candidates:
            fit_strategy(candidate, bars)
        return self

    def choices(self, ctx: OrderContext, grid: ScenarioGrid) -> np.ndarray:
        """The candidate index run for each order and scenario, (n, S), from the history only."""
        from execbench.learning.meta import origin_features

        lookback = self.selector.lookback
        features = origin_features(ctx.history("prices", lookback), ctx.history("volumes", lookback),
                                   ctx.bar_times()[:, 0], ctx.freq)
        return self.selector.choose(features, [spec.label for spec in grid.specs])

    def start(self, ctx: OrderContext, grid: ScenarioGrid) -> dict:
        states = []
        for candidate in self.candidates:
            if candidate.mode == "static":
                states.append(np.asarray(candidate.schedule(ctx, grid), np.float64))
            else:
                states.append(candidate.start(ctx, grid))
        n, horizon = ctx.n_orders, ctx.horizon
        return {"choice": self.choices(ctx, grid), "states": states,
                "alloc": np.zeros((len(self.candidates), n, horizon, len(grid)))}

    def step(self, state: dict, obs: StepObservation) -> np.ndarray:
        s, alloc = obs.step, state["alloc"]
        for k, (candidate, own) in enumerate(zip(self.candidates, state["states"], strict=True)):
            if candidate.mode == "static":
                alloc[k, :, s] = own[:, s]
            else:
                seen = StepObservation(step=s, prices=obs.prices, volumes=obs.volumes, allocated=alloc[k, :, :s].copy())
                alloc[k, :, s] = candidate.step(own, seen)
        return np.take_along_axis(alloc[:, :, s], state["choice"][None], axis=0)[0]
