"""LEM checkpoints: weights only (``lem.weights.npz``, float32), ``config.json`` (architecture, training
set-up, features, normalisation, data, split, loss and metric curves, time, command) and
``training_curve.csv``.  ``save_checkpoint`` writes each file once and returns the paths."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from execbench.errors import StrategyError
from execbench.lem.features import NORMALISER, RETURN_SCALE, feature_names
from execbench.lem.training import METRICS, TrainedLEM, build_model

WEIGHTS, CONFIG, CURVE = "lem.weights.npz", "config.json", "training_curve.csv"


def save_checkpoint(trained: TrainedLEM, out_dir: str | Path, extra: dict[str, Any] | None = None) -> list[Path]:
    """Write ``trained`` as a checkpoint folder; ``extra`` (e.g. the command) is added to ``config.json``."""
    import pandas as pd  # the training curve as CSV

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / WEIGHTS
    arrays = trained.model.get_weights()
    np.savez_compressed(weights, **{f"w{i:03d}": np.asarray(w, dtype=np.float32) for i, w in enumerate(arrays)})
    config = {"architecture": dict(trained.architecture), "training": dict(trained.training),
              "features": list(feature_names(trained.calendar)), "calendar": trained.calendar,
              "normalisation": f"volume / mean of the {NORMALISER} bars before the sequence; "
                               f"{RETURN_SCALE:g} × log returns of bar VWAPs",
              "trained_on": trained.trained_on, "history": trained.history}
    if trained.training_seconds is not None:
        config["training_seconds"] = round(trained.training_seconds, 1)
    config.update(extra or {})
    (out_dir / CONFIG).write_text(json.dumps(config, indent=1) + "\n")
    curve = out_dir / CURVE
    order = [k for base in ("loss", *METRICS) for k in (base, "val_" + base) if k in trained.history]
    pd.DataFrame(trained.history)[order].rename(index=lambda i: i + 1).rename_axis("epoch").to_csv(curve)
    return [weights, out_dir / CONFIG, curve]


def read_config(path: str | Path) -> dict[str, Any]:
    """A checkpoint's ``config.json``, checked to be one this version reads."""
    path = Path(path)
    if not (path / CONFIG).is_file():
        raise StrategyError(f"strategy 'lem': no checkpoint at {path} (train one with `execbench train lem`, or "
                            f"pass --param checkpoint=none to train during the run)")
    config = json.loads((path / CONFIG).read_text())
    if "alignment" not in config.get("architecture", {}):
        raise StrategyError(f"strategy 'lem': {path}/{CONFIG} is from an older LEM (no 'alignment' in its "
                            "architecture); retrain it with `execbench train lem`")
    config["architecture"].setdefault("decision", "rate")  # checkpoints from before stop blocks
    return config


@dataclass(frozen=True, eq=False)
class CheckpointWeights:
    """A checkpoint's weights as read once: the file, its arrays in the model's order and the sha256 of its
    bytes (what the stepwise LEM's exported programs are keyed by: the model is built from these arrays)."""

    path: Path
    arrays: tuple[np.ndarray, ...]
    digest: str

    def __repr__(self) -> str:
        return f"CheckpointWeights({self.path}, {len(self.arrays)} arrays, sha256 {self.digest[:12]})"


def read_weights(path: str | Path) -> CheckpointWeights:
    """The weights of the checkpoint at ``path`` (a folder), read once; a missing or unreadable file is a
    ``StrategyError`` that names it."""
    file = Path(path) / WEIGHTS
    try:
        blob = file.read_bytes()
        with np.load(io.BytesIO(blob)) as stored:
            arrays = tuple(stored[k] for k in sorted(stored.files))
    except FileNotFoundError:
        raise StrategyError(f"strategy 'lem': {file} is missing (the checkpoint's weights)") from None
    except Exception as exc:  # noqa: BLE001 - whatever a damaged file raises (BadZipFile, ValueError ...)
        raise StrategyError(f"strategy 'lem': cannot read {file}: {type(exc).__name__}: {exc}") from None
    return CheckpointWeights(path=file, arrays=arrays, digest=hashlib.sha256(blob).hexdigest())


def load_checkpoint(path: str | Path, config: dict[str, Any] | None = None,
                    weights: CheckpointWeights | None = None) -> TrainedLEM:
    """The ``TrainedLEM`` saved at ``path`` (``config``: its ``read_config``, ``weights``: its ``read_weights``,
    if already read)."""
    path = Path(path)
    config = config or read_config(path)
    weights = weights or read_weights(path)
    model = build_model(config["architecture"], config["calendar"], for_weights=True)
    try:
        model.set_weights(list(weights.arrays))
    except ValueError as exc:
        raise StrategyError(f"strategy 'lem': {weights.path} does not fit the architecture of {path}/{CONFIG}: "
                            f"{exc}") from None
    return TrainedLEM(architecture=config["architecture"], training=config.get("training", {}),
                      calendar=config["calendar"], model=model, history=config.get("history", {}),
                      trained_on=config.get("trained_on"), training_seconds=config.get("training_seconds"))
