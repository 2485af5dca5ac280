"""The stepwise LEM's exported programs: bit-identical to the traced ones, served without the keras model once
exported, exported again when a file is damaged or is another program's, and used by a checkpoint's strategy."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from execbench.lem.presets import DEFAULTS  # noqa: E402
from execbench.lem.programs import SUFFIX, ExportedPrograms, StepShape, TracedPrograms, exportable  # noqa: E402
from execbench.lem.stepwise import StepwiseLEM  # noqa: E402
from execbench.lem.training import build_model  # noqa: E402

pytestmark = pytest.mark.skipif(not exportable(), reason="keras on JAX and flatbuffers are needed to export")

LOOKBACK, HORIZON = 6, 5
TINY = {**DEFAULTS, "lookback": LOOKBACK, "horizon": HORIZON, "hidden": 8, "mlp_hidden": 8}


def _model(decision: str):
    model = build_model({**TINY, "decision": decision}, "continuous")
    for bias in model.stop_biases:  # stop about half the paths, so the stop blocks' branch is exercised
        bias.assign(np.zeros(bias.shape, "float32"))
    return model


def _play(programs, n: int = 5, seed: int = 0) -> list[np.ndarray]:
    """Every decision of ``n`` random orders, bar by bar."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, LOOKBACK + HORIZON - 1, 5)).astype("float32")
    rates = np.tile(np.array([[0.0, 0.5]], "float32"), (n, 1))
    stepper = StepwiseLEM(programs)
    state = stepper.start(features[:, :LOOKBACK], rates)
    out = []
    for step in range(HORIZON - 1):
        if step:
            stepper.observe(state, features[:, LOOKBACK - 1 + step])
        out.append(stepper.decide(state))
    return out


class Factory:
    """The traced programs of ``model``, counting how often the exported programs asked for them."""

    def __init__(self, model):
        self.model, self.calls = model, 0

    def __call__(self) -> TracedPrograms:
        self.calls += 1
        return TracedPrograms(self.model)


def _refuse() -> TracedPrograms:
    raise AssertionError("the exported programs needed the keras model")


def _bits(decisions: list[np.ndarray]) -> list[np.ndarray]:
    return [d.view(np.uint32) for d in decisions]


@pytest.fixture(scope="module")
def stop_programs(tmp_path_factory):
    """A stop-block model, its traced decisions and a folder of its exported programs."""
    model = _model("stop")
    folder = tmp_path_factory.mktemp("programs")
    traced = _play(TracedPrograms(model))
    factory = Factory(model)
    exported = _play(ExportedPrograms(folder, StepShape(LOOKBACK, HORIZON, "stop"), factory))
    return model, traced, folder, exported, factory.calls


def _exported_equal_traced(folder, model, traced, exported, calls, decision):
    assert calls == 1
    np.testing.assert_array_equal(_bits(exported), _bits(traced))
    names = {p.name.removesuffix(SUFFIX) for p in folder.iterdir()}
    expected = {"start-32", "observe-32", *(f"decide{s}-32" for s in range(HORIZON - 1))}
    assert names == expected | ({"sigma-32"} if decision == "stop" else set())
    kept = _play(ExportedPrograms(folder, StepShape(LOOKBACK, HORIZON, decision), _refuse))  # the files alone
    np.testing.assert_array_equal(_bits(kept), _bits(traced))


def test_exported_programs_equal_the_traced_ones_bit_for_bit_and_need_no_model_once_kept(stop_programs):
    model, traced, folder, exported, calls = stop_programs
    _exported_equal_traced(folder, model, traced, exported, calls, "stop")


@pytest.mark.slow  # make test-slow (CI runs it after make test): rate blocks, which have no sigma program
def test_exported_rate_blocks_equal_the_traced_ones_bit_for_bit(tmp_path):
    model = _model("rate")
    factory = Factory(model)
    exported = _play(ExportedPrograms(tmp_path, StepShape(LOOKBACK, HORIZON, "rate"), factory))
    _exported_equal_traced(tmp_path, model, _play(TracedPrograms(model)), exported, factory.calls, "rate")


def test_a_damaged_file_or_another_programs_file_is_exported_again(stop_programs, tmp_path):
    import shutil

    model, traced, kept, _, _ = stop_programs
    folder = tmp_path / "programs"
    shutil.copytree(kept, folder)
    shape = StepShape(LOOKBACK, HORIZON, "stop")
    (folder / f"start-32{SUFFIX}").write_bytes(b"not an exported program")
    (folder / f"decide2-32{SUFFIX}").write_bytes((folder / f"decide1-32{SUFFIX}").read_bytes())  # other inputs
    factory = Factory(model)
    again = _play(ExportedPrograms(folder, shape, factory))
    assert factory.calls == 1
    np.testing.assert_array_equal(_bits(again), _bits(traced))
    np.testing.assert_array_equal(_bits(_play(ExportedPrograms(folder, shape, _refuse))), _bits(traced))
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in kept.iterdir())  # no partial file


def test_a_file_with_flipped_bits_or_from_another_folder_is_exported_again(stop_programs, tmp_path):
    """Files that still deserialise: a few bytes changed inside the weights, or the same program of another
    checkpoint (another folder): their header and hash do not match, so they are exported again."""
    import shutil

    model, traced, kept, _, _ = stop_programs
    shape = StepShape(LOOKBACK, HORIZON, "stop")
    folder = tmp_path / "programs"
    shutil.copytree(kept, folder)
    damaged = bytearray((folder / f"decide0-32{SUFFIX}").read_bytes())
    middle = len(damaged) // 2
    damaged[middle:middle + 3] = bytes(b ^ 0xFF for b in damaged[middle:middle + 3])
    (folder / f"decide0-32{SUFFIX}").write_bytes(bytes(damaged))
    elsewhere = tmp_path / "another-checkpoint"
    shutil.copytree(kept, elsewhere)
    other = _model("stop")
    other.set_weights([w * 1.5 for w in other.get_weights()])
    factory = Factory(other)
    _play(ExportedPrograms(elsewhere / "x", shape, factory))  # another model's programs, in another folder
    shutil.copy(elsewhere / "x" / f"decide3-32{SUFFIX}", folder / f"decide3-32{SUFFIX}")
    factory = Factory(model)
    np.testing.assert_array_equal(_bits(_play(ExportedPrograms(folder, shape, factory))), _bits(traced))
    assert factory.calls == 1
    np.testing.assert_array_equal(_bits(_play(ExportedPrograms(folder, shape, _refuse))), _bits(traced))


def test_a_checkpoints_strategy_runs_from_kept_programs_without_building_its_model(tmp_path, monkeypatch):
    """A LEM from a checkpoint exports its programs on first use; a second one finds them all and never builds
    the keras model; both allocate as the traced programs do (caching off), bit for bit; other weights get
    another folder."""
    import execbench as eb
    from execbench.lem.checkpoint import save_checkpoint
    from execbench.lem.training import TrainedLEM
    from execbench.orders import build_order_windows
    from execbench.strategy.registry import load_strategy

    architecture = {k: TINY[k] for k in ("horizon", "lookback", "hidden", "embedding", "rnn_layers", "heads",
                                         "mlp_hidden", "alignment", "decision")}
    architecture["horizon"] = 6  # the scenario grid's
    trained = TrainedLEM(architecture=architecture, training={}, calendar="continuous",
                         model=build_model(architecture, "continuous"), history={"loss": [1.0]},
                         trained_on={"asset": "BTCUSDT", "freq": "15m", "datasets": [{"asset": "BTCUSDT", "freq": "15m"}]})
    checkpoint = tmp_path / "ckpt"
    save_checkpoint(trained, checkpoint)
    bars = eb.load_bars("BTCUSDT")
    windows = build_order_windows(bars, 6, start="2026-04-01", min_history=load_strategy(
        "lem", checkpoint=str(checkpoint)).lookback).subset(slice(0, 20))
    grid = eb.scenario_grid(6)
    monkeypatch.setenv("EXECBENCH_CACHE_DIR", str(tmp_path / "cache"))
    first = load_strategy("lem", checkpoint=str(checkpoint))
    exported = eb.run_strategy(first, windows, grid)
    assert first._trained is None  # the export built a model of its own, from the weights it is keyed by
    folders = list((tmp_path / "cache" / "lem-programs").iterdir())
    names = {f.name.removesuffix(SUFFIX).rpartition("-")[0] for f in folders[0].iterdir()}
    assert len(folders) == 1 and names == {"start", "observe", "sigma", *(f"decide{s}" for s in range(5))}
    second = load_strategy("lem", checkpoint=str(checkpoint))
    kept = eb.run_strategy(second, windows, grid)
    assert second._trained is None and second.calendar == "continuous"  # never built
    monkeypatch.setenv("EXECBENCH_CACHE_DIR", "off")
    traced = eb.run_strategy(load_strategy("lem", checkpoint=str(checkpoint)), windows, grid)
    np.testing.assert_array_equal(exported.view(np.uint64), traced.view(np.uint64))
    np.testing.assert_array_equal(kept.view(np.uint64), traced.view(np.uint64))

    # the weights are overwritten (a retrain) after a strategy read them: it runs, and keys, the weights it read
    from execbench.lem.checkpoint import read_config, read_weights
    from execbench.lem.programs import programs_folder

    monkeypatch.setenv("EXECBENCH_CACHE_DIR", str(tmp_path / "cache"))
    before = load_strategy("lem", checkpoint=str(checkpoint))
    model = build_model(architecture, "continuous")
    model.set_weights([w + 1.0 for w in model.get_weights()])
    save_checkpoint(TrainedLEM(architecture=architecture, training={}, calendar="continuous", model=model,
                               history={"loss": [1.0]}), checkpoint)
    np.testing.assert_array_equal(eb.run_strategy(before, windows, grid).view(np.uint64), traced.view(np.uint64))
    assert programs_folder(read_weights(checkpoint).digest, read_config(checkpoint)) != folders[0]
    assert len(list((tmp_path / "cache" / "lem-programs").iterdir())) == 1


def test_a_checkpoint_with_unreadable_weights_is_a_clear_error_when_loaded(tmp_path):
    from execbench.errors import StrategyError
    from execbench.strategy.registry import load_strategy
    from execbench.strategies.lem import BUNDLED_CHECKPOINT

    checkpoint = tmp_path / "ckpt"
    checkpoint.mkdir()
    (checkpoint / "config.json").write_bytes((BUNDLED_CHECKPOINT / "config.json").read_bytes())
    with pytest.raises(StrategyError, match=r"lem.weights.npz is missing"):
        load_strategy("lem", checkpoint=str(checkpoint))
    (checkpoint / "lem.weights.npz").write_bytes(b"PK\x03\x04 not a zip file")
    with pytest.raises(StrategyError, match=r"cannot read .*ckpt/lem.weights.npz: BadZipFile"):
        load_strategy("lem", checkpoint=str(checkpoint))
