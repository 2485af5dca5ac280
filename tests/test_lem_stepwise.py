"""Stepwise LEM inference equals the whole-sequence model, and the float64 settling of its output."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from execbench.lem.adapter import COMPLETE, settle  # noqa: E402
from execbench.lem.presets import DEFAULTS  # noqa: E402
from execbench.lem.programs import TracedPrograms  # noqa: E402
from execbench.lem.stepwise import StepwiseLEM  # noqa: E402
from execbench.lem.training import build_model  # noqa: E402


@pytest.mark.parametrize("rnn_layers,n,decision", [(1, 5, "rate"), pytest.param(2, 40, "stop", marks=pytest.mark.slow)])
def test_stepwise_inference_equals_the_whole_sequence_model(rnn_layers, n, decision):
    """Random weights and inputs, one and two TKAN layers, a batch that needs padding, rate and stop
    blocks (stopping about half the paths): decision s from the history plus positions up to L−1+s
    equals row s of one whole-sequence pass."""
    architecture = {**DEFAULTS, "lookback": 6, "horizon": 5, "hidden": 8, "rnn_layers": rnn_layers,
                    "decision": decision}
    model = build_model(architecture, "continuous")
    for bias in model.stop_biases:
        bias.assign(np.zeros(bias.shape, "float32"))
    rng = np.random.default_rng(rnn_layers)
    features = rng.normal(size=(n, 6 + 5 - 1, model.n_features)).astype("float32")
    rates = np.tile(np.array([[0.0, 0.5]], "float32"), (n, 1))
    whole = np.asarray(model((features, rates)))
    stepper = StepwiseLEM(TracedPrograms(model))
    state = stepper.start(features[:, :6], rates)
    for step in range(4):
        if step:
            stepper.observe(state, features[:, 5 + step])
        np.testing.assert_allclose(stepper.decide(state), whole[:, step], atol=1e-5)
    fresh = stepper.start(features[:, :6], rates)
    stepper.decide(fresh)
    with pytest.raises(ValueError, match="needs sequence position"):  # bar 1 decided without seeing bar 0
        stepper.decide(fresh)


def test_settle_trades_float_residues_at_once_and_keeps_real_ones():
    remaining = np.array([[1.0, 1.0, 0.3, 0.3]])
    model = np.array([[1.0 - 0.5 * COMPLETE, 1.0 - 3 * COMPLETE, 0.5, -0.1]])
    out = settle(model, remaining)
    # a residue of half the threshold is traded now; three times it is a real residue; above the
    # remainder is clipped to it; below zero is zero
    np.testing.assert_array_equal(out, [[1.0, 1.0 - 3 * COMPLETE, 0.3, 0.0]])
