"""Building and training the LEM: ``TrainedLEM`` (architecture, training set-up, weights and what it
was trained on), ``build_model`` and ``train_lem`` (Adam, fixed batch shapes, a seed and, given a
validation period, early stopping and learning-rate reduction on plateau, §3.4)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from execbench.lem.backend import keras_backend
from execbench.lem.dataset import lem_dataset
from execbench.lem.features import feature_names, min_history
from execbench.lem.presets import ARCHITECTURE, TRAINING
from execbench.orders import training_bars

METRICS = ("improvement_bps", "risk_bps")  # the paper's improvement (flexible) and risk (match) metrics


@dataclass(frozen=True, eq=False)
class TrainedLEM:
    """A LEM model with everything that defines it: ``architecture`` (``ARCHITECTURE`` keys),
    ``training`` (``TRAINING`` keys), the data calendar, the per-epoch ``history`` of loss and metrics,
    ``trained_on`` (datasets, hashes, split) and how long training took."""

    architecture: dict[str, Any]
    training: dict[str, Any]
    calendar: str
    model: Any  # a keras Model (LargeExecutionModel)
    history: dict[str, list[float]] = field(default_factory=dict)
    trained_on: dict[str, Any] | None = None
    training_seconds: float | None = None

    def __repr__(self) -> str:
        arch = ", ".join(f"{k}={v}" for k, v in self.architecture.items())
        where = "" if not self.trained_on else f", trained on {self.trained_on.get('asset')} {self.trained_on.get('freq')}"
        return f"TrainedLEM({arch}{where}, {len(self.history.get('loss', []))} epochs)"

    @property
    def lookback(self) -> int:
        """History the features need before an origin (the engine's ``min_history``)."""
        return min_history(self.architecture["lookback"])


def build_model(architecture: dict[str, Any], calendar: str, *, for_weights: bool = False):
    """The keras model for ``architecture`` and ``calendar``, its weights built from the input shapes;
    ``for_weights`` skips the random initializers (the caller sets every weight right after)."""
    keras_backend()
    from execbench.lem.model import LargeExecutionModel, build_weights, placeholder_initializers

    n_features = len(feature_names(calendar))
    lookback, horizon = architecture["lookback"], architecture["horizon"]
    model = LargeExecutionModel(
        lookback=lookback, horizon=horizon, n_features=n_features, hidden=architecture["hidden"],
        embedding=architecture["embedding"], rnn_layers=architecture["rnn_layers"], heads=architecture["heads"],
        mlp_hidden=architecture["mlp_hidden"], decision=architecture["decision"])
    with placeholder_initializers() if for_weights else contextlib.nullcontext():
        build_weights(model, lookback + horizon - 1, n_features)
    return model


def _dataset_label(bars: pd.DataFrame) -> dict[str, Any]:
    return {"asset": bars.attrs.get("asset"), "freq": bars.attrs.get("freq"), "sha256": bars.attrs.get("sha256")}


def train_lem(datasets: pd.DataFrame | Sequence[pd.DataFrame], architecture: dict[str, Any],
              training: dict[str, Any], *, end=None, validation: tuple | None = None, patience: int = 2,
              on_epoch: Callable[[int, dict[str, float]], None] | None = None) -> TrainedLEM:
    """Train a LEM on the bars before ``end`` of one dataset or several (assets and/or frequencies: the
    paper's unified model).

    Parameters
    ----------
    datasets
        Frames from ``load_bars``; samples are drawn from each in proportion to its orders.
    architecture, training
        The ``ARCHITECTURE`` and ``TRAINING`` parameters.
    end
        Only windows with origins before ``end`` are trained on.
    validation
        ``(start, end)`` dates: stop early on the validation loss (``patience`` epochs, restoring the
        best weights) and halve the learning rate after a plateau of one epoch (§3.4).  Validation
        windows end before ``end`` of the validation period.
    on_epoch
        Called after each epoch with its number (1-based) and its logs (loss and metrics, ``val_`` ones
        with a validation period).
    """
    keras = keras_backend()
    from execbench.lem.loss import improvement_bps, risk_bps, training_loss

    started = time.perf_counter()
    datasets = [datasets] if isinstance(datasets, pd.DataFrame) else list(datasets)
    missing = [k for k in (*ARCHITECTURE, *TRAINING) if k not in {**architecture, **training}]
    if missing:
        raise ValueError(f"train_lem: missing parameters {missing}")
    sizes = {"horizon": architecture["horizon"], "lookback": architecture["lookback"],
             "min_history": min_history(architecture["lookback"]), "alignment": architecture["alignment"],
             "max_samples": training["max_samples"], "batch_size": training["batch_size"]}
    keras.utils.set_random_seed(training["seed"])
    data = lem_dataset(datasets, end=end, **sizes)
    model = build_model(architecture, data.calendar)
    risk_weight = training["risk_weight"]
    model.compile(optimizer=keras.optimizers.Adam(training["learning_rate"]),
                  loss=lambda y, p: training_loss(p, y[..., 0], y[..., 1], risk_weight),
                  metrics=[improvement_bps, risk_bps])
    callbacks, validation_data = [], None
    if validation is not None:  # whole windows before the validation end: none reaches later bars
        before_end = [training_bars(d, validation[1]) for d in datasets]
        val = lem_dataset(before_end, start=validation[0], end=validation[1], what="validation", **sizes)
        validation_data = (val.inputs, val.target)
        callbacks = [keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True),
                     keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=1)]
    if on_epoch is not None:
        class EpochReport(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                on_epoch(epoch + 1, dict(logs or {}))

        callbacks.append(EpochReport())
    result = model.fit(data.inputs, data.target, epochs=training["epochs"], batch_size=training["batch_size"],
                       verbose=0, shuffle=True, validation_data=validation_data, callbacks=callbacks)
    history = {k: [float(v) for v in values] for k, values in result.history.items()
               if k in ("loss", "val_loss") or k.removeprefix("val_") in METRICS}
    trained_on = {
        "asset": ",".join(dict.fromkeys(str(d.attrs.get("asset")) for d in datasets)),
        "freq": ",".join(dict.fromkeys(str(d.attrs.get("freq")) for d in datasets)),
        "datasets": [{**_dataset_label(d), "samples": n} for d, n in zip(datasets, data.counts, strict=True)],
        "train_end": None if end is None else str(end),
        "validation": None if validation is None else [str(v) for v in validation],
        "samples": int(len(data.target))}
    return TrainedLEM(architecture=dict(architecture), training=dict(training), calendar=data.calendar, model=model,
                      history=history, trained_on=trained_on, training_seconds=time.perf_counter() - started)
