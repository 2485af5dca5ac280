"""Stepwise LEM inference: one bar at a time, carrying the recurrent state and an attention cache.

The framework shows an adaptive strategy the bars before execution bar s only.  Running the whole
model once per bar with the later bars masked costs T full passes; the model is causal, so the same
decisions come from one pass over the history (``start``), then, before each execution bar, one new
sequence position (``observe``: the TKAN cells stepped once, the new position's attention over the
cached ones) and one decision block (``decide``).  ``LargeExecutionModel.call`` and this module run
the same layers and the same ``decide``; ``tests/test_lem_stepwise.py`` holds them equal.

On JAX every function is compiled once per batch shape (rows are padded to a multiple of ``ROWS``);
on the other keras backends it runs eagerly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from execbench.lem.backend import keras_backend

keras = keras_backend()  # keras on JAX unless KERAS_BACKEND says otherwise, with JAX's compilation cache
from keras import ops  # noqa: E402

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


def _compile(function, static: tuple[int, ...] = ()):
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(function, static_argnums=static)
    return function


def _pad(array: np.ndarray, rows: int) -> np.ndarray:
    return np.concatenate([array, np.zeros((rows - len(array), *array.shape[1:]), array.dtype)])


class StepwiseLEM:
    """Run a trained ``LargeExecutionModel`` bar by bar (see the module docstring)."""

    def __init__(self, model) -> None:
        self.model = model
        self.positions = model.lookback + model.horizon - 1
        self._start = _compile(self._start_fn)
        self._observe = _compile(self._observe_fn)
        self._decide = _compile(model.decide, static=(0,))

    # -- the compiled pieces ------------------------------------------------------------------------------
    def _attend(self, enriched, cache, position):
        visible = ops.arange(self.positions) <= position
        mask = ops.broadcast_to(visible[None, None, :], (ops.shape(cache)[0], 1, self.positions))
        return self.model.attention(enriched, cache, attention_mask=mask)[:, 0]

    def _start_fn(self, history):
        m = self.model
        batch, lookback = ops.shape(history)[0], history.shape[1]
        selected = m.select(history)
        hidden, states = selected, []
        for rnn in m.rnn:
            initial = rnn.cell.get_initial_state(batch_size=batch)
            _, hidden, state = rnn.inner_loop(hidden, initial, None)
            states.append(list(state))
        enriched = m.enrich_positions(hidden, selected)
        cache = ops.concatenate([enriched, ops.zeros((batch, self.positions - lookback, enriched.shape[-1]),
                                                     dtype=enriched.dtype)], axis=1)
        # the carry's zeros and ones here, in this one program; its ``sigma`` in ``start``, op by op as
        # ``initial_carry`` computes it (compiled together, XLA rounds the mean differently: 1 ulp)
        carry = m.initial_carry(history, "float32", sigma=False)
        return states, cache, self._attend(enriched[:, -1:], cache, lookback - 1), carry

    def _observe_fn(self, row, states, cache, position):
        m = self.model
        selected = m.select(row[:, None, :])
        hidden, new_states = selected[:, 0], []
        for rnn, state in zip(m.rnn, states, strict=True):
            hidden, state = rnn.cell(hidden, state)
            new_states.append(list(state))
        enriched = m.enrich_positions(hidden[:, None, :], selected)
        cache = ops.slice_update(cache, (0, position, 0), enriched)
        return new_states, cache, self._attend(enriched, cache, position)

    # -- the public steps ---------------------------------------------------------------------------------
    def start(self, history: np.ndarray, rates: np.ndarray) -> StepState:
        """The history positions (n, L, F) and each order's (min, max) rate (n, 2): the state before bar 0."""
        n = len(history)
        rows = max(ROWS, -(-n // ROWS) * ROWS)
        history, rates = _pad(history.astype("float32"), rows), _pad(rates.astype("float32"), rows)
        states, cache, context, carry = self._start(history)
        carry.update(self.model.sigma_carry(history, "float32"))
        return StepState(n=n, step=0, position=history.shape[1] - 1, rnn_states=states, cache=cache,
                         context=context, features=history[:, -1], rates=rates, carry=carry)

    def observe(self, state: StepState, row: np.ndarray) -> None:
        """Add the next sequence position (n, F): the bar just before ``state.step``."""
        features = _pad(row.astype("float32"), len(state.rates))
        position = state.position + 1
        state.rnn_states, state.cache, state.context = self._observe(features, state.rnn_states, state.cache,
                                                                     np.int32(position))
        state.position, state.features = position, features

    def decide(self, state: StepState) -> np.ndarray:
        """The allocation (n, T+1, 4, 2) for execution bar ``state.step`` (< T−1); advances the state."""
        if state.position != self.model.lookback - 1 + state.step:
            raise ValueError(f"StepwiseLEM: decision {state.step} needs sequence position "
                             f"{self.model.lookback - 1 + state.step}, the state is at {state.position}")
        alloc, state.carry = self._decide(state.step, state.context, state.features, state.rates, state.carry)
        state.step += 1
        return np.asarray(alloc)[:state.n].reshape(state.n, self.model.n_periods, 4, 2)
