"""Results too large for memory: ``Columns`` behave as the arrays they stand for, the stores give back
every order in its place whether in memory or on disk, and a run whose results are on disk writes the
same tables and results file without ever holding an (orders × scenarios) array."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import execbench as eb
from execbench.engine.replay.columns import Columns, RowTable, ScenarioTable, StoredRows, final_order
from execbench.engine.replay.store import MEMORY_ENV


def as_columns(array: np.ndarray) -> Columns:
    return Columns(array.shape, array.dtype, lambda s, start, stop: array[start:stop, s].copy())


floats = st.floats(-1e6, 1e6, width=64) | st.just(np.nan) | st.just(0.0)


@given(data=st.data(), n=st.integers(1, 9), n_scen=st.integers(1, 6))
def test_columns_compute_what_the_arrays_compute(data, n, n_scen):
    a = data.draw(hnp.arrays(np.float64, (n, n_scen), elements=floats))
    b = data.draw(hnp.arrays(np.float64, (n, n_scen), elements=floats))
    row = data.draw(hnp.arrays(np.float64, (1, n_scen), elements=floats))
    col = data.draw(hnp.arrays(np.float64, (n, 1), elements=floats))
    ca, cb = as_columns(a), as_columns(b)
    with np.errstate(all="ignore"):
        cases = [
            ((ca / cb - 1.0) * 1e4, (a / b - 1.0) * 1e4),
            (row * (ca - col) * (1e4 / col), row * (a - col) * (1e4 / col)),
            (-np.asarray([1.0, -1.0] * n_scen)[None, :n_scen] * ca, -np.asarray([1.0, -1.0] * n_scen)[None, :n_scen] * a),
            (np.isfinite(ca / cb), np.isfinite(a / b)),
            (ca > 0, a > 0),
            (ca.astype(np.float32), a.astype(np.float32)),
        ]
        for lazy, eager in cases:
            assert isinstance(lazy, Columns) and lazy.dtype == eager.dtype and lazy.shape == eager.shape
            np.testing.assert_array_equal(np.asarray(lazy), eager)
            s = data.draw(st.integers(0, n_scen - 1))
            rows = data.draw(st.lists(st.integers(0, n - 1), max_size=5))
            start, stop = sorted(data.draw(st.tuples(st.integers(0, n), st.integers(0, n))))
            np.testing.assert_array_equal(lazy[:, s], eager[:, s])
            np.testing.assert_array_equal(lazy[rows, s], eager[rows, s])
            np.testing.assert_array_equal(lazy[eager[:, s] == eager[:, s], s], eager[eager[:, s] == eager[:, s], s])
            np.testing.assert_array_equal(lazy[:, s:s + 2], eager[:, s:s + 2])
            np.testing.assert_array_equal(lazy[rows], eager[rows])
            np.testing.assert_array_equal(lazy.part(s, start, stop), eager[start:stop, s])
            np.testing.assert_array_equal(lazy.block(start, stop), eager[start:stop])
            np.testing.assert_array_equal(np.concatenate(list(lazy.blocks(2))), eager)
    assert float(np.nansum(ca)) == float(np.nansum(a))  # reductions materialise
    assert bool((ca == ca).all()) == bool((a == a).all())


def test_columns_index_as_numpy_does():
    array = np.arange(20.0).reshape(5, 4)
    values = as_columns(array)
    keys = [(slice(None), 2), ([0, 3], 1), ([0, 1], [1, 2]), (slice(1, 3), slice(None)), (slice(None), [0, 3]),
            (slice(None), np.array([True, False, True, False])), 2, [4, 0], np.array([True, False] * 2 + [True]),
            (Ellipsis, 1), (slice(None), None), array > 7, (slice(2, None), -1)]
    for key in keys:
        np.testing.assert_array_equal(values[key], array[key], err_msg=repr(key))
    np.testing.assert_array_equal(values.part(1, 3, 99), array[3:, 1])  # clipped, as a slice is
    np.testing.assert_array_equal(values.part(-1, 0, 2), array[:2, -1])
    assert [list(row) for row in values] == [list(row) for row in array]
    np.testing.assert_array_equal(np.asarray(values * [1.0, 2.0, 3.0, 4.0]), array * [1.0, 2.0, 3.0, 4.0])
    assert np.asarray(values).flags.c_contiguous and values[:, 1:3].flags.c_contiguous
    with pytest.raises(ValueError, match="truth value"):
        bool(values)


def test_columns_refuse_what_they_cannot_broadcast():
    values = as_columns(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"cannot broadcast an array of shape \(4, 2\) against \(4, 3\)"):
        values * np.ones((4, 2))
    with pytest.raises(ValueError, match="operands of shapes"):
        values + as_columns(np.ones((3, 3)))
    with pytest.raises(IndexError, match="scenario 3 out of range for 3 scenarios"):
        values.column(3)
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        values.nonsense  # noqa: B018


@given(data=st.data(), n=st.integers(0, 40), n_scen=st.integers(1, 5))
def test_stores_put_every_order_in_its_place_in_memory_and_on_disk(data, n, n_scen):
    values = data.draw(hnp.arrays(np.float64, (n, n_scen), elements=floats))
    counts = data.draw(hnp.arrays(np.int64, (n, n_scen), elements=st.integers(0, 300)))
    blocks = data.draw(hnp.arrays(np.float32, (n, 3, 2), elements=st.floats(0, 1, width=32)))
    positions = np.asarray(data.draw(st.permutations(range(n))), dtype=np.int64)
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=4)))
    chunks = np.split(positions, cuts)
    for on_disk in (False, True):
        floats_table = ScenarioTable(n, n_scen, np.float64, on_disk=on_disk)
        counts_table = ScenarioTable(n, n_scen, np.int16, on_disk=on_disk, read_dtype=np.int32)
        rows_table = RowTable(n, (3, 2), np.float32, on_disk=on_disk)
        for rows in chunks:
            floats_table.write(rows, values[rows])
            counts_table.write(rows, counts[rows])
            rows_table.write(rows, blocks[rows])
        order = final_order(chunks, n)
        got_floats, got_counts, got_rows = floats_table.array(order), counts_table.array(order), rows_table.array()
        assert isinstance(got_floats, Columns) == on_disk and isinstance(got_rows, StoredRows) == on_disk
        np.testing.assert_array_equal(np.asarray(got_floats), values)
        np.testing.assert_array_equal(np.asarray(got_counts), counts)
        assert np.asarray(got_counts).dtype == np.int32
        assert floats_table.array(order) is got_floats  # read back once: a second call gives the same
        np.testing.assert_array_equal(np.asarray(got_rows), blocks)
        if on_disk and n:
            np.testing.assert_array_equal(got_floats[:, n_scen - 1], values[:, n_scen - 1])
            np.testing.assert_array_equal(got_rows.block(n // 2, n), blocks[n // 2:])


def test_a_store_missing_an_order_says_so():
    with pytest.raises(ValueError, match="2 orders written for 3 positions"):
        final_order([np.array([0, 2])], 3)
    with pytest.raises(ValueError, match="3 orders written for 3 positions, not each exactly once"):
        final_order([np.array([0, 2]), np.array([2])], 3)


@pytest.fixture(scope="module")
def btc():
    bars = eb.load_bars("BTCUSDT")
    return bars, eb.make_split(bars, test_start="2026-04-24")


def _tables(evaluation) -> dict[str, pd.DataFrame]:
    periods = [1, 6, "match"]
    return {"paper": evaluation.table("paper"), "mean": evaluation.table("min_period", stat="Mean"),
            "std": evaluation.table("min_period", stat="Std"), "scenarios": evaluation.table("scenarios"),
            "shortfall": evaluation.table("shortfall", periods=periods),
            "regime": evaluation.table("breakdown", by="regime", periods=periods),
            "ci": evaluation.table("ci", periods=periods), "edges": evaluation.table("edges", periods=periods)}


def test_a_run_on_disk_gives_the_same_tables_and_file_without_whole_arrays(btc, monkeypatch, tmp_path):
    bars, split = btc
    impact = eb.ImpactModel(eps=0.05, beta=0.5, gamma=0.02)  # the impact field is stored too
    monkeypatch.setenv(MEMORY_ENV, "4096")
    in_memory = eb.evaluate("flex", bars, split=split, audit=False, impact=impact)
    assert isinstance(in_memory.result.achieved, np.ndarray)
    assert in_memory.result.achieved.flags.c_contiguous and in_memory.result.end_bar.dtype == np.int32
    expected = _tables(in_memory)
    (tmp_path / "memory").mkdir()
    in_memory.run_data().save(tmp_path / "memory")

    monkeypatch.setenv(MEMORY_ENV, "0")
    on_disk = eb.evaluate("flex", bars, split=split, audit=False, impact=impact)
    assert isinstance(on_disk.result.achieved, Columns) and isinstance(on_disk.result.allocations, StoredRows)
    assert isinstance(on_disk.option.bps, Columns)

    def whole(self, *args, **kwargs):
        raise AssertionError("an (orders × scenarios) array was materialised")

    for kind in (Columns, StoredRows):
        monkeypatch.setattr(kind, "__array__", whole)
    monkeypatch.setattr(Columns, "__getattr__", whole)
    got = _tables(on_disk)
    (tmp_path / "disk").mkdir()
    on_disk.run_data().save(tmp_path / "disk")
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(got[name], frame, check_exact=True, obj=name)
    monkeypatch.undo()
    for field in ("achieved", "bps", "end_bar"):  # whole-array reductions add in the same order too
        mine, theirs = np.asarray(getattr(on_disk.result, field)), getattr(in_memory.result, field)
        assert mine.dtype == theirs.dtype and float(np.nanmean(mine)).hex() == float(np.nanmean(theirs)).hex()
    import zipfile

    for where in ("memory", "disk"):  # the same npy header version either way
        with zipfile.ZipFile(tmp_path / where / "results_flex.npz") as archive:
            assert archive.read("bps.npy")[6:8] == b"\x01\x00", where
    saved = {where: eb.RunData.load(tmp_path / where / "results_flex.npz") for where in ("memory", "disk")}
    for field in ("bps", "end_bar", "violations", "baseline_bps", "allocations", *eb.RunData.EXTRAS):
        np.testing.assert_array_equal(getattr(saved["disk"], field), getattr(saved["memory"], field), err_msg=field)
    pd.testing.assert_frame_equal(saved["disk"].orders, saved["memory"].orders)


def test_a_full_disk_is_a_one_line_error(monkeypatch):
    import errno
    import os

    table = ScenarioTable(4, 2, np.float64, on_disk=True)

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    with pytest.raises(eb.DataError, match="temporary results: no space left on the disk of .*; point TMPDIR"):
        table.write(np.arange(4), np.zeros((4, 2)))


def test_the_memory_budget_counts_every_array_until_it_is_freed(monkeypatch):
    import gc

    from execbench.engine.replay import store as store_module

    monkeypatch.setenv(MEMORY_ENV, "4096")
    gc.collect()  # an earlier test's store left in a reference cycle would otherwise be freed mid-test
    before = store_module._held[0]
    orders = pd.DataFrame({"asset": ["x"] * 6})
    store = store_module.ResultStore(eb.scenario_grid(2), store_module.StoreSize(6, 24, 2, 3), orders=orders,
                                     kept=tuple(eb.scenario_grid(2).labels[:3]))
    assert not store.on_disk
    held = sum(t.buffer.nbytes for t in store.tables.values()) + store.allocations.buffer.nbytes
    assert store_module._held[0] - before == held
    end_bar = store.tables["end_bar"].buffer
    del store
    gc.collect()
    assert store_module._held[0] - before == end_bar.nbytes  # still held by whoever kept it
    del end_bar
    gc.collect()
    assert store_module._held[0] == before


def test_results_files_store_what_does_not_compress(tmp_path):
    """``savez_fast`` deflates a member unless its sample deflates by less than 10 %: float noise is stored,
    repetitive arrays are compressed, and ``np.load`` reads both back exactly (lazy columns too)."""
    import zipfile

    from execbench.engine.replay.columns import Columns
    from execbench.results.run_data import savez_fast

    rng = np.random.default_rng(0)
    noise = rng.normal(size=(5000, 40)).astype(np.float32)
    steps = np.repeat(np.arange(50, dtype=np.float32), 4000).reshape(5000, 40)
    lazy = Columns(noise.shape, np.float32, lambda s, start, stop: noise[start:stop, s])
    path = tmp_path / "r.npz"
    savez_fast(path, noise=noise, steps=steps, lazy=lazy, tiny=np.array("x"))
    with zipfile.ZipFile(path) as archive:
        kinds = {info.filename: info.compress_type for info in archive.infolist()}
    assert kinds == {"noise.npy": zipfile.ZIP_STORED, "steps.npy": zipfile.ZIP_DEFLATED,
                     "lazy.npy": zipfile.ZIP_STORED, "tiny.npy": zipfile.ZIP_DEFLATED}
    with np.load(path) as stored:
        np.testing.assert_array_equal(stored["noise"], noise)
        np.testing.assert_array_equal(stored["steps"], steps)
        np.testing.assert_array_equal(stored["lazy"], noise)
        assert str(stored["tiny"]) == "x"


def test_a_results_file_past_the_budget_is_read_a_block_at_a_time(btc, monkeypatch, tmp_path):
    from execbench.analysis.decomposition import edge_table
    from execbench.analysis.significance import ci_table, paired_table
    from execbench.reporting.figures import execution_curves

    bars, split = btc
    for name in ("twap", "flex"):
        eb.evaluate(name, bars, split=split, audit=False).run_data().save(tmp_path)
    paths = {name: tmp_path / f"results_{name}.npz" for name in ("twap", "flex")}
    monkeypatch.setenv(MEMORY_ENV, "4096")
    whole = {name: eb.RunData.load(path) for name, path in paths.items()}
    assert isinstance(whole["flex"].bps, np.ndarray)

    def tables(runs):
        periods = [1, 6, "match"]
        return {"ci": ci_table(runs["flex"], periods=periods), "edges": edge_table(runs, periods=periods),
                "paired": paired_table(runs, periods=periods)}

    expected = tables(whole)
    monkeypatch.setenv(MEMORY_ENV, "0")
    streamed = {name: eb.RunData.load(path) for name, path in paths.items()}
    flex = streamed["flex"]
    assert isinstance(flex.bps, Columns) and isinstance(flex.option_bps, Columns)
    assert isinstance(flex.allocations, StoredRows) and flex.end_bar.dtype == np.int64

    def whole_array(self, *args, **kwargs):
        raise AssertionError("an (orders × scenarios) array was materialised")

    with monkeypatch.context() as patched:
        for kind in (Columns, StoredRows):
            patched.setattr(kind, "__array__", whole_array)
        got = tables(streamed)
        k = flex.kept.index("sell-vwap-quantity-m6")
        np.testing.assert_array_equal(flex.allocations[:, :, k], whole["flex"].allocations[:, :, k])
        execution_curves(flex, [1, "match"])
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(got[name], frame, check_exact=True, obj=name)
    for field in ("bps", "end_bar", "violations", "allocations", *eb.RunData.EXTRAS):
        mine, theirs = np.asarray(getattr(flex, field)), getattr(whole["flex"], field)
        assert mine.dtype == theirs.dtype, field
        np.testing.assert_array_equal(mine, theirs, err_msg=field)
