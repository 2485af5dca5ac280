"""The Large Execution Model as a strategy: a thin adapter over the ``execbench.lem`` library.

With a checkpoint the architecture and weights come from it and ``fit`` only reports an
asset/frequency mismatch.  The default, ``checkpoint="bundled"``, is one of the two shipped beside
this module in ``checkpoints/``: the unified crypto model for intraday bars, the Dow-30 model for
daily sessions (chosen in ``fit`` by the bars' calendar; both share one architecture).  With
``checkpoint=none``, ``fit`` trains a new model on the training bars (``execbench.lem.train_lem``).
The model is run as an ``adaptive`` strategy: ``start`` reads the history positions, and before each
execution bar s ``step`` adds the bar the framework has just revealed (s − 1) and runs decision block
s (``execbench.lem.stepwise``: the recurrent state and an attention cache are carried between bars).
That is the whole-sequence model's output, one bar at a time, at the cost of about one model pass.

``alignment="upstream"`` feeds the model the upstream ``lems`` way (step s sees bar s itself), for
the causal-vs-upstream comparison only (``execbench lem-alignment``).  That needs bar s at decision
s, so such a model runs as a ``sequence`` strategy, the framework masks bar s, its per-bar decisions
no longer add up, and it is refused.
"""

from __future__ import annotations

import threading
import warnings
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from execbench.contracts import ContractSpec, ScenarioGrid, grid_position
from execbench.data import UNIVERSES, universe_members
from execbench.errors import StrategyError
from execbench.lem.adapter import grid_allocations, model_unsupported, predict_in_fixed_batches, settle, shared_rates
from execbench.lem.features import (ALIGNMENTS, last_position_features, lem_features, min_history, sequence_features,
                                    volume_level)
from execbench.lem.presets import ARCHITECTURE, DECISIONS, DEFAULTS, TRAINING
from execbench.strategy import OrderContext, Param, RealisedWindow, StepObservation, Strategy

CHECKPOINTS = Path(str(files(__package__) / "checkpoints"))
# the shipped checkpoints by data calendar: one unified intraday model (5 pairs × 15m/30m/1h), one daily
BUNDLED_CHECKPOINTS = {"continuous": CHECKPOINTS / "lem-crypto", "sessions": CHECKPOINTS / "lem-dow30-1d"}
BUNDLED_CHECKPOINT = BUNDLED_CHECKPOINTS["continuous"]


def _members(asset: str) -> list[str]:
    """The assets a dataset label names: comma-separated names, a bundled universe as its members."""
    names = [a.strip() for a in asset.split(",") if a.strip()]
    return [m for a in names for m in (universe_members(a) if a.lower() in UNIVERSES else [a])]


_STEPPER_LOCK = threading.Lock()
_LOAD_LOCK = threading.Lock()  # a checkpoint's model is built once, whichever thread needs it first


class LEM(Strategy):
    """Large Execution Model (tiny default configuration; see the module docstring)."""

    name = "lem"
    description = "Large Execution Model (keras/JAX, TKAN + causal attention), trained on the training bars."
    mode = "adaptive"  # "sequence" for alignment="upstream" (see the module docstring)

    param_specs = {**{k: Param(int, low=1) for k in ("horizon", "lookback", "hidden", "embedding", "rnn_layers", "heads",
                                                     "mlp_hidden", "batch_size", "max_samples", "predict_batch")},
                   "epochs": Param(int, low=0), "seed": Param(int), "learning_rate": Param(float, low=0.0, low_open=True),
                   "risk_weight": Param(float, low=0.0),
                   "alignment": Param(str, choices=tuple(ALIGNMENTS)), "decision": Param(str, choices=DECISIONS),
                   "checkpoint": Param(str, allow_none=True)}

    def __init__(self, horizon: int = DEFAULTS["horizon"], lookback: int = DEFAULTS["lookback"],
                 hidden: int = DEFAULTS["hidden"], embedding: int = DEFAULTS["embedding"],
                 rnn_layers: int = DEFAULTS["rnn_layers"], heads: int = DEFAULTS["heads"],
                 mlp_hidden: int = DEFAULTS["mlp_hidden"], epochs: int = DEFAULTS["epochs"],
                 batch_size: int = DEFAULTS["batch_size"], learning_rate: float = DEFAULTS["learning_rate"],
                 max_samples: int = DEFAULTS["max_samples"], seed: int = DEFAULTS["seed"],
                 risk_weight: float = DEFAULTS["risk_weight"], predict_batch: int = 1024,
                 alignment: str = DEFAULTS["alignment"], decision: str = DEFAULTS["decision"],
                 checkpoint: str | None = "bundled"):
        self.horizon, self.lookback_bars, self.hidden, self.embedding = int(horizon), int(lookback), int(hidden), int(embedding)
        self.rnn_layers, self.heads, self.mlp_hidden = int(rnn_layers), int(heads), int(mlp_hidden)
        self.epochs, self.batch_size, self.learning_rate = int(epochs), int(batch_size), float(learning_rate)
        self.max_samples, self.seed, self.predict_batch = int(max_samples), int(seed), int(predict_batch)
        self.risk_weight = float(risk_weight)
        self.alignment = self._check_alignment(alignment)
        self.decision = str(decision)
        self._trained = None  # execbench.lem.TrainedLEM once trained or loaded (``trained``)
        self._checkpoint_source = None  # (folder, config, weights) the model is, or will be, built from
        self.checkpoint = None if str(checkpoint).lower() in ("none", "") else checkpoint
        if self.checkpoint is not None:
            self._load_checkpoint(BUNDLED_CHECKPOINT if self.checkpoint == "bundled" else Path(self.checkpoint))
        self.mode = "sequence" if self.alignment == "upstream" else "adaptive"
        self._stepper, self._stepper_source = None, None  # execbench.lem.stepwise.StepwiseLEM for the current model

    @staticmethod
    def _check_alignment(alignment: str) -> str:
        if alignment not in ALIGNMENTS:
            raise StrategyError(f"strategy 'lem': parameter alignment={alignment!r}, expected one of "
                                f"{', '.join(ALIGNMENTS)}")
        return alignment

    @classmethod
    def from_trained(cls, trained, *, name: str | None = None, predict_batch: int = 1024) -> "LEM":
        """A strategy around an already trained model (``execbench.lem.TrainedLEM``)."""
        strategy = cls(**trained.architecture, **trained.training, predict_batch=predict_batch, checkpoint=None)
        strategy.trained = trained
        if name:
            strategy.name = name
        return strategy

    # -- what the library needs from the parameters ----------------------------------------------------
    def architecture(self) -> dict[str, Any]:
        values = self.params()
        return {k: values[k] for k in ARCHITECTURE}

    def training(self) -> dict[str, Any]:
        values = self.params()
        return {k: values[k] for k in TRAINING}

    @property
    def lookback(self) -> int:
        """History the features need before an origin (the engine's ``min_history``)."""
        return min_history(self.lookback_bars)

    @property
    def trained(self):
        """The ``execbench.lem.TrainedLEM`` (``None`` until trained or loaded).  A checkpoint's keras model is
        built on first use here: a run whose stepwise programs are all exported never builds it."""
        if self._trained is not None or self._checkpoint_source is None:
            return self._trained
        with _LOAD_LOCK:
            while self._trained is None and self._checkpoint_source is not None:
                from execbench.lem.checkpoint import load_checkpoint

                source = self._checkpoint_source
                trained = load_checkpoint(*source)
                if self._checkpoint_source is source:  # else switched to another checkpoint meanwhile: that one
                    self._trained = trained
        return self._trained

    @trained.setter
    def trained(self, trained) -> None:
        self._trained, self._checkpoint_source = trained, None

    @property
    def is_trained(self) -> bool:
        """Whether there is a model, built or still in its checkpoint."""
        return self._trained is not None or self._checkpoint_source is not None

    def _about(self, key: str, default=None):
        """What the model's ``TrainedLEM`` says under ``key`` (calendar, history, trained_on), from the
        checkpoint's configuration while the model is not built."""
        if self._trained is not None:
            return getattr(self._trained, key)
        return default if self._checkpoint_source is None else self._checkpoint_source[1].get(key, default)

    @property
    def model(self):
        return None if self.trained is None else self.trained.model

    @property
    def calendar(self) -> str | None:
        return self._about("calendar")

    @property
    def history(self) -> dict[str, list[float]]:
        return self._about("history", {})

    @property
    def trained_on(self) -> dict[str, Any] | None:
        return self._about("trained_on")

    @property
    def loss_history(self) -> list[float]:
        return self.history.get("loss", [])

    def params(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "horizon": self.horizon, "lookback": self.lookback_bars, "hidden": self.hidden,
                "embedding": self.embedding, "rnn_layers": self.rnn_layers, "heads": self.heads,
                "mlp_hidden": self.mlp_hidden, "epochs": self.epochs, "batch_size": self.batch_size,
                "learning_rate": self.learning_rate, "max_samples": self.max_samples, "seed": self.seed,
                "risk_weight": self.risk_weight,
                "predict_batch": self.predict_batch, "alignment": self.alignment, "decision": self.decision}

    def unsupported(self, spec: ContractSpec) -> str | None:
        return model_unsupported(self.horizon, spec)

    # -- training and checkpoints -------------------------------------------------------------------------
    def train(self, bars, *, end=None, validation: tuple | None = None, patience: int = 2, on_epoch=None) -> "LEM":
        """Train on one dataset or several (see ``execbench.lem.train_lem``)."""
        from execbench.lem.training import train_lem  # pandas and keras: only when training

        self.trained = train_lem(bars, self.architecture(), self.training(), end=end, validation=validation,
                                 patience=patience, on_epoch=on_epoch)
        return self

    def trained_for(self, bars) -> bool:
        """Whether the model was trained on this dataset's asset(s) and frequency (a bundled universe
        stands for its members)."""
        trained = self.trained_on or {}
        pairs = {(d.get("asset"), d.get("freq")) for d in trained.get("datasets", [])}
        covered = {a for asset, _ in pairs for a in _members(str(asset))}
        freqs = {f for _, f in pairs}
        return set(_members(str(bars.attrs.get("asset")))) <= covered and bars.attrs.get("freq") in freqs

    def checkpoint_mismatch(self, bars) -> str | None:
        if not self.is_trained or self.checkpoint is None or self.trained_for(bars):
            return None
        trained = self.trained_on or {}
        return (f"checkpoint trained on {trained.get('asset')} {trained.get('freq')}, not on "
                f"{bars.attrs.get('asset')} {bars.attrs.get('freq')}")

    def fit(self, bars) -> "LEM":
        """Train on ``bars`` (the evaluation's training period) — or, with a checkpoint, keep it and only
        report when it was trained on another asset or frequency."""
        if self.is_trained and self.checkpoint is not None:
            self._match_calendar(bars.attrs.get("calendar", "continuous"))
            mismatch = self.checkpoint_mismatch(bars)
            if mismatch:
                warnings.warn(f"strategy 'lem': {mismatch}", stacklevel=2)
            return self
        return self.train(bars)

    def _match_calendar(self, calendar: str) -> None:
        """Switch the bundled checkpoint to the one for ``calendar``; another model trained on another
        calendar (whose calendar features mean something else) is an error."""
        if not self.is_trained or calendar == self.calendar:
            return
        if self.checkpoint == "bundled" and calendar in BUNDLED_CHECKPOINTS:
            self._load_checkpoint(BUNDLED_CHECKPOINTS[calendar])
            return
        raise StrategyError(f"strategy 'lem': the model was trained on {self.calendar} bars, the orders are on "
                            f"{calendar} bars (pass a checkpoint trained on such bars, or checkpoint=none)")

    def save_checkpoint(self, out_dir: str | Path, extra: dict[str, Any] | None = None) -> list[Path]:
        """Write the trained model as a checkpoint folder (``execbench.lem.save_checkpoint``)."""
        from execbench.lem.checkpoint import save_checkpoint

        if self.trained is None:
            raise StrategyError("strategy 'lem' is not trained: nothing to save")
        return save_checkpoint(self.trained, out_dir, extra)

    def _load_checkpoint(self, path: Path) -> None:
        from execbench.lem.checkpoint import read_config, read_weights

        config = read_config(path)
        defaults = self.param_defaults()
        for key, value in config["architecture"].items():
            attribute = {"lookback": "lookback_bars"}.get(key, key)
            requested = getattr(self, attribute)
            if requested != defaults.get(key) and requested != value:  # set by the user, not what was trained
                raise StrategyError(f"strategy 'lem': parameter {key}={requested!r} conflicts with the checkpoint at "
                                    f"{path} ({key}={value!r}); pass checkpoint=none to train a new model")
            setattr(self, attribute, value)
        self.alignment = self._check_alignment(self.alignment)
        # the weights are read now (a bad file is an error here), the keras model is built from them on first use
        self._trained, self._checkpoint_source = None, (path, config, read_weights(path))

    def get_state(self) -> dict[str, Any]:
        if not self.is_trained:
            return {}
        return {"calendar": self.calendar, "history": self.history, "trained_on": self.trained_on,
                "weights": [w.tolist() for w in self.model.get_weights()]}

    def set_state(self, state: dict[str, Any]) -> None:
        if state.get("weights"):
            from execbench.lem.training import TrainedLEM, build_model

            model = build_model(self.architecture(), state["calendar"], for_weights=True)
            model.set_weights([np.asarray(w, dtype="float32") for w in state["weights"]])
            self.trained = TrainedLEM(architecture=self.architecture(), training=self.training(),
                                      calendar=state["calendar"], model=model, history=state.get("history", {}),
                                      trained_on=state.get("trained_on"))

    # -- inference ------------------------------------------------------------------------------------------
    def predict_all(self, features: np.ndarray, rates: np.ndarray) -> np.ndarray:
        """Model output (n, T, T+1, 4, 2) for any n, in fixed ``predict_batch`` shapes."""
        return predict_in_fixed_batches(self.model, [features, rates], self.predict_batch)

    def _require_trained(self, calendar: str) -> None:
        if not self.is_trained:
            raise StrategyError("strategy 'lem' is not fitted: call fit(training bars) or load a saved state")
        self._match_calendar(calendar)

    def allocate_sequence(self, ctx: OrderContext, grid: ScenarioGrid, window: RealisedWindow) -> np.ndarray:
        """Every bar of every scenario from one whole-sequence pass (the ``sequence`` mode of
        ``alignment="upstream"``; the causal model runs stepwise through ``start`` / ``step``)."""
        self._require_trained(ctx.calendar)
        low, high = shared_rates(self.name, grid)
        features = lem_features(ctx, window, self.lookback_bars, lead=ALIGNMENTS[self.alignment]).astype("float32")
        rates = np.tile(np.array([[low, high]], "float32"), (ctx.n_orders, 1))
        return grid_allocations(self.predict_all(features, rates), grid)

    @property
    def concurrent_calls(self) -> bool:
        """Stepwise calls may run at once: a call's state lives in what ``start`` returns and the model's work
        runs in JAX, free of the GIL.  Not the whole-sequence passes of ``alignment="upstream"`` (keras'
        ``predict`` builds its function on first use, not thread-safely)."""
        return self.mode == "adaptive"

    def _programs(self):
        """The stepwise programs of the current model.  For a checkpoint's model not built yet, on JAX: exported
        and kept in the user cache (``execbench.lem.programs``), keyed by the weights it is built from, so a
        warm run needs neither keras nor the model.  Else (a model trained here, set, or built and so open to
        changes): traced from the keras model."""
        from execbench.lem.checkpoint import load_checkpoint
        from execbench.lem.programs import ExportedPrograms, StepShape, TracedPrograms, exportable, programs_folder

        source = self._checkpoint_source
        pristine = source is not None and self._trained is None and exportable()
        folder = programs_folder(source[2].digest, source[1]) if pristine else None
        if folder is None:
            return TracedPrograms(self.model)
        architecture = source[1]["architecture"]

        def traced() -> TracedPrograms:  # a model of its own, from the very weights the folder is keyed by
            return TracedPrograms(load_checkpoint(*source).model)

        return ExportedPrograms(folder, StepShape(architecture["lookback"], architecture["horizon"],
                                                  architecture["decision"]), traced)

    def start(self, ctx: OrderContext, grid: ScenarioGrid) -> dict[str, Any]:
        """The model's state before execution bar 0, from the history positions only."""
        from execbench.lem.stepwise import StepwiseLEM

        self._require_trained(ctx.calendar)
        with _STEPPER_LOCK:  # calls may start on several threads at once (``concurrent_calls``)
            source = self._checkpoint_source or self.trained
            if self._stepper is None or self._stepper_source is not source:
                self._stepper, self._stepper_source = StepwiseLEM(self._programs()), source
            stepper = self._stepper
        low, high = shared_rates(self.name, grid)
        empty = np.zeros((ctx.n_orders, 0))
        history = sequence_features(ctx, empty, empty, self.lookback_bars)
        rates = np.tile(np.array([[low, high]]), (ctx.n_orders, 1))
        return {"ctx": ctx, "stepper": stepper, "model": stepper.start(history, rates),
                "columns": [grid_position(spec) for spec in grid.specs],
                "level": volume_level(ctx, self.lookback_bars)}  # each bar's volume feature divides by it

    def step(self, state: dict[str, Any], obs: StepObservation) -> np.ndarray:
        """Bar s: add bar s − 1 (just revealed) to the model's state and run decision block s, settled in
        float64 as ``grid_allocations`` does (``settle``); the last bar takes what is left of each path."""
        ctx, model_state = state["ctx"], state["model"]
        remaining = np.maximum(1.0 - obs.allocated.sum(axis=1), 0.0)
        if obs.step == ctx.horizon - 1:
            return remaining
        if obs.step > 0:
            state["stepper"].observe(model_state, last_position_features(ctx, obs.prices, obs.volumes,
                                                                         self.lookback_bars, state["level"]))
        out = state["stepper"].decide(model_state)  # (n, T+1, 4, 2), the full grid's order
        return settle(out.reshape(len(out), -1).astype(np.float64)[:, state["columns"]], remaining)
