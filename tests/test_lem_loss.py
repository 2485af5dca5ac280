"""The LEM loss: keras (JAX) == NumPy twin, agreement with the engine, differentiability."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import execbench as eb  # noqa: E402
from execbench.lem.loss import lem_loss, lem_loss_numpy, lem_slippage, lem_slippage_numpy  # noqa: E402

from test_engine import random_allocations, random_market  # noqa: E402


def lem_inputs(seed, batch=16, horizon=6):
    rng = np.random.default_rng(seed)
    grid = eb.scenario_grid(horizon)
    prices, volumes = random_market(rng, batch, horizon)
    alloc = random_allocations(rng, batch, horizon, len(grid))  # stops early at random bars
    return grid, prices, volumes, alloc


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_keras_loss_equals_numpy_twin(seed):
    _, prices, volumes, alloc = lem_inputs(seed)
    shaped, prices, volumes = (x.astype(np.float32) for x in (alloc.reshape(16, 6, 7, 4, 2), prices, volumes))
    d_keras = np.asarray(lem_slippage(shaped, prices, volumes))  # float32 on JAX
    np.testing.assert_allclose(d_keras, lem_slippage_numpy(shaped, prices, volumes), atol=5e-5)  # float32: 0.005 bps
    assert float(lem_loss(shaped, prices, volumes)) == pytest.approx(lem_loss_numpy(shaped, prices, volumes), rel=1e-5)


def test_slippage_matches_the_engine_with_hard_completion():
    grid, prices, volumes, alloc = lem_inputs(3, batch=40, horizon=8)
    engine = eb.replay(prices, volumes, alloc, grid)
    d = lem_slippage_numpy(alloc.reshape(40, 8, 9, 4, 2), prices, volumes, alpha=1e6)
    np.testing.assert_allclose(d.reshape(40, -1), engine.bps / 100.0, atol=2e-7)  # percent: EPS = 1e-9 in the sums


def gradient(fn, x: np.ndarray) -> np.ndarray:
    """d fn / d x with the active keras backend's own autodiff (``make test-backends`` runs this under
    TensorFlow and PyTorch too)."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(fn)(x))
    if backend == "tensorflow":
        import tensorflow as tf

        variable = tf.Variable(x)
        with tf.GradientTape() as tape:
            value = fn(variable)
        return tape.gradient(value, variable).numpy()
    if backend == "torch":
        import torch

        tensor = torch.tensor(x, requires_grad=True)
        fn(tensor).backward()
        return tensor.grad.numpy()
    pytest.skip(f"no gradient helper for keras backend {backend!r}")


def test_loss_is_differentiable_and_rewards_buying_before_a_rise():
    horizon = 4
    prices = np.array([[100.0, 101.0, 102.0, 103.0]])  # a steady rise
    volumes = np.ones((1, horizon))
    early = np.zeros((1, horizon, horizon + 1, 4, 2))
    early[:, :, :, 0:2, :] = np.array([1.0, 0, 0, 0])[None, :, None, None, None]  # buys done in bar 1
    early[:, :, :, 2:4, :] = 0.25  # sells spread evenly
    late = early.copy()
    late[:, :, :, 0:2, :] = np.array([0, 0, 0, 1.0])[None, :, None, None, None]  # buys at the top
    assert lem_loss_numpy(early, prices, volumes) < lem_loss_numpy(late, prices, volumes)
    grad = gradient(lambda a: lem_loss(a, prices, volumes), early.astype(np.float32))
    assert np.isfinite(grad).all() and np.abs(grad).sum() > 0
