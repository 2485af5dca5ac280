"""The checkpoint of a policy trained in ``ExecutionEnv``: weights (arrays by name) in ``weights.npz``,
and in ``config.json`` the model, the environment (T, lookback), the training configuration, what it
was trained on and the training history."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from execbench.errors import StrategyError

WEIGHTS_FILE, CONFIG_FILE = "weights.npz", "config.json"


@dataclass(frozen=True, eq=False)
class PolicyCheckpoint:
    """Trained weights, the environment they were trained for, the training configuration, what they
    were trained on and the per-iteration history.  Subclasses name their ``MODEL``."""

    MODEL: ClassVar[str] = "policy"

    weights: dict[str, np.ndarray]
    horizon: int
    lookback: int
    config: dict[str, Any]
    trained_on: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float | None = None

    def __repr__(self) -> str:
        iterations = len(next(iter(self.history.values()), []))
        return (f"{type(self).__name__}(T={self.horizon}, lookback={self.lookback}, hidden={self.config.get('hidden')}, "
                f"seed={self.config.get('seed')}, {iterations} iterations)")

    def save(self, folder: str | Path, extra: dict | None = None) -> list[Path]:
        """Write ``weights.npz`` and ``config.json`` into ``folder`` (created)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / WEIGHTS_FILE, **{k: np.asarray(v, np.float32) for k, v in self.weights.items()})
        config = {"model": self.MODEL, "horizon": self.horizon, "lookback": self.lookback, "config": self.config,
                  "trained_on": self.trained_on, "history": self.history, "seconds": self.seconds, **(extra or {})}
        (folder / CONFIG_FILE).write_text(json.dumps(config, indent=1, default=str) + "\n")
        return [folder / WEIGHTS_FILE, folder / CONFIG_FILE]

    @classmethod
    def load(cls, folder: str | Path):
        """Read what ``save`` wrote (a one-line error when the folder is not this model's checkpoint)."""
        folder = Path(folder)
        if not (folder / WEIGHTS_FILE).is_file() or not (folder / CONFIG_FILE).is_file():
            raise StrategyError(f"{cls.MODEL} checkpoint {folder}: expected {WEIGHTS_FILE} and {CONFIG_FILE} in it")
        config = json.loads((folder / CONFIG_FILE).read_text())
        if config.get("model") != cls.MODEL:
            raise StrategyError(f"{cls.MODEL} checkpoint {folder}: {CONFIG_FILE} is for model {config.get('model')!r}, "
                                f"not {cls.MODEL!r}")
        with np.load(folder / WEIGHTS_FILE) as stored:
            weights = {k: stored[k] for k in stored.files}
        return cls(weights=weights, horizon=int(config["horizon"]), lookback=int(config["lookback"]),
                   config=config["config"], trained_on=config.get("trained_on", {}),
                   history=config.get("history", {}), seconds=config.get("seconds"))
