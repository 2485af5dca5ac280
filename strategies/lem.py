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

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from execbench.contracts import ContractSpec, ScenarioGrid
from execbench.errors import StrategyError
from execbench.lem.features import NORMALISER, feature_names, lem_features
from execbench.strategy import OrderContext, RealisedWindow, Strategy
from execbench.windows import build_order_windows


BUNDLED_CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "lem-btcusdt-15m"


def keras_backend():
    """keras on JAX (unless KERAS_BACKEND says otherwise), with JAX's persistent compilation cache."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    if keras.backend.backend() == "jax":  # reuse compiled programs across runs
        import jax

        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "execbench" / "jax"
        jax.config.update("jax_compilation_cache_dir", str(cache))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    return keras


PRESETS = {
    "tiny": {},
    "small": {"lookback": 48, "hidden": 32, "embedding": 8, "mlp_hidden": 32, "max_samples": 60_000},
}


class LEM(Strategy):
    """Large Execution Model (tiny default configuration; see the module docstring).

    With ``checkpoint`` (default: the bundled one, ``checkpoint=none`` to train in ``fit``) the
    architecture and weights come from the checkpoint and ``fit`` only reports an asset/frequency
    mismatch.
    """

    name = "lem"
    description = "Large Execution Model (keras/JAX, TKAN + causal attention), trained on the training bars."
    mode = "sequence"

    def __init__(self, horizon: int = 12, lookback: int = 24, hidden: int = 16, embedding: int = 4,
                 rnn_layers: int = 1, heads: int = 2, mlp_hidden: int = 16, epochs: int = 2, batch_size: int = 256,
                 learning_rate: float = 1e-3, max_samples: int = 20_000, seed: int = 0,
                 checkpoint: str | None = "bundled"):
        self.horizon, self.lookback_bars, self.hidden, self.embedding = int(horizon), int(lookback), int(hidden), int(embedding)
        self.rnn_layers, self.heads, self.mlp_hidden = int(rnn_layers), int(heads), int(mlp_hidden)
        self.epochs, self.batch_size, self.learning_rate = int(epochs), int(batch_size), float(learning_rate)
        self.max_samples, self.seed = int(max_samples), int(seed)
        self.lookback = self.lookback_bars + NORMALISER + 1  # history the features need before an origin
        self.model = None
        self.calendar: str | None = None
        self.history: list[float] = []
        self.trained_on: dict[str, Any] | None = None
        self.checkpoint = None if str(checkpoint).lower() in ("none", "") else checkpoint
        if self.checkpoint is not None:
            self._load_checkpoint(BUNDLED_CHECKPOINT if self.checkpoint == "bundled" else Path(self.checkpoint))

    def params(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "horizon": self.horizon, "lookback": self.lookback_bars, "hidden": self.hidden,
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

    def _dataset(self, bars, start=None, end=None):
        """Features, rates and targets for every origin in [start, end), evenly subsampled to at most
        ``max_samples`` and cut to whole batches (fixed shapes: JAX compiles once)."""
        windows = build_order_windows(bars, self.horizon, start=start, end=end, min_history=self.lookback)
        if len(windows) < self.batch_size:
            raise StrategyError(f"strategy 'lem': {len(windows)} orders to train on, fewer than batch_size={self.batch_size}")
        count = min(self.max_samples, len(windows)) // self.batch_size * self.batch_size
        sample = windows.subset(np.linspace(0, len(windows) - 1, count).round().astype(np.int64))
        prices, volumes = sample.window("prices"), sample.window("volumes")
        features = lem_features(OrderContext(sample), RealisedWindow(prices, volumes), self.lookback_bars)
        rates = np.tile(np.array([[1.0 / self.horizon**2, 1.0]], "float32"), (count, 1))
        target = np.stack([prices / prices[:, :1], volumes / np.maximum(volumes.mean(axis=1, keepdims=True), 1e-12)],
                          axis=-1)
        return [features.astype("float32"), rates], target.astype("float32"), sample.calendar

    def train(self, bars, *, end=None, validation: tuple | None = None, patience: int = 2, progress=None) -> "LEM":
        """Train on the bars before ``end``; with ``validation`` = (start, end) dates, stop early on the
        validation loss (``patience`` epochs, restoring the best weights) and halve the learning rate
        after a plateau of one epoch (the paper's set-up, §3.4)."""
        keras = keras_backend()
        from execbench.lem.loss import lem_loss

        keras.utils.set_random_seed(self.seed)
        inputs, target, calendar = self._dataset(bars, end=end)
        model = self._build(calendar)
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate),
                      loss=lambda y, p: lem_loss(p, y[..., 0], y[..., 1]))
        callbacks, validation_data = [], None
        if validation is not None:
            val_inputs, val_target, _ = self._dataset(bars, start=validation[0], end=validation[1])
            validation_data = (val_inputs, val_target)
            callbacks = [keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True),
                         keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=1)]
        if progress is not None:
            callbacks.append(progress)
        result = model.fit(inputs, target, epochs=self.epochs, batch_size=self.batch_size, verbose=0, shuffle=True,
                           validation_data=validation_data, callbacks=callbacks)
        self.history = [float(v) for v in result.history["loss"]]
        self.validation_history = [float(v) for v in result.history.get("val_loss", [])]
        self.trained_on = {"asset": bars.attrs.get("asset"), "freq": bars.attrs.get("freq"),
                           "sha256": bars.attrs.get("sha256"), "train_end": None if end is None else str(end),
                           "validation": None if validation is None else [str(v) for v in validation],
                           "samples": int(len(target))}
        return self

    def fit(self, bars) -> "LEM":
        """Train on ``bars`` (the evaluation's training period) — or, with a checkpoint, keep it and only
        report when it was trained on another asset or frequency."""
        if self.model is not None and self.checkpoint is not None:
            trained = self.trained_on or {}
            if (trained.get("asset"), trained.get("freq")) != (bars.attrs.get("asset"), bars.attrs.get("freq")):
                warnings.warn(f"strategy 'lem': checkpoint trained on {trained.get('asset')} {trained.get('freq')}, "
                              f"evaluated on {bars.attrs.get('asset')} {bars.attrs.get('freq')}", stacklevel=2)
            return self
        return self.train(bars)

    def save_checkpoint(self, out_dir: str | Path) -> list[Path]:
        """Weights-only checkpoint (``lem.weights.npz``, float32), its ``config.json`` (architecture, features,
        normalisation, data, split, loss curves) and ``training_curve.csv``."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        weights = out_dir / "lem.weights.npz"
        arrays = self.model.get_weights()
        np.savez_compressed(weights, **{f"w{i:03d}": np.asarray(w, dtype=np.float32) for i, w in enumerate(arrays)})
        config = {"architecture": {k: v for k, v in self.params().items() if k != "checkpoint"},
                  "features": list(feature_names(self.calendar)), "calendar": self.calendar,
                  "normalisation": f"volume / mean of the {NORMALISER} bars before the sequence; returns of bar VWAPs",
                  "trained_on": self.trained_on, "loss": self.history,
                  "val_loss": getattr(self, "validation_history", [])}
        (out_dir / "config.json").write_text(json.dumps(config, indent=1) + "\n")
        curve = out_dir / "training_curve.csv"
        rows = ["epoch,loss,val_loss"] + [f"{i + 1},{loss},{v}" for i, (loss, v) in enumerate(
            zip(self.history, getattr(self, "validation_history", []) or [""] * len(self.history), strict=False))]
        curve.write_text("\n".join(rows) + "\n")
        return [weights, out_dir / "config.json", curve]

    def _load_checkpoint(self, path: Path) -> None:
        if not (path / "config.json").is_file():
            raise StrategyError(f"strategy 'lem': no checkpoint at {path} (train one with `execbench train lem`, or "
                                f"pass --param checkpoint=none to train during the run)")
        config = json.loads((path / "config.json").read_text())
        for key, value in config["architecture"].items():
            setattr(self, {"lookback": "lookback_bars"}.get(key, key), value)
        self.lookback = self.lookback_bars + NORMALISER + 1
        self.trained_on = config.get("trained_on")
        self.history = config.get("loss", [])
        with np.load(path / "lem.weights.npz") as stored:
            self._build(config["calendar"]).set_weights([stored[k] for k in sorted(stored.files)])

    def get_state(self) -> dict[str, Any]:
        if self.model is None:
            return {}
        return {"calendar": self.calendar, "loss_history": self.history, "trained_on": self.trained_on,
                "weights": [w.tolist() for w in self.model.get_weights()]}

    def set_state(self, state: dict[str, Any]) -> None:
        if state.get("weights"):
            self._build(state["calendar"])
            self.model.set_weights([np.asarray(w, dtype="float32") for w in state["weights"]])
            self.history = state.get("loss_history", [])
            self.trained_on = state.get("trained_on")

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
