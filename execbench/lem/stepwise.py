"""Stepwise LEM inference: one bar at a time, carrying the recurrent state and an attention cache.

The framework shows an adaptive strategy the bars before execution bar s only.  Running the whole
model once per bar with the later bars masked costs T full passes; the model is causal, so the same
decisions come from one pass over the history (``start``), then, before each execution bar, one new
sequence position (``observe``: the TKAN cells stepped once, the new position's attention over the
cached ones) and one decision block (``decide``).  ``LargeExecutionModel.call`` and this module run
the same layers and the same ``decide``; ``tests/test_lem_stepwise.py`` holds them equal.

The programs come from ``execbench.lem.programs``: traced from the keras model (``TracedPrograms``,
compiled once per batch shape on JAX, eager on the other backends) or exported from it and kept in the
user cache (``ExportedPrograms``).  This module itself imports neither keras nor JAX.  Rows are padded to
a multiple of ``ROWS``, so few shapes are compiled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

ROWS = 32  # batches are zero-padded to a multiple of this, so few shapes are compiled


@dataclass
class StepState:
    """Where one batch of orders stands: ``step`` is the next decision's execution bar."""

    n: int  # real rows (the rest is padding)
    step: int
    position: int  # the last sequence position seen
    rnn_states: Any
    cache: Any  # (B, L+T−1, H) enriched positions, zero beyond ``position``
    context: Any  # (B, H) attention output at ``position``
    features: Any  # (B, F) the features at ``position``
    rates: Any
    carry: dict


def _pad(array: np.ndarray, rows: int) -> np.ndarray:
    return np.concatenate([array, np.zeros((rows - len(array), *array.shape[1:]), array.dtype)])


class StepwiseLEM:
    """Run a trained LEM bar by bar (see the module docstring): ``programs`` is a ``TracedPrograms`` or an
    ``ExportedPrograms`` (``execbench.lem.programs``)."""

    def __init__(self, programs) -> None:
        self.programs = programs
        self.shape = programs.shape

    # -- the public steps ---------------------------------------------------------------------------------
    def start(self, history: np.ndarray, rates: np.ndarray) -> StepState:
        """The history positions (n, L, F) and each order's (min, max) rate (n, 2): the state before bar 0."""
        n = len(history)
        rows = max(ROWS, -(-n // ROWS) * ROWS)
        history, rates = _pad(history.astype("float32"), rows), _pad(rates.astype("float32"), rows)
        states, cache, context, carry = self.programs.start(history)
        if self.shape.decision == "stop":  # the squares here, as ``lookback_sigma`` takes them of NumPy input
            returns = history[:, :self.shape.lookback, 1]
            carry["sigma"] = self.programs.sigma(returns * returns)
        return StepState(n=n, step=0, position=history.shape[1] - 1, rnn_states=states, cache=cache,
                         context=context, features=history[:, -1], rates=rates, carry=carry)

    def observe(self, state: StepState, row: np.ndarray) -> None:
        """Add the next sequence position (n, F): the bar just before ``state.step``."""
        features = _pad(row.astype("float32"), len(state.rates))
        position = state.position + 1
        state.rnn_states, state.cache, state.context = self.programs.observe(features, state.rnn_states,
                                                                             state.cache, np.int32(position))
        state.position, state.features = position, features

    def decide(self, state: StepState) -> np.ndarray:
        """The allocation (n, T+1, 4, 2) for execution bar ``state.step`` (< T−1); advances the state."""
        if state.position != self.shape.lookback - 1 + state.step:
            raise ValueError(f"StepwiseLEM: decision {state.step} needs sequence position "
                             f"{self.shape.lookback - 1 + state.step}, the state is at {state.position}")
        alloc, state.carry = self.programs.decide(state.step, state.context, state.features, state.rates, state.carry)
        state.step += 1
        return np.asarray(alloc)[:state.n].reshape(state.n, self.shape.n_periods, 4, 2)
