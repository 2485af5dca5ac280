"""What the LEM strategy adapters share (``lem`` and ``lem-upstream``): one rate pair per grid, the
scenarios a model cannot trade, fixed-shape prediction, and model output → engine allocations."""

from __future__ import annotations

import numpy as np

from execbench.contracts import ContractSpec, ScenarioGrid, grid_position
from execbench.errors import StrategyError


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
    full = out.reshape(n, horizon, -1).astype(np.float64)  # the full grid's order (grid_position)
    alloc = np.clip(full[:, :, [grid_position(spec) for spec in grid.specs]], 0.0, None)
    alloc[:, -1, :] = 1.0 - alloc[:, :-1, :].sum(axis=1)
    return alloc
