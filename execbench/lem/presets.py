"""The LEM's size presets and the names of its architecture and training parameters."""

from __future__ import annotations

from typing import Any

from execbench.errors import ParameterError
from execbench.params import check_names

PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {},
    "small": {"lookback": 48, "hidden": 32, "embedding": 8, "mlp_hidden": 32, "max_samples": 60_000},
    # the upstream README's example sizes and the paper's learning rate (§3.4); slow on a laptop CPU
    "paper": {"lookback": 120, "hidden": 200, "embedding": 20, "heads": 8, "mlp_hidden": 100,
              "learning_rate": 1e-5, "max_samples": 10_000_000, "epochs": 30},
}
ARCHITECTURE = ("horizon", "lookback", "hidden", "embedding", "rnn_layers", "heads", "mlp_hidden", "alignment",
                "decision")
DECISIONS = ("stop", "rate")  # decision blocks with a stop output (execbench) or rates only (the paper)
TRAINING = ("epochs", "batch_size", "learning_rate", "max_samples", "seed", "risk_weight")
# the tiny configuration: the defaults of the ``lem`` strategy's parameters
DEFAULTS: dict[str, Any] = {"horizon": 12, "lookback": 24, "hidden": 16, "embedding": 4, "rnn_layers": 1, "heads": 2,
                            "mlp_hidden": 16, "alignment": "causal", "decision": "stop", "epochs": 2, "batch_size": 256,
                            "learning_rate": 1e-3, "max_samples": 20_000, "seed": 0,
                            "risk_weight": 1.0}
DEFAULT_TRAINING_EPOCHS = 6  # ``execbench train lem`` without --epochs (a preset may set its own)


def training_params(config: str, *, horizon: int, epochs: int | None = None,
                    params: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The architecture and training parameters of a new LEM: the defaults, then the preset ``config``,
    ``horizon`` and the user's ``params``, then ``epochs`` (default: the preset's, else 6).  Unknown
    names in ``params`` are a ``ParameterError`` that lists the valid ones."""
    if config not in PRESETS:
        raise ParameterError(f"--config {config!r}: expected one of {', '.join(PRESETS)}")
    params = dict(params or {})
    check_names(params, [*ARCHITECTURE, *TRAINING], "lem training")
    if "horizon" in params:
        raise ParameterError("lem training: set the horizon with --horizon, not --param horizon")
    preset = PRESETS[config]
    epochs = epochs if epochs is not None else params.pop("epochs", preset.get("epochs", DEFAULT_TRAINING_EPOCHS))
    values = {**DEFAULTS, **preset, "horizon": int(horizon), **params, "epochs": int(epochs)}
    return {k: values[k] for k in ARCHITECTURE}, {k: values[k] for k in TRAINING}
