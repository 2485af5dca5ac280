"""The Large Execution Model as a strategy: trained on the training bars, scored by the engine.

``fit`` builds the causal feature sequences (``execbench.lem.features``) for every order origin of the
training bars (evenly subsampled to ``max_samples``), and trains ``LargeExecutionModel`` on the LEM
loss with Adam, fixed batch shapes (the sample count is cut to a multiple of ``batch_size``) and a
seed.  ``allocate_sequence`` predicts every bar of every scenario at once (padding to the batch
size so JAX compiles once); the last bar is recomputed in float64 as the remainder, the model's own
rule, so each path sums to 1 exactly.  Causality is the model's job and the look-ahead audit checks it.

This is a first, small version (issue 5): no validation-based early stopping, no shipped checkpoint,
no multi-asset/multi-frequency training yet.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from execbench.contracts import ContractSpec, ScenarioGrid
from execbench.errors import StrategyError
from execbench.lem.features import NORMALISER, feature_names, lem_features
from execbench.strategy import OrderContext, RealisedWindow, Strategy
from execbench.windows import build_order_windows


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    return keras


class LEM(Strategy):
    """Large Execution Model (tiny default configuration; see the module docstring)."""

    name = "lem"
    description = "Large Execution Model (keras/JAX, TKAN + causal attention), trained on the training bars."
    mode = "sequence"

    def __init__(self, horizon: int = 12, lookback: int = 24, hidden: int = 16, embedding: int = 4,
                 rnn_layers: int = 1, heads: int = 2, mlp_hidden: int = 16, epochs: int = 2, batch_size: int = 256,
                 learning_rate: float = 1e-3, max_samples: int = 20_000, seed: int = 0):
        self.horizon, self.lookback_bars, self.hidden, self.embedding = int(horizon), int(lookback), int(hidden), int(embedding)
        self.rnn_layers, self.heads, self.mlp_hidden = int(rnn_layers), int(heads), int(mlp_hidden)
        self.epochs, self.batch_size, self.learning_rate = int(epochs), int(batch_size), float(learning_rate)
        self.max_samples, self.seed = int(max_samples), int(seed)
        self.lookback = self.lookback_bars + NORMALISER + 1  # history the features need before an origin
        self.model = None
        self.calendar: str | None = None
        self.history: list[float] = []

    def params(self) -> dict[str, Any]:
        return {"horizon": self.horizon, "lookback": self.lookback_bars, "hidden": self.hidden,
                "embedding": self.embedding, "rnn_layers": self.rnn_layers, "heads": self.heads,
                "mlp_hidden": self.mlp_hidden, "epochs": self.epochs, "batch_size": self.batch_size,
                "learning_rate": self.learning_rate, "max_samples": self.max_samples, "seed": self.seed}

    def _build(self, calendar: str):
        from execbench.lem.model import LargeExecutionModel

        self.calendar = calendar
        self.model = LargeExecutionModel(
            lookback=self.lookback_bars, horizon=self.horizon, n_features=len(feature_names(calendar)),
            hidden=self.hidden, embedding=self.embedding, rnn_layers=self.rnn_layers, heads=self.heads,
            mlp_hidden=self.mlp_hidden)
        sequence = self.lookback_bars + self.horizon - 1
        self.model([np.zeros((1, sequence, len(feature_names(calendar))), "float32"), np.zeros((1, 2), "float32")])
        return self.model

    def unsupported(self, spec: ContractSpec) -> str | None:
        if spec.horizon != self.horizon:
            return f"this LEM is built for T={self.horizon} bars (parameter horizon), the contract has T={spec.horizon}"
        if spec.max_participation is not None:
            return "the LEM does not model participation caps"
        return None

    def fit(self, bars) -> "LEM":
        keras = _keras()
        from execbench.lem.loss import lem_loss

        keras.utils.set_random_seed(self.seed)
        windows = build_order_windows(bars, self.horizon, min_history=self.lookback)
        if len(windows) < self.batch_size:
            raise StrategyError(f"strategy 'lem': {len(windows)} training orders, fewer than batch_size={self.batch_size}")
        count = min(self.max_samples, len(windows)) // self.batch_size * self.batch_size
        rows = np.linspace(0, len(windows) - 1, count).round().astype(np.int64)
        sample = windows.subset(rows)
        ctx = OrderContext(sample)
        prices, volumes = sample.window("prices"), sample.window("volumes")
        features = lem_features(ctx, RealisedWindow(prices, volumes), self.lookback_bars).astype("float32")
        rates = np.tile(np.array([[1.0 / self.horizon**2, 1.0]], "float32"), (count, 1))
        target = np.stack([prices / prices[:, :1], volumes / np.maximum(volumes.mean(axis=1, keepdims=True), 1e-12)],
                          axis=-1).astype("float32")
        model = self._build(sample.calendar)
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate),
                      loss=lambda y, p: lem_loss(p, y[..., 0], y[..., 1]))
        result = model.fit([features, rates], target, epochs=self.epochs, batch_size=self.batch_size, verbose=0,
                           shuffle=True)
        self.history = [float(v) for v in result.history["loss"]]
        return self

    def get_state(self) -> dict[str, Any]:
        if self.model is None:
            return {}
        return {"calendar": self.calendar, "loss_history": self.history,
                "weights": [w.tolist() for w in self.model.get_weights()]}

    def set_state(self, state: dict[str, Any]) -> None:
        if state.get("weights"):
            self._build(state["calendar"])
            self.model.set_weights([np.asarray(w, dtype="float32") for w in state["weights"]])
            self.history = state.get("loss_history", [])

    def allocate_sequence(self, ctx: OrderContext, grid: ScenarioGrid, window: RealisedWindow) -> np.ndarray:
        if self.model is None:
            raise StrategyError("strategy 'lem' is not fitted: call fit(training bars) or load a saved state")
        arrays = grid.arrays()
        if np.ptp(arrays["min_rate"]) > 0 or np.ptp(arrays["max_rate"]) > 0:
            raise StrategyError("strategy 'lem': every scenario must share one minimum and one maximum rate")
        n = ctx.n_orders
        features = lem_features(ctx, window, self.lookback_bars).astype("float32")
        rates = np.tile(np.array([[arrays["min_rate"][0], arrays["max_rate"][0]]], "float32"), (n, 1))
        padded = -(-n // self.batch_size) * self.batch_size  # fixed shapes: JAX compiles once
        features = np.concatenate([features, np.zeros((padded - n, *features.shape[1:]), "float32")])
        rates = np.concatenate([rates, np.zeros((padded - n, 2), "float32")])
        out = self.model.predict([features, rates], batch_size=self.batch_size, verbose=0)[:n]
        full = out.reshape(n, self.horizon, (self.horizon + 1) * 8).astype(np.float64)
        columns = [spec_index(spec) for spec in grid.specs]
        alloc = np.clip(full[:, :, columns], 0.0, None)
        alloc[:, -1, :] = 1.0 - alloc[:, :-1, :].sum(axis=1)  # the model's own rule, in float64
        return alloc


def spec_index(spec: ContractSpec) -> int:
    """Position of a scenario in the LEM's flattened output (the full grid's order)."""
    slot = spec.horizon if spec.match else spec.min_period - 1
    kind = ("buy", "sell").index(spec.side) * 2 + ("vwap", "twap").index(spec.benchmark)
    return slot * 8 + kind * 2 + ("quantity", "notional").index(spec.target)
