"""The Large Execution Model as a strategy: trained on the training bars, scored by the engine.

``train`` builds the causal feature sequences (``execbench.lem.features``) for every order origin of
one or several datasets (assets and/or bar frequencies: the paper's unified model), evenly
subsampled to ``max_samples`` in all, and trains ``LargeExecutionModel`` on the LEM loss with Adam,
fixed batch shapes (the sample count is cut to a multiple of ``batch_size``), a seed and — given a
validation period — early stopping and learning-rate reduction on plateau (§3.4).
``allocate_sequence`` predicts every bar of every scenario at once (padding to ``predict_batch`` so
JAX compiles once); the last bar is recomputed in float64 as the remainder, the model's own rule,
so each path sums to 1 exactly.  Causality is the model's job and the look-ahead audit checks it.

``alignment="upstream"`` feeds the model the upstream ``lems`` way (step s sees bar s itself), for
the causal-vs-upstream comparison only (``execbench lem-alignment``); the audit fails it.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from execbench.contracts import ContractSpec, ScenarioGrid
from execbench.errors import StrategyError
from execbench.evaluate import training_bars
from execbench.lem.features import ALIGNMENTS, NORMALISER, RETURN_SCALE, feature_names, lem_features
from execbench.strategy import OrderContext, RealisedWindow, Strategy
from execbench.windows import build_order_windows

BUNDLED_CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "lem-btcusdt-15m"
METRICS = ("improvement_bps", "risk_bps")  # the paper's improvement (flexible) and risk (match) metrics


def keras_backend():
    """keras on JAX (unless KERAS_BACKEND says otherwise), with JAX's persistent compilation cache
    under the user cache directory (``$XDG_CACHE_HOME/execbench/jax``)."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    if keras.backend.backend() == "jax":  # reuse compiled programs across runs
        import jax

        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "execbench" / "jax"
        jax.config.update("jax_compilation_cache_dir", str(cache))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    return keras


PRESETS = {
    "tiny": {},
    "small": {"lookback": 48, "hidden": 32, "embedding": 8, "mlp_hidden": 32, "max_samples": 60_000},
    # the upstream README's example sizes and the paper's learning rate (§3.4); slow on a laptop CPU
    "paper": {"lookback": 120, "hidden": 200, "embedding": 20, "heads": 8, "mlp_hidden": 100,
              "learning_rate": 1e-5, "max_samples": 10_000_000, "epochs": 30},
}
ARCHITECTURE = ("horizon", "lookback", "hidden", "embedding", "rnn_layers", "heads", "mlp_hidden", "alignment")


def _dataset_label(bars: pd.DataFrame) -> dict[str, Any]:
    return {"asset": bars.attrs.get("asset"), "freq": bars.attrs.get("freq"), "sha256": bars.attrs.get("sha256")}


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
                 learning_rate: float = 1e-3, max_samples: int = 20_000, seed: int = 0, predict_batch: int = 1024,
                 alignment: str = "causal", checkpoint: str | None = "bundled"):
        self.horizon, self.lookback_bars, self.hidden, self.embedding = int(horizon), int(lookback), int(hidden), int(embedding)
        self.rnn_layers, self.heads, self.mlp_hidden = int(rnn_layers), int(heads), int(mlp_hidden)
        self.epochs, self.batch_size, self.learning_rate = int(epochs), int(batch_size), float(learning_rate)
        self.max_samples, self.seed, self.predict_batch = int(max_samples), int(seed), int(predict_batch)
        self.alignment = self._check_alignment(alignment)
        self.model = None
        self.calendar: str | None = None
        self.history: dict[str, list[float]] = {}
        self.trained_on: dict[str, Any] | None = None
        self.checkpoint = None if str(checkpoint).lower() in ("none", "") else checkpoint
        if self.checkpoint is not None:
            self._load_checkpoint(BUNDLED_CHECKPOINT if self.checkpoint == "bundled" else Path(self.checkpoint))

    @staticmethod
    def _check_alignment(alignment: str) -> str:
        if alignment not in ALIGNMENTS:
            raise StrategyError(f"strategy 'lem': parameter alignment={alignment!r}, expected one of "
                                f"{', '.join(ALIGNMENTS)}")
        return alignment

    @property
    def lookback(self) -> int:
        """History the features need before an origin (the engine's ``min_history``)."""
        return self.lookback_bars + NORMALISER + 1

    @property
    def loss_history(self) -> list[float]:
        return self.history.get("loss", [])

    def params(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "horizon": self.horizon, "lookback": self.lookback_bars, "hidden": self.hidden,
                "embedding": self.embedding, "rnn_layers": self.rnn_layers, "heads": self.heads,
                "mlp_hidden": self.mlp_hidden, "epochs": self.epochs, "batch_size": self.batch_size,
                "learning_rate": self.learning_rate, "max_samples": self.max_samples, "seed": self.seed,
                "predict_batch": self.predict_batch, "alignment": self.alignment}

    def _build(self, calendar: str, *, for_weights: bool = False):
        """Create the model and its weights symbolically; ``for_weights`` skips the random initializers
        (the caller sets every weight right after)."""
        import contextlib

        from execbench.lem.model import LargeExecutionModel, build_symbolically, placeholder_initializers

        keras_backend()
        self.calendar = calendar
        n_features = len(feature_names(calendar))
        self.model = LargeExecutionModel(
            lookback=self.lookback_bars, horizon=self.horizon, n_features=n_features,
            hidden=self.hidden, embedding=self.embedding, rnn_layers=self.rnn_layers, heads=self.heads,
            mlp_hidden=self.mlp_hidden)
        with placeholder_initializers() if for_weights else contextlib.nullcontext():
            build_symbolically(self.model, self.lookback_bars + self.horizon - 1, n_features)
        return self.model

    def unsupported(self, spec: ContractSpec) -> str | None:
        return model_unsupported(self.horizon, spec)

    def _windows(self, bars: pd.DataFrame, start=None, end=None):
        return build_order_windows(bars, self.horizon, start=start, end=end, min_history=self.lookback)

    def _dataset(self, datasets: Sequence[pd.DataFrame], start=None, end=None, what: str = "training"):
        """Features, rates and targets for every origin in [start, end) of every dataset, evenly
        subsampled to at most ``max_samples`` in all (each dataset in proportion to its orders) and
        cut to whole batches (fixed shapes: JAX compiles once)."""
        windows = [self._windows(bars, start, end) for bars in datasets]
        total = sum(len(w) for w in windows)
        count = min(self.max_samples, total) // self.batch_size * self.batch_size
        if count == 0:
            raise StrategyError(f"strategy 'lem': {total} {what} orders, fewer than batch_size={self.batch_size}")
        calendars = {w.calendar for w in windows}
        if len(calendars) > 1:
            raise StrategyError(f"strategy 'lem': cannot train one model on mixed calendars {sorted(calendars)} "
                                "(intraday crypto and daily equity features differ)")
        shares = np.floor(np.array([len(w) for w in windows]) / total * count).astype(np.int64)
        shares[np.argmax(shares)] += count - shares.sum()
        parts, counts = [], []
        for w, share in zip(windows, shares, strict=True):
            if share == 0:
                counts.append(0)
                continue
            sample = w.subset(np.linspace(0, len(w) - 1, share).round().astype(np.int64))
            prices, volumes = sample.window("prices"), sample.window("volumes")
            features = lem_features(OrderContext(sample), RealisedWindow(prices, volumes), self.lookback_bars,
                                    lead=ALIGNMENTS[self.alignment])
            target = np.stack([prices / prices[:, :1], volumes / np.maximum(volumes.mean(axis=1, keepdims=True), 1e-12)],
                              axis=-1)
            parts.append((features.astype("float32"), target.astype("float32")))
            counts.append(int(share))
        features = np.concatenate([p[0] for p in parts])
        target = np.concatenate([p[1] for p in parts])
        rates = np.tile(np.array([[1.0 / self.horizon**2, 1.0]], "float32"), (len(features), 1))
        return [features, rates], target, calendars.pop(), counts

    def train(self, bars: pd.DataFrame | Sequence[pd.DataFrame], *, end=None, validation: tuple | None = None,
              patience: int = 2, progress=None) -> "LEM":
        """Train on the bars before ``end`` of one dataset or several (assets and/or frequencies; the
        paper's unified model).  With ``validation`` = (start, end) dates, stop early on the
        validation loss (``patience`` epochs, restoring the best weights) and halve the learning
        rate after a plateau of one epoch (§3.4).  ``progress`` is a keras callback."""
        keras = keras_backend()
        from execbench.lem.loss import improvement_bps, lem_loss, risk_bps

        datasets = [bars] if isinstance(bars, pd.DataFrame) else list(bars)
        keras.utils.set_random_seed(self.seed)
        inputs, target, calendar, counts = self._dataset(datasets, end=end)
        model = self._build(calendar)
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate),
                      loss=lambda y, p: lem_loss(p, y[..., 0], y[..., 1]), metrics=[improvement_bps, risk_bps])
        callbacks, validation_data = [], None
        if validation is not None:  # whole windows before the validation end: none reaches later bars
            before_end = [training_bars(d, validation[1]) for d in datasets]
            val_inputs, val_target, _, _ = self._dataset(before_end, start=validation[0], end=validation[1],
                                                         what="validation")
            validation_data = (val_inputs, val_target)
            callbacks = [keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True),
                         keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=1)]
        if progress is not None:
            callbacks.append(progress)
        result = model.fit(inputs, target, epochs=self.epochs, batch_size=self.batch_size, verbose=0, shuffle=True,
                           validation_data=validation_data, callbacks=callbacks)
        self.history = {k: [float(v) for v in values] for k, values in result.history.items()
                        if k in ("loss", "val_loss") or k.removeprefix("val_") in METRICS}
        self.trained_on = {
            "asset": ",".join(dict.fromkeys(str(d.attrs.get("asset")) for d in datasets)),
            "freq": ",".join(dict.fromkeys(str(d.attrs.get("freq")) for d in datasets)),
            "datasets": [{**_dataset_label(d), "samples": n} for d, n in zip(datasets, counts, strict=True)],
            "train_end": None if end is None else str(end),
            "validation": None if validation is None else [str(v) for v in validation],
            "samples": int(len(target))}
        return self

    def trained_for(self, bars: pd.DataFrame) -> bool:
        """Whether the model was trained on this dataset's asset(s) and frequency."""
        trained = self.trained_on or {}
        pairs = {(d.get("asset"), d.get("freq")) for d in trained.get("datasets", [])}
        assets = str(bars.attrs.get("asset")).split(",")
        covered = {a for asset, _ in pairs for a in str(asset).split(",")}
        freqs = {f for _, f in pairs}
        return set(assets) <= covered and bars.attrs.get("freq") in freqs

    def fit(self, bars) -> "LEM":
        """Train on ``bars`` (the evaluation's training period) — or, with a checkpoint, keep it and only
        report when it was trained on another asset or frequency."""
        if self.model is not None and self.checkpoint is not None:
            if not self.trained_for(bars):
                trained = self.trained_on or {}
                warnings.warn(f"strategy 'lem': checkpoint trained on {trained.get('asset')} {trained.get('freq')}, "
                              f"evaluated on {bars.attrs.get('asset')} {bars.attrs.get('freq')}", stacklevel=2)
            return self
        return self.train(bars)

    def save_checkpoint(self, out_dir: str | Path) -> list[Path]:
        """Weights-only checkpoint (``lem.weights.npz``, float32), its ``config.json`` (architecture, features,
        normalisation, data, split, loss and metric curves) and ``training_curve.csv``."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        weights = out_dir / "lem.weights.npz"
        arrays = self.model.get_weights()
        np.savez_compressed(weights, **{f"w{i:03d}": np.asarray(w, dtype=np.float32) for i, w in enumerate(arrays)})
        params = self.params()
        config = {"architecture": {k: params[k] for k in ARCHITECTURE},
                  "training": {k: params[k] for k in ("epochs", "batch_size", "learning_rate", "max_samples", "seed")},
                  "features": list(feature_names(self.calendar)), "calendar": self.calendar,
                  "normalisation": f"volume / mean of the {NORMALISER} bars before the sequence; "
                                   f"{RETURN_SCALE:g} × log returns of bar VWAPs",
                  "trained_on": self.trained_on, "history": self.history}
        (out_dir / "config.json").write_text(json.dumps(config, indent=1) + "\n")
        curve = out_dir / "training_curve.csv"
        order = [k for base in ("loss", *METRICS) for k in (base, "val_" + base) if k in self.history]
        pd.DataFrame(self.history)[order].rename(index=lambda i: i + 1).rename_axis("epoch").to_csv(curve)
        return [weights, out_dir / "config.json", curve]

    def _load_checkpoint(self, path: Path) -> None:
        if not (path / "config.json").is_file():
            raise StrategyError(f"strategy 'lem': no checkpoint at {path} (train one with `execbench train lem`, or "
                                f"pass --param checkpoint=none to train during the run)")
        config = json.loads((path / "config.json").read_text())
        if "alignment" not in config.get("architecture", {}):
            raise StrategyError(f"strategy 'lem': {path}/config.json is from an older LEM (no 'alignment' in its "
                                "architecture); retrain it with `execbench train lem`")
        defaults = self.param_defaults()
        for key, value in config["architecture"].items():
            attribute = {"lookback": "lookback_bars"}.get(key, key)
            requested = getattr(self, attribute)
            if requested != defaults.get(key) and requested != value:  # set by the user, not what was trained
                raise StrategyError(f"strategy 'lem': parameter {key}={requested!r} conflicts with the checkpoint at "
                                    f"{path} ({key}={value!r}); pass checkpoint=none to train a new model")
            setattr(self, attribute, value)
        self.alignment = self._check_alignment(self.alignment)
        self.trained_on = config.get("trained_on")
        self.history = config.get("history", {})
        with np.load(path / "lem.weights.npz") as stored:
            self._build(config["calendar"], for_weights=True).set_weights([stored[k] for k in sorted(stored.files)])

    def get_state(self) -> dict[str, Any]:
        if self.model is None:
            return {}
        return {"calendar": self.calendar, "history": self.history, "trained_on": self.trained_on,
                "weights": [w.tolist() for w in self.model.get_weights()]}

    def set_state(self, state: dict[str, Any]) -> None:
        if state.get("weights"):
            self._build(state["calendar"], for_weights=True)
            self.model.set_weights([np.asarray(w, dtype="float32") for w in state["weights"]])
            self.history = state.get("history", {})
            self.trained_on = state.get("trained_on")

    def predict_all(self, features: np.ndarray, rates: np.ndarray) -> np.ndarray:
        """Model output (n, T, T+1, 4, 2) for any n, in fixed ``predict_batch`` shapes."""
        return predict_in_fixed_batches(self.model, [features, rates], self.predict_batch)

    def allocate_sequence(self, ctx: OrderContext, grid: ScenarioGrid, window: RealisedWindow) -> np.ndarray:
        if self.model is None:
            raise StrategyError("strategy 'lem' is not fitted: call fit(training bars) or load a saved state")
        low, high = shared_rates(self.name, grid)
        features = lem_features(ctx, window, self.lookback_bars, lead=ALIGNMENTS[self.alignment]).astype("float32")
        rates = np.tile(np.array([[low, high]], "float32"), (ctx.n_orders, 1))
        return grid_allocations(self.predict_all(features, rates), grid)


def shared_rates(name: str, grid: ScenarioGrid) -> tuple[float, float]:
    """The one (minimum, maximum) trading rate per bar that every scenario of ``grid`` shares."""
    arrays = grid.arrays()
    if np.ptp(arrays["min_rate"]) > 0 or np.ptp(arrays["max_rate"]) > 0:
        raise StrategyError(f"strategy {name!r}: every scenario must share one minimum and one maximum rate")
    return float(arrays["min_rate"][0]), float(arrays["max_rate"][0])


def model_unsupported(horizon: int, spec: ContractSpec) -> str | None:
    """Why a LEM built for ``horizon`` bars cannot run ``spec`` (``None`` if it can)."""
    if spec.horizon != horizon:
        return f"this LEM is built for T={horizon} bars (parameter horizon), the contract has T={spec.horizon}"
    if spec.max_participation is not None:
        return "the LEM does not model participation caps"
    return None


def predict_in_fixed_batches(model, inputs: list[np.ndarray], batch_size: int) -> np.ndarray:
    """``model.predict`` over any number of rows, zero-padded to whole batches of one fixed shape so
    JAX compiles once per batch size; the padding rows are dropped from the output."""
    n = len(inputs[0])
    batch = min(batch_size, max(n, 1))
    padded = -(-n // batch) * batch
    inputs = [np.concatenate([a, np.zeros((padded - n, *a.shape[1:]), a.dtype)]) for a in inputs]
    return model.predict(inputs, batch_size=batch, verbose=0)[:n]


def grid_allocations(out: np.ndarray, grid: ScenarioGrid) -> np.ndarray:
    """LEM output (n, T, T+1, 4, 2) → engine allocations (n, T, scenarios) for ``grid``; the last bar is
    recomputed in float64 as the remainder (the model's own rule), so each path sums to 1 exactly."""
    n, horizon = out.shape[:2]
    full = out.reshape(n, horizon, (horizon + 1) * 8).astype(np.float64)
    alloc = np.clip(full[:, :, [spec_index(spec) for spec in grid.specs]], 0.0, None)
    alloc[:, -1, :] = 1.0 - alloc[:, :-1, :].sum(axis=1)
    return alloc


def spec_index(spec: ContractSpec) -> int:
    """Position of a scenario in the LEM's flattened output (the full grid's order)."""
    slot = spec.horizon if spec.match else spec.min_period - 1
    kind = ("buy", "sell").index(spec.side) * 2 + ("vwap", "twap").index(spec.benchmark)
    return slot * 8 + kind * 2 + ("quantity", "notional").index(spec.target)
