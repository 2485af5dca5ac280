"""The LEM loss: keras (JAX) == NumPy twin, agreement with the engine, differentiability."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import execbench as eb  # noqa: E402
from execbench.lem.loss import (  # noqa: E402
    expected_stop_loss, expected_stop_loss_numpy, expected_stop_slippage, lem_loss, lem_loss_numpy, lem_slippage, lem_slippage_numpy,
    stop_paths_numpy)

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


def hard_stop_output(alloc: np.ndarray) -> np.ndarray:
    """A stop model's training output that is the hard allocation ``alloc`` (B, T, N, 4, 2): p = 1 on
    the bar each path finishes (and the last), 0 before; continuation = the allocation."""
    p = (1.0 - np.cumsum(alloc, axis=1) <= 1e-12).astype(np.float64)
    p[:, -1] = 1.0
    return np.stack([alloc, p], axis=-1)


@pytest.mark.parametrize("seed", [0, 1])
def test_expected_stop_loss_of_hard_stops_is_the_lem_loss(seed):
    _, prices, volumes, alloc = lem_inputs(seed)
    shaped = alloc.reshape(16, 6, 7, 4, 2)
    pred = hard_stop_output(shaped)
    assert expected_stop_loss_numpy(pred, prices, volumes) == pytest.approx(lem_loss_numpy(shaped, prices, volumes),
                                                                            rel=1e-12)


def test_expected_stop_loss_keras_equals_numpy_twin_and_mixes_the_stopping_bars():
    _, prices, volumes, alloc = lem_inputs(4)
    rng = np.random.default_rng(4)
    p = np.concatenate([rng.uniform(size=(16, 5, 7, 4, 2)), np.ones((16, 1, 7, 4, 2))], axis=1)
    pred = np.stack([alloc.reshape(16, 6, 7, 4, 2), p], axis=-1)
    paths, weights = stop_paths_numpy(pred)
    np.testing.assert_allclose(paths.sum(axis=2), 1.0, atol=1e-12)  # every stopping bar completes the order
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)  # the stopping bars' probabilities
    slow = lem_slippage_numpy(paths.reshape(16 * 6, 6, 7, 4, 2), np.repeat(prices, 6, axis=0),
                              np.repeat(volumes, 6, axis=0)).reshape(weights.shape)
    fast, fast_weights = expected_stop_slippage(*(x.astype(np.float32) for x in (pred, prices, volumes)))
    np.testing.assert_allclose(np.asarray(fast), slow, atol=5e-5)  # cumulative sums == one pass per stopping bar
    np.testing.assert_allclose(np.asarray(fast_weights), weights, atol=1e-6)
    expected = expected_stop_loss_numpy(pred, prices, volumes)
    as_float32 = (x.astype(np.float32) for x in (pred, prices, volumes))
    assert float(expected_stop_loss(*as_float32)) == pytest.approx(expected, rel=1e-5)
    hard = lem_loss_numpy(alloc.reshape(16, 6, 7, 4, 2), prices, volumes)
    assert expected != pytest.approx(hard, rel=1e-6)  # the random stops do change the loss


def test_risk_weight_scales_the_match_terms_only():
    _, prices, volumes, alloc = lem_inputs(5)
    shaped = alloc.reshape(16, 6, 7, 4, 2)
    d = lem_slippage_numpy(shaped, prices, volumes)
    terms = 16 * (6 * 2 * 2 + 4 * 2)  # PnL: 6 flexible slots × (VWAP, TWAP) × 2 targets; risk: 4 × 2
    risk = np.logaddexp(0.0, np.abs(d[:, -1])).sum() / terms
    base = lem_loss_numpy(shaped, prices, volumes)
    assert lem_loss_numpy(shaped, prices, volumes, risk_weight=3.0) == pytest.approx(base + 2.0 * risk, rel=1e-12)
    as_float32 = [x.astype(np.float32) for x in (shaped, prices, volumes)]
    assert float(lem_loss(*as_float32, risk_weight=3.0)) == pytest.approx(base + 2.0 * risk, rel=1e-5)
    pred = hard_stop_output(shaped)
    assert expected_stop_loss_numpy(pred, prices, volumes, risk_weight=3.0) == pytest.approx(base + 2.0 * risk,
                                                                                             rel=1e-12)
