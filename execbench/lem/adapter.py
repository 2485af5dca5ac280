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


COMPLETE = 1e-6  # a residue of the order this small is the float32 noise of the model's soft clip: trade it now


def settle(alloc: np.ndarray, remaining: np.ndarray) -> np.ndarray:
    """One bar's allocations (n, S) in float64, clipped to [0, remaining]; where that would leave at most
    ``COMPLETE`` of the order, the whole remainder is traded.  Without this, float32 residues of about
    1e-8 would extend about a quarter of the realised windows to bar T, and which ones would depend on
    the order of float sums (stepwise and whole-sequence inference disagreed on 1 % of the cells)."""
    alloc = np.clip(alloc, 0.0, remaining)
    return np.where(remaining - alloc <= COMPLETE, remaining, alloc)


def grid_allocations(out: np.ndarray, grid: ScenarioGrid) -> np.ndarray:
    """LEM output (n, T, T+1, 4, 2) → engine allocations (n, T, scenarios) for ``grid``, bar by bar in
    float64 (``settle``); the last bar takes the remainder (the model's own rule), so each path sums
    to 1 exactly."""
    n, horizon = out.shape[:2]
    full = out.reshape(n, horizon, -1).astype(np.float64)  # the full grid's order (grid_position)
    raw = full[:, :, [grid_position(spec) for spec in grid.specs]]
    alloc = np.zeros_like(raw)
    remaining = np.ones((n, raw.shape[2]))
    for s in range(horizon - 1):
        alloc[:, s] = settle(raw[:, s], remaining)
        remaining = remaining - alloc[:, s]
    alloc[:, -1] = remaining
    return alloc
