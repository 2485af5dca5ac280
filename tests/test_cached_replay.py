"""The option replay kept in the user cache: a hit gives the replay's numbers bit for bit, in memory and
on disk; any change to the bars misses; a damaged entry is replayed again; the folder stays under its size."""

from __future__ import annotations

import importlib.util
import os
import sys
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import execbench as eb
import execbench.pipeline.cached_replay as cached
from execbench.analysis.stats import PAPER_COLUMNS, statistic, summarize
from execbench.cache import CACHE_ENV, STALE_SECONDS, code_fingerprint
from execbench.engine.replay.columns import Columns
from execbench.engine.replay.store import MEMORY_ENV

FIELDS = ("achieved", "benchmark", "executed", "max_participation", "end_bar", "violations")


@pytest.fixture(scope="module")
def btc():
    bars = eb.load_bars("BTCUSDT")
    return bars, eb.make_split(bars, test_start="2026-04-26")


def _option(bars, split, **kwargs):
    evaluation = eb.evaluate("twap", bars, split=split, audit=False, keep_allocations=False, **kwargs)
    return evaluation.option, "option_cache_read_s" in evaluation.timings


def _entries(folder):
    return sorted(p.name for p in (folder / "replays").iterdir() if not p.name.startswith("."))


def _assert_same(got, expected):
    assert got.grid.labels == expected.grid.labels
    for field in FIELDS:
        mine, theirs = np.asarray(getattr(got, field)), np.asarray(getattr(expected, field))
        assert mine.dtype == theirs.dtype and mine.flags.c_contiguous, field
        np.testing.assert_array_equal(mine, theirs, err_msg=field)
    assert got.orders is not None and got.reference is not None


def test_a_second_evaluation_reads_the_option_bit_for_bit(btc, tmp_path, monkeypatch):
    bars, split = btc
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    replayed, hit = _option(bars, split)
    assert not hit and len(_entries(tmp_path)) == 1
    again, hit = _option(bars, split)
    assert hit and isinstance(again.achieved, np.ndarray)
    _assert_same(again, replayed)

    monkeypatch.setenv(MEMORY_ENV, "0")  # past the memory budget: columns read from the entry itself
    on_disk, hit = _option(bars, split)
    assert hit and isinstance(on_disk.achieved, Columns) and isinstance(on_disk.end_bar, Columns)
    assert on_disk.end_bar.dtype == np.int32
    _assert_same(on_disk, replayed)

    monkeypatch.setenv(CACHE_ENV, "off")
    off, hit = _option(bars, split)
    assert not hit
    _assert_same(off, replayed)


def test_any_change_to_the_bars_or_the_orders_misses(btc, tmp_path, monkeypatch):
    bars, split = btc
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    _option(bars, split)
    changed = bars.copy()
    changed.attrs = dict(bars.attrs)
    changed.iloc[-5, changed.columns.get_loc("quote_volume")] *= 1.001  # one test bar's price
    _, hit = _option(changed, split)
    assert not hit and len(_entries(tmp_path)) == 2
    early = changed.copy()
    early.attrs = dict(bars.attrs)
    early.iloc[10, early.columns.get_loc("volume")] *= 1.5  # one training bar: the fitted policy
    _, hit = _option(early, split)
    assert not hit and len(_entries(tmp_path)) == 3
    _, hit = _option(bars, split, order_size=0.02)
    assert not hit and len(_entries(tmp_path)) == 4


def test_a_damaged_entry_is_replayed_again(btc, tmp_path, monkeypatch):
    bars, split = btc
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    replayed, _ = _option(bars, split)
    (entry,) = _entries(tmp_path)
    path = tmp_path / "replays" / entry / "achieved.npy"
    path.write_bytes(path.read_bytes()[:100])
    again, hit = _option(bars, split)
    assert not hit
    _assert_same(again, replayed)
    assert _entries(tmp_path) == [entry] and _option(bars, split)[1]  # replaced by a whole entry


def test_the_cache_keeps_the_most_recently_used_entries_within_its_size(btc, tmp_path, monkeypatch):
    bars, split = btc
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    _option(bars, split)
    (first,) = _entries(tmp_path)
    size = sum(f.stat().st_size for f in (tmp_path / "replays" / first).iterdir())
    monkeypatch.setattr(cached, "CACHE_BYTES", int(size * 1.5))
    _option(bars, split, order_size=0.02)
    assert len(_entries(tmp_path)) == 1 and _entries(tmp_path) != [first]
    monkeypatch.setattr(cached, "ENTRY_MAX_BYTES", size // 2)  # too large to keep: replayed, not written
    _, hit = _option(bars, split)
    assert not hit and first not in _entries(tmp_path)


@given(values=hnp.arrays(np.float64, st.integers(0, 40),
                         elements=st.floats(-1e6, 1e6) | st.just(np.nan) | st.just(np.inf)))
def test_one_statistic_is_that_column_of_the_summary(values):
    summary = summarize(values)
    for stat in PAPER_COLUMNS:
        got, expected = statistic(values, stat), summary[stat]
        assert (np.isnan(got) and np.isnan(expected)) or got == expected, stat


def test_editing_the_code_changes_the_fingerprint_in_the_same_process(tmp_path, monkeypatch):
    source = tmp_path / "mine.py"
    source.write_text("class Mine:\n    pass\n")
    spec = importlib.util.spec_from_file_location("mine", source)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "mine", module)
    spec.loader.exec_module(module)
    first = code_fingerprint(module.Mine)
    assert code_fingerprint(module.Mine) == first != code_fingerprint()
    source.write_text("class Mine:\n    x = 2\n")  # a notebook's edit, picked up without a new process
    assert code_fingerprint(module.Mine) != first


def test_the_training_bars_alone_change_the_key(btc, tmp_path, monkeypatch):
    bars, split = btc
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    windows = eb.build_order_windows(bars, 12, start=split.test_start, end=split.test_end)
    _option(bars, split, windows=windows)
    changed = bars.copy()
    changed.attrs = dict(bars.attrs)
    changed.iloc[10, changed.columns.get_loc("volume")] *= 1.5  # the fitted policy, not the orders
    _, hit = _option(changed, split, windows=windows)
    assert not hit and len(_entries(tmp_path)) == 2


def test_a_short_entry_is_replayed_again_in_memory_and_on_disk(btc, tmp_path, monkeypatch):
    bars, split = btc
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    replayed, _ = _option(bars, split)
    for budget in ("4096", "0"):
        monkeypatch.setenv(MEMORY_ENV, budget)
        (entry,) = _entries(tmp_path)
        path = tmp_path / "replays" / entry / "benchmark.npy"
        path.write_bytes(path.read_bytes()[:-8])  # the last value of the last scenario lost
        again, hit = _option(bars, split)
        assert not hit, budget
        _assert_same(again, replayed)
        repaired, hit = _option(bars, split)  # the damaged entry was replaced
        assert hit, budget
        _assert_same(repaired, replayed)


def test_a_hit_with_market_impact_keeps_the_prices_without_it(btc, tmp_path, monkeypatch):
    bars, split = btc
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    impact = eb.ImpactModel(eps=0.05, beta=0.5, gamma=0.02)
    replayed, _ = _option(bars, split, impact=impact)
    again, hit = _option(bars, split, impact=impact)
    assert hit
    _assert_same(again, replayed)
    np.testing.assert_array_equal(again.achieved_no_impact, replayed.achieved_no_impact)
    _, hit = _option(bars, split)
    assert not hit  # without impact: another key


def test_half_written_entries_of_dead_processes_are_removed(btc, tmp_path, monkeypatch):
    bars, split = btc
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    stale, fresh = tmp_path / "replays" / ".old.1.2.partial", tmp_path / "replays" / ".new.1.2.partial"
    for folder in (stale, fresh):
        folder.mkdir(parents=True)
        (folder / "achieved.npy").write_bytes(b"half")
    old = time.time() - 2 * STALE_SECONDS
    os.utime(stale, (old, old))
    _option(bars, split)
    assert not stale.exists() and fresh.exists() and len(_entries(tmp_path)) == 1


JAX_CACHE_PROBE = """
from execbench.cache import use_jax_cache
use_jax_cache()
use_jax_cache()  # a second call changes nothing
import jax
print(jax.config.jax_compilation_cache_dir, jax.config.jax_persistent_cache_min_compile_time_secs)
jax.jit(lambda x: x * 2.0 + 1.0)(1.0)  # a program that compiles in milliseconds
"""


def test_jax_keeps_even_quick_programs_in_the_user_cache_unless_it_is_off(tmp_path):
    import subprocess

    def probe(cache):
        env = {**os.environ, CACHE_ENV: str(cache)}
        done = subprocess.run([sys.executable, "-c", JAX_CACHE_PROBE], env=env, capture_output=True, text=True,
                              check=True)
        return done.stdout.split()

    assert probe(tmp_path) == [str(tmp_path / "jax"), "0.0"]
    entries = sorted(p.name for p in (tmp_path / "jax").iterdir())
    assert entries and all("jit__lambda" in name for name in entries)
    assert probe(tmp_path) == [str(tmp_path / "jax"), "0.0"]
    assert sorted(p.name for p in (tmp_path / "jax").iterdir()) == entries  # a hit: nothing new written
    assert probe("off")[0] == "None"


# the arrays cache (execbench.cache.read_arrays / write_arrays: bootstrap resamples, stopping rules)

def _entry(tmp_path, monkeypatch, key: str = "k" * 64, size: int = 1000):
    from execbench.cache import read_arrays, write_arrays

    monkeypatch.setenv("EXECBENCH_CACHE_DIR", str(tmp_path))
    write_arrays("things", key, {"x": np.arange(size)}, keep_bytes=2**30)
    path = tmp_path / "things" / f"{key}.npz"
    np.testing.assert_array_equal(read_arrays("things", key)["x"], np.arange(size))
    return path


@pytest.mark.parametrize("damage", ["truncated", "zip header only", "npy under an npz name", "not a file format"])
def test_a_damaged_arrays_entry_is_a_miss_not_a_crash(tmp_path, monkeypatch, damage):
    import io

    from execbench.cache import read_arrays

    path = _entry(tmp_path, monkeypatch)
    whole = path.read_bytes()
    if damage == "npy under an npz name":
        buffer = io.BytesIO()
        np.save(buffer, np.arange(3))
        whole = buffer.getvalue()
    path.write_bytes({"truncated": whole[: len(whole) // 2], "zip header only": whole[:4],
                      "not a file format": b"not an npz"}.get(damage, whole))
    assert read_arrays("things", "k" * 64) is None


def test_a_read_only_arrays_cache_is_still_read(tmp_path, monkeypatch):
    from execbench.cache import read_arrays

    _entry(tmp_path, monkeypatch)

    def refuse(*args, **kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr(os, "utime", refuse)
    np.testing.assert_array_equal(read_arrays("things", "k" * 64)["x"], np.arange(1000))


def test_trimming_skips_what_it_may_not_remove_and_partial_files(tmp_path, monkeypatch):
    """A file that may not be removed (another user's, in a shared folder) is skipped, not a crash; a writer's
    partial file is neither counted nor removed while fresh, and is removed once stale."""
    from pathlib import Path

    from execbench import cache

    old = _entry(tmp_path, monkeypatch, key="a" * 64)
    os.utime(old, (1000.0, 1000.0))
    partial = tmp_path / "things" / f"{'b' * 64}.xyz{cache.PARTIAL_SUFFIX}"
    partial.write_bytes(b"half")
    unlink = Path.unlink

    def refuse_old(self, *args, **kwargs):
        if self == old:
            raise PermissionError("not yours")
        return unlink(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", refuse_old)
    cache.write_arrays("things", "c" * 64, {"x": np.arange(1000)}, keep_bytes=1)
    assert old.exists() and partial.exists() and (tmp_path / "things" / f"{'c' * 64}.npz").exists()
    os.utime(partial, (1000.0, 1000.0))
    cache.write_arrays("things", "d" * 64, {"x": np.arange(1000)}, keep_bytes=1)
    assert not partial.exists() and old.exists()
    assert sorted(p.name[0] for p in (tmp_path / "things").iterdir()) == ["a", "d"]


def test_the_option_replays_beside_the_run_and_its_failure_is_the_evaluations(btc, tmp_path, monkeypatch):
    """``evaluate`` replays the option on a thread of its own while the audit and the run go on: the option
    is the one the run alone gives (above), its time is recorded, and an error raised in it is raised by
    ``evaluate`` itself, as a one-line error."""
    import threading

    import execbench.pipeline.evaluation as evaluation

    bars, split = btc
    monkeypatch.setenv(CACHE_ENV, "off")
    seen = []
    replay_option = evaluation.replay_option

    def on_a_thread(*args, **kwargs):
        seen.append(threading.current_thread().name)
        return replay_option(*args, **kwargs)

    monkeypatch.setattr(evaluation, "replay_option", on_a_thread)
    run = eb.evaluate("twap", bars, split=split, audit=False, keep_allocations=False)
    assert seen == ["execbench-option"] and run.timings["option_s"] > 0
    monkeypatch.setattr(evaluation, "replay_option", replay_option)
    _assert_same(run.option, eb.evaluate("twap", bars, split=split, audit=False, keep_allocations=False).option)

    def broken(*args, **kwargs):
        raise eb.DataError("the option could not be replayed")

    monkeypatch.setattr(evaluation, "replay_option", broken)
    with pytest.raises(eb.DataError, match="the option could not be replayed"):
        eb.evaluate("twap", bars, split=split, audit=False, keep_allocations=False)


def test_a_background_call_gives_its_value_or_raises_its_error():
    import threading

    from execbench.threads import in_background

    release = threading.Event()
    join = in_background(lambda: release.wait(5) and 42, "execbench-test")
    (thread,) = [t for t in threading.enumerate() if t.name == "execbench-test"]
    assert thread.daemon and thread.is_alive()  # an exiting process does not wait for it
    release.set()
    assert join() == 42

    def fails():
        raise KeyError("inside")

    with pytest.raises(KeyError, match="inside"):
        in_background(fails, "execbench-test")()


def test_calls_on_threads_come_back_in_order_and_take_their_items_as_they_are_needed():
    """``map_calls`` keeps the items' order, draws a lazy iterable at most ``ahead`` items beyond the
    result being read (the audit's perturbed markets are made as they are needed), and cancels what the
    reader no longer wants."""
    import threading
    import time

    from execbench.threads import map_calls

    drawn = []

    def items():
        for k in range(40):
            drawn.append(k)
            yield k

    def slow(k):
        time.sleep(0.002 * (k % 3))  # later calls often finish first
        return k * k

    results = map_calls(slow, items(), workers=2, ahead=5)
    for read, value in enumerate(results):
        assert value == read * read
        assert len(drawn) <= read + 1 + 5
    assert drawn == list(range(40))

    started = []
    gate = threading.Event()

    def gated(k):
        started.append(k)
        gate.wait(5)
        return k

    results = map_calls(gated, range(30), workers=2, ahead=6)
    threading.Timer(0.05, gate.set).start()
    assert next(results) == 0
    results.close()  # the reader stops: the calls not yet started are cancelled, none is drawn after
    time.sleep(0.05)
    assert len(started) <= 1 + 6
    assert list(map_calls(slow, [3], workers=2)) == [9]  # one item: no threads

    def fails_at_3(k):
        if k == 3:
            raise KeyError("call 3")
        return k

    results = map_calls(fails_at_3, range(20), workers=2, ahead=4)
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(KeyError, match="call 3"):  # in order: after the results before it
        next(results)
