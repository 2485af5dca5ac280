"""The LEM keras model (tiny configuration): shape, budget, rates, causality, save/load, learning."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

LOOKBACK, HORIZON, FEATURES = 6, 4, 5
SEQUENCE = LOOKBACK + HORIZON - 1


def tiny_model(decision="rate"):
    from execbench.lem.model import LargeExecutionModel

    return LargeExecutionModel(lookback=LOOKBACK, horizon=HORIZON, n_features=FEATURES, hidden=8, embedding=4,
                               heads=2, mlp_hidden=8, decision=decision)


def coin_flip_stops(model) -> None:
    """Stop logits around 0 instead of the untrained STOP_BIAS, so that about half the paths stop."""
    for bias in model.stop_biases:
        bias.assign(np.zeros(bias.shape, "float32"))


@pytest.fixture(scope="module")
def model_and_inputs():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(32, SEQUENCE, FEATURES)).astype("float32")
    rates = np.tile(np.array([[1 / HORIZON**2, 1.0]], "float32"), (32, 1))
    model = tiny_model()
    return model, features, rates, model.predict([features, rates], verbose=0, batch_size=32)


def test_output_shape_budget_and_rates(model_and_inputs):
    _, _, _, out = model_and_inputs
    assert out.shape == (32, HORIZON, HORIZON + 1, 4, 2)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)  # the last bar takes the remainder
    remaining = 1.0 - np.concatenate([np.zeros_like(out[:, :1]), np.cumsum(out, axis=1)[:, :-1]], axis=1)
    floor = np.minimum(1 / HORIZON**2, remaining)
    assert (out >= floor - 1e-5).all() and (out <= 1.0 + 1e-5).all()


def test_decisions_do_not_see_their_own_bar(model_and_inputs):
    model, features, rates, out = model_and_inputs
    rng = np.random.default_rng(1)
    for step in range(HORIZON - 1):
        changed = features.copy()
        changed[:, LOOKBACK + step:] += rng.normal(0, 1.0, changed[:, LOOKBACK + step:].shape).astype("float32")
        again = model.predict([changed, rates], verbose=0, batch_size=32)
        # decisions for bars 0..step read positions < LOOKBACK + step only
        np.testing.assert_allclose(again[:, :step + 1], out[:, :step + 1], atol=1e-6)
        if step < HORIZON - 2:  # the next decision does read this position (the last bar is the remainder)
            assert not np.allclose(again[:, step + 1], out[:, step + 1], atol=1e-6)


def test_weights_round_trip(model_and_inputs, tmp_path):
    model, features, rates, out = model_and_inputs
    path = tmp_path / "lem.weights.h5"
    model.save_weights(path)
    other = tiny_model()
    other([features[:1], rates[:1]])  # build
    other.load_weights(path)
    np.testing.assert_array_equal(other.predict([features, rates], verbose=0, batch_size=32), out)


def test_one_epoch_of_training_lowers_the_loss():
    import keras

    from execbench.lem.loss import lem_loss

    rng = np.random.default_rng(2)
    n = 64
    prices = (100 * np.exp(np.cumsum(rng.normal(0, 2e-3, (n, HORIZON)), axis=1))).astype("float32")
    volumes = rng.gamma(2.0, 1.0, (n, HORIZON)).astype("float32")
    features = rng.normal(size=(n, SEQUENCE, FEATURES)).astype("float32")
    rates = np.tile(np.array([[1 / HORIZON**2, 1.0]], "float32"), (n, 1))
    keras.utils.set_random_seed(0)
    model = tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=lambda y, p: lem_loss(p, y[..., 0], y[..., 1]))
    target = np.stack([prices, volumes], axis=-1)
    history = model.fit([features, rates], target, epochs=4, batch_size=32, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert losses[-1] < losses[0], losses


def test_weights_load_into_a_placeholder_build(model_and_inputs):
    """The fast build used for checkpoints (from the shapes, zero placeholders) takes the weights exactly, and
    the random initializers are back afterwards."""
    from execbench.lem.model import build_weights, placeholder_initializers

    model, features, rates, out = model_and_inputs
    other = tiny_model()
    with placeholder_initializers():
        build_weights(other, SEQUENCE, FEATURES)
    assert not any(np.any(np.asarray(w)) for w in other.get_weights()[:3])  # placeholders, not random draws
    recurrent = [w for w in other.weights if "recurrent" in w.path]  # TKAN's orthogonal initializer
    assert recurrent and not any(np.any(np.asarray(w)) for w in recurrent)
    other.set_weights(model.get_weights())
    np.testing.assert_array_equal(other.predict([features, rates], verbose=0, batch_size=32), out)
    fresh = tiny_model()
    build_weights(fresh, SEQUENCE, FEATURES)
    assert any(np.any(np.asarray(w)) for w in fresh.get_weights()[:3])
    assert all(np.any(np.asarray(w)) for w in fresh.weights if "recurrent" in w.path)  # random draws again
    gammas = [np.asarray(w) for w in fresh.weights if w.path.endswith("gamma")]  # LayerNormalization's Ones
    assert gammas and all((g == 1.0).all() for g in gammas)


def test_stop_blocks_finish_the_remainder_where_the_expected_policy_stops():
    """Inference follows the training output's continuation allocations up to the first bar with
    p > ½, trades the whole remainder there and nothing after."""
    rng = np.random.default_rng(3)
    features = rng.normal(size=(64, SEQUENCE, FEATURES)).astype("float32")
    rates = np.tile(np.array([[1 / HORIZON**2, 1.0]], "float32"), (64, 1))
    model = tiny_model("stop")
    model([features[:1], rates[:1]])
    coin_flip_stops(model)
    hard = np.asarray(model([features, rates]))
    trained = np.asarray(model([features, rates], training=True))
    assert trained.shape == (*hard.shape, 2)
    cont, p = trained[..., 0], trained[..., 1]
    first = np.argmax(p > 0.5, axis=1)  # p = 1 on the last bar
    assert 0 < (first < HORIZON - 1).mean() < 1  # some paths stop early, some do not
    bars = np.arange(HORIZON)[None, :, None, None, None]
    before = np.cumsum(cont, axis=1) - cont
    expected = np.where(bars < first[:, None], cont, np.where(bars == first[:, None], 1.0 - before, 0.0))
    np.testing.assert_allclose(hard, expected, atol=1e-5)


def test_keras_is_imported_without_its_unused_plotting_and_notebook_imports():
    """``keras_backend`` keeps keras' optional IPython and matplotlib imports out (0.5 s); both still import
    afterwards, and the finder is gone from ``sys.meta_path``."""
    import subprocess
    import sys

    code = ("import sys; from execbench.lem.backend import keras_backend, _KerasSkips; keras_backend(); "
            "assert not [m for m in sys.modules if m.split('.')[0] in ('IPython', 'matplotlib')], 'imported'; "
            "assert not any(isinstance(f, _KerasSkips) for f in sys.meta_path); "
            "import matplotlib.pyplot; import keras.src.visualization.plot_image_gallery as g; print(g.plt is None)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr[-2000:]


def test_the_keras_skips_refuse_keras_alone():
    """Only imports made by keras' own modules are refused (the importer's module name decides), so code
    importing matplotlib elsewhere while keras is imported (another thread) is not."""
    from execbench.lem.backend import _KerasSkips

    skips = _KerasSkips()
    assert skips.find_spec("matplotlib.pyplot") is None and skips.find_spec("numpy") is None
    as_keras = {"__name__": "keras.src.visualization.plot_image_gallery", "skips": skips}
    with pytest.raises(ModuleNotFoundError, match="matplotlib"):
        exec("skips.find_spec('matplotlib')", as_keras)
    exec("found = skips.find_spec('jax')", as_keras)
    assert as_keras["found"] is None
