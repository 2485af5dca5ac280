"""The upstream PyPI ``lems`` 0.1.1 model through execbench's strategy interface (comparison only).

It feeds ``lems.models.LargeExecutionModel`` exactly as upstream's ``data_formater`` does, with its
alignment: for an order with origin o the input is the feature rows of bars o−L … o+T−2 (so decision
block s reads sequence position L+s, bar o+s itself — a one-bar look-ahead), with upstream's columns
(volume, freq_min, "hour" = the month, day of week, return, price, volume) and its normalisation
(the volume column divided twice by the sum of the 336+L−1 bars before o−1, prices divided by the
first price of the sequence).  The look-ahead audit fails it, as it should; execbench's own ``lem``
is the causal implementation.

``epochs=0`` (default) evaluates the seeded, untrained upstream model — enough for the audit and
for timing ``predict``; ``epochs>0`` trains it first with upstream's own ``lem_loss`` on the
training bars.  Needs the optional extra: ``pip install 'execbench[upstream]'`` (CC BY-NC-SA).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from execbench.contracts import ContractSpec, ScenarioGrid
from execbench.data.frequency import freq_minutes
from execbench.errors import StrategyError
from execbench.lem.adapter import grid_allocations, model_unsupported, predict_in_fixed_batches, shared_rates
from execbench.lem.backend import keras_backend
from execbench.strategy import OrderContext, Param, RealisedWindow, Strategy, order_context

NORMALISATION_SECTION = 24 * 7 * 2  # upstream's constant (336 bars)


def upstream_lems():
    """The ``lems`` package, or a clear error naming the optional extra."""
    try:
        import lems.models
    except ImportError as exc:
        raise StrategyError("strategy 'lem-upstream' needs the optional upstream package: "
                            "pip install 'execbench[upstream]' (lems==0.1.1)") from exc
    return lems


def upstream_inputs(ctx: OrderContext, window: RealisedWindow, lookback: int) -> np.ndarray:
    """Upstream's ``X`` (n, L+T−1, 7) for the orders of ``ctx``: bars o−L … o+T−2 with its columns and
    normalisation (``prepare_data_with_ahead_inputs``), bugs included."""
    horizon = ctx.horizon
    past_prices = ctx.history("prices", lookback + 1)
    past_volumes = ctx.history("volumes", lookback + NORMALISATION_SECTION)
    prices = np.concatenate([past_prices, window.prices[:, : horizon - 1]], axis=1)  # bars o−L−1 .. o+T−2
    volumes = np.concatenate([past_volumes[:, NORMALISATION_SECTION:], window.volumes[:, : horizon - 1]], axis=1)
    times = np.concatenate([ctx.history_times(lookback), ctx.bar_times()[:, : horizon - 1]], axis=1)
    stamps = np.asarray(times, dtype="datetime64[ns]")
    month = stamps.astype("datetime64[M]").astype(np.int64) % 12 + 1  # upstream's "hour" column is the month
    day_of_week = (stamps.astype("datetime64[D]").astype(np.int64) + 3) % 7
    freq_min = np.full(volumes.shape, float(freq_minutes(ctx.freq)))
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = prices[:, 1:] / prices[:, :-1] - 1.0
        # features[row−L−336 : row−1, 0]: the volume column over bars o−L−336 .. o−2
        normaliser = past_volumes[:, :-1].sum(axis=1)[:, None]
        scaled_volume = volumes / normaliser
        x = np.stack([scaled_volume / normaliser,  # upstream divides the volume feature twice
                      freq_min, month, day_of_week, returns, prices[:, 1:] / prices[:, 1:2], scaled_volume], axis=-1)
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0).astype("float32")


class UpstreamLEM(Strategy):
    """Upstream ``lems`` LargeExecutionModel with upstream's alignment (fails the audit; see the module)."""

    name = "lem-upstream"
    description = "Upstream PyPI lems 0.1.1 model, upstream alignment (comparison only; fails the audit)."
    mode = "sequence"

    param_specs = {**{k: Param(int, low=1) for k in ("horizon", "lookback", "hidden", "embedding", "rnn_layers", "heads",
                                                     "mlp_hidden", "batch_size", "max_samples", "predict_batch")},
                   "epochs": Param(int, low=0), "seed": Param(int), "learning_rate": Param(float, low=0.0, low_open=True)}

    def __init__(self, horizon: int = 12, lookback: int = 24, hidden: int = 16, embedding: int = 4,
                 rnn_layers: int = 1, heads: int = 2, mlp_hidden: int = 16, epochs: int = 0, batch_size: int = 256,
                 learning_rate: float = 1e-3, max_samples: int = 4096, predict_batch: int = 1024, seed: int = 0):
        self.horizon, self.lookback_bars, self.hidden, self.embedding = int(horizon), int(lookback), int(hidden), int(embedding)
        self.rnn_layers, self.heads, self.mlp_hidden = int(rnn_layers), int(heads), int(mlp_hidden)
        self.epochs, self.batch_size, self.learning_rate = int(epochs), int(batch_size), float(learning_rate)
        self.max_samples, self.predict_batch, self.seed = int(max_samples), int(predict_batch), int(seed)
        self.model = None
        self.history: list[float] = []

    @property
    def lookback(self) -> int:
        return self.lookback_bars + NORMALISATION_SECTION + 1

    def build(self):
        """The upstream model, seeded and built on upstream-shaped inputs."""
        keras = keras_backend()
        lems = upstream_lems()
        keras.utils.set_random_seed(self.seed)
        self.model = lems.models.LargeExecutionModel(
            lookback=self.lookback_bars, n_ahead=self.horizon, hidden_size=self.hidden,
            hidden_rnn_layer=self.rnn_layers, num_embedding=self.embedding, num_heads=self.heads,
            fused_mlp_hidden_dim=self.mlp_hidden)
        sequence = self.lookback_bars + self.horizon - 1
        self.model([np.zeros((1, sequence, 7), "float32"), np.zeros((1, 1), "float32"), np.ones((1, 1), "float32")])
        # upstream creates Multiply layers it never calls; while any layer is unbuilt, keras' predict runs the
        # whole model eagerly once more on every call (one XLA compile per operation the first time)
        for layer in self.model._flatten_layers():
            if not layer.built and not layer.weights:
                layer.built = True
        return self.model

    def params(self) -> dict[str, Any]:
        return {"horizon": self.horizon, "lookback": self.lookback_bars, "hidden": self.hidden,
                "embedding": self.embedding, "rnn_layers": self.rnn_layers, "heads": self.heads,
                "mlp_hidden": self.mlp_hidden, "epochs": self.epochs, "batch_size": self.batch_size,
                "learning_rate": self.learning_rate, "max_samples": self.max_samples,
                "predict_batch": self.predict_batch, "seed": self.seed}

    def unsupported(self, spec: ContractSpec) -> str | None:
        return model_unsupported(self.horizon, spec)

    def fit(self, bars) -> "UpstreamLEM":
        """Build the seeded model; with ``epochs`` > 0 train it with upstream's loss on ``bars``."""
        keras = keras_backend()
        model = self.build()
        if self.epochs <= 0:
            return self
        from execbench.orders import build_order_windows  # pandas: only when training

        lems = upstream_lems()
        windows = build_order_windows(bars, self.horizon, min_history=self.lookback)
        count = min(self.max_samples, len(windows)) // self.batch_size * self.batch_size
        if count == 0:
            raise StrategyError(f"strategy 'lem-upstream': {len(windows)} orders, fewer than batch_size={self.batch_size}")
        sample = windows.subset(np.linspace(0, len(windows) - 1, count).round().astype(np.int64))
        ctx, prices, volumes = order_context(sample, self.lookback), sample.window("prices"), sample.window("volumes")
        x = upstream_inputs(ctx, RealisedWindow(prices, volumes), self.lookback_bars)
        past = ctx.history("volumes", self.lookback_bars)
        arrival = ctx.history("prices", self.lookback_bars)[:, :1]
        y = np.stack([volumes / np.maximum(past.sum(axis=1, keepdims=True), 1e-12), prices / arrival], axis=-1)
        inputs = lems.add_config_to_X(x, 1.0 / self.horizon**2, 1.0)
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss=lems.lem_loss)
        result = model.fit(inputs, lems.add_config_to_y(y.astype("float32")), epochs=self.epochs,
                           batch_size=self.batch_size, verbose=0, shuffle=True)
        self.history = [float(v) for v in result.history["loss"]]
        return self

    def predict_all(self, x: np.ndarray, min_rate: float, max_rate: float) -> np.ndarray:
        """Upstream ``predict`` (n, T, T+1, 4, 2) in fixed ``predict_batch`` shapes."""
        rates = [np.full((len(x), 1), min_rate, "float32"), np.full((len(x), 1), max_rate, "float32")]
        return predict_in_fixed_batches(self.model, [x, *rates], self.predict_batch)

    def allocate_sequence(self, ctx: OrderContext, grid: ScenarioGrid, window: RealisedWindow) -> np.ndarray:
        if self.model is None:
            raise StrategyError("strategy 'lem-upstream' is not fitted: call fit(training bars)")
        x = upstream_inputs(ctx, window, self.lookback_bars)
        return grid_allocations(self.predict_all(x, *shared_rates(self.name, grid)), grid)
