"""Bad input and misbehaving user code end in one clear line (issue 11, parts of sections 2 and 5)."""

from __future__ import annotations

import json
import re
import textwrap
import warnings

import numpy as np
import pytest

import execbench as eb
from execbench.cli import main
from execbench.errors import DataError

BROKEN = textwrap.dedent('''
    import numpy as np
    from execbench import Strategy

    class FailsInSchedule(Strategy):
        name = "fails"

        def schedule(self, ctx, grid):
            return {}["missing"]

    class FailsInFit(Strategy):
        name = "fitfails"

        def fit(self, bars):
            raise RuntimeError("no model file")

    class Nameless(Strategy):
        def schedule(self, ctx, grid):
            return np.full((ctx.n_orders, ctx.horizon, len(grid)), 1.0 / ctx.horizon)
''')

FAST = ["--asset", "BTCUSDT", "--test-start", "2026-04-27"]


@pytest.fixture
def broken(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text(BROKEN)
    return path


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize("cls, message", [
    ("FailsInSchedule", "strategy 'fails': schedule raised KeyError: 'missing'"),
    ("FailsInFit", "strategy 'fitfails': fit raised RuntimeError: no model file"),
    ("Nameless", "strategy class Nameless: name '' is not usable"),
])
def test_user_strategy_errors_are_one_line_naming_strategy_and_method(broken, cls, message, capsys, tmp_path):
    assert main(["run", "--strategy", f"{broken}:{cls}", *FAST, "--out", str(tmp_path / "out")]) == 2
    assert message in one_line(capsys)
    assert not (tmp_path / "out").exists()


def test_debug_shows_the_traceback_behind_the_line(broken, capsys, tmp_path):
    assert main(["--debug", "run", "--strategy", f"{broken}:FailsInSchedule", *FAST, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and 'return {}["missing"]' in err and "schedule raised KeyError" in err


@pytest.mark.parametrize("argv, message", [
    (["compare", "--strategies", ","], "--strategies ',': expected comma-separated strategy names"),
    (["audit", "--orders", "0"], "parameter 'n_orders' must be a whole number >= 1, got 0"),
    (["audit", "--orders", "-3"], "parameter 'n_orders' must be a whole number >= 1, got -3"),
    (["run", "--audit-orders", "0"], "parameter 'n_orders' must be a whole number >= 1, got 0"),
    (["run", "--strategy", "pov", "--param", "rate=-1"], "parameter rate=-1 is not valid; expected a number in (0, 1]"),
    (["run", "--strategy", "pov", "--param", "rate=5"], "parameter rate=5 is not valid; expected a number in (0, 1]"),
    (["run", "--strategy", "pov", "--param", "rate=nan"], "parameter rate='nan' is not valid"),
    (["run", "--strategy", "pov", "--param", "rate=abc"], "parameter rate='abc' is not valid"),
    (["run", "--strategy", "pov", "--param", "window=0"], "parameter window=0 is not valid; expected a whole number >= 1"),
    (["run", "--strategy", "pov", "--param", "window=2.7"], "parameter window=2.7 is not valid"),
    (["run", "--strategy", "dvwap", "--param", "window=-5"], "parameter window=-5 is not valid"),
    (["run", "--strategy", "dvwap", "--param", "decay=fast"], "parameter decay='fast' is not valid; expected a number in [0, 1]"),
    (["run", "--strategy", "flex", "--param", "front=2"], "parameter front=2 is not valid; expected a number in [0, 1]"),
    (["run", "--strategy", "twap", "--order-size", "inf", *FAST], "'order_size': expected a finite fraction"),
    (["run", "--strategy", "twap", "--order-size", "0", *FAST], "'order_size': expected a finite fraction"),
])
def test_bad_cli_input_is_one_line(argv, message, capsys):
    assert main(argv) == 2
    assert message in one_line(capsys)


def test_a_local_folder_named_like_bundled_data_does_not_replace_it(tmp_path, monkeypatch):
    (tmp_path / "BTCUSDT").mkdir()
    (tmp_path / "BTCUSDT" / "junk.csv").write_text("not,bars\n1,2\n")
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bars = eb.load_bars("BTCUSDT")
    assert bars.attrs["sources"][0].endswith("BTCUSDT_15m.parquet")
    assert any("the local 'BTCUSDT' here is ignored" in str(w.message) for w in caught)


def test_hit_rate_counts_ties_as_ties():
    """TWAP against the TWAP benchmark over the full window differs from it by ~1e-12 bps: no hits, no misses."""
    bars = eb.load_bars("BTCUSDT")
    ev = eb.evaluate("twap", bars, split=eb.make_split(bars, test_start="2026-04-20"), audit=False, option=False)
    stats = ev.table("scenarios").set_index("scenario")
    tiny = np.abs(ev.result.column("perf_bps", "buy-twap-quantity-match"))
    assert 0 < tiny.max() < 1e-6  # floating-point noise, not a result
    assert stats.loc["buy-twap-quantity-match", "hit_rate"] == 0.0
    assert stats.loc["sell-twap-notional-match", "hit_rate"] == 0.0


def _saved_state(tmp_path, name, edit):
    bars = eb.load_bars("BTCUSDT")
    split = eb.make_split(bars, test_start="2026-04-01", val_start="2026-01-01")
    strategy = eb.load_strategy(name)
    eb.fit_strategy(strategy, eb.training_bars(bars, split.train_end))
    path = strategy.save(tmp_path / f"{name}.json")
    saved = json.loads(path.read_text())
    edit(saved)
    path.write_text(json.dumps(saved))
    return path


def _set(path, value):
    def edit(saved):
        target = saved
        for key in path[:-1]:
            target = target[key]
        if value is DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return edit


DELETE = object()


@pytest.mark.parametrize("name, edit, message", [
    ("vwap", _set(("state", "volume_model", "factors", 0), float("nan")), "factors that are not finite and >= 0"),
    ("vwap", _set(("state", "volume_model", "factors", 0), -1.0), "factors that are not finite and >= 0"),
    ("vwap", _set(("state", "volume_model", "calendar"), "lunar"), "calendar 'lunar'"),
    ("vwap", _set(("state", "volume_model", "level_bars"), 0), "level_bars 0"),
    ("vwap", _set(("state", "volume_model", "calendar"), DELETE), "missing or malformed field"),
    ("vwap", lambda saved: saved["state"]["volume_model"]["factors"].pop(), "slots for"),
    ("ac", _set(("state", "sigma"), -1), "state sigma=-1"),
    ("pov", _set(("params", "rate"), float("inf")), "parameter rate=inf is not valid"),
])
def test_bad_saved_states_are_one_line(tmp_path, name, edit, message, capsys):
    path = _saved_state(tmp_path, name, edit)
    with pytest.raises(eb.ExecbenchError, match=re.escape(message)):
        eb.load_fitted(path)
    assert main(["run", "--state", str(path), *FAST]) == 2
    assert message in one_line(capsys)


def test_a_state_fitted_past_the_validation_start_is_refused_and_another_asset_warned(tmp_path, capsys):
    bars = eb.load_bars("BTCUSDT")
    strategy = eb.load_strategy("vwap")
    eb.fit_strategy(strategy, bars)  # every bar, the test period included
    path = strategy.save(tmp_path / "peeked.json")
    assert main(["run", "--state", str(path), *FAST]) == 2
    assert "fitted on bars up to" in one_line(capsys)
    honest = eb.load_strategy("vwap")
    eb.fit_strategy(honest, eb.training_bars(bars, "2025-01-01"))
    path = honest.save(tmp_path / "btc.json")
    eth = eb.load_bars("ETHUSDT")
    with pytest.warns(UserWarning, match="state fitted on another asset BTCUSDT"):
        eb.evaluate(eb.load_fitted(path), eth, split=eb.make_split(eth, test_start="2026-04-27"), fit=False,
                    audit=False, option=False)


def test_data_edge_cases_are_one_line(tmp_path, capsys):
    import pandas as pd

    times = pd.date_range("2024-01-01", periods=800, freq="15min", tz="UTC")
    frame = pd.DataFrame({"timestamp": times, "volume": 0.0, "quote_volume": 0.0})
    frame.to_csv(tmp_path / "zero.csv", index=False)
    assert main(["run", "--asset", str(tmp_path / "zero.csv")]) == 2
    assert "all 800 bars have zero volume" in one_line(capsys)
    frame.assign(Volume=1.0).to_csv(tmp_path / "twice.csv", index=False)
    assert main(["run", "--asset", str(tmp_path / "twice.csv")]) == 2
    assert "columns 'volume', 'Volume' are the same column once case is ignored" in one_line(capsys)
    assert main(["run", "--asset", "BTCUSDT", "--test-start", "2026-04-29T23:50"]) == 2
    assert "2026-04-29 23:50 UTC is outside the data (BTCUSDT 15m: first bar 2023-01-02, last bar 2026-04-29 23:45 UTC)" \
        in one_line(capsys)
    assert main(["run", "--asset", "AAPL", "--freq", "2d"]) == 2
    assert "bundled bars are daily sessions (1d), which are not resampled" in one_line(capsys)


def test_a_run_too_big_for_the_disk_is_refused_up_front(monkeypatch):
    import shutil

    from execbench.engine.replay.store import MEMORY_ENV, StoreSize, check_space
    from execbench.pipeline.evaluation import sized_chunk

    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(64 * 2**30, 48 * 2**30, 16 * 2**30))
    big = StoreSize(28789, 2408, 300, 1204)
    assert big.on_disk()  # past the memory budget, so the disk must take it
    with pytest.raises(eb.DataError, match=r"28,789 orders × 2408 scenarios need about 42.4 GiB of temporary disk in "
                                           r".*, 16.0 GiB is free: point TMPDIR at a larger disk"):
        check_space(big)
    with pytest.raises(eb.DataError, match=r"need about 19.0 GiB"):  # the option's results count too
        check_space(StoreSize(28789, 2408, 30, 1204), StoreSize(100000, 2300, 30))
    check_space(StoreSize(29077, 104, 12, 52))  # the default run fits in memory
    monkeypatch.setenv(MEMORY_ENV, "0")
    assert StoreSize(29077, 104, 12, 52).on_disk()
    check_space(StoreSize(29077, 104, 12, 52))  # and on the disk
    monkeypatch.setenv(MEMORY_ENV, "lots")
    with pytest.raises(eb.ParameterError, match=f"{MEMORY_ENV}='lots': expected a number of megabytes"):
        StoreSize(1, 1, 1).on_disk()
    for text in ("inf", "nan", "-1"):
        monkeypatch.setenv(MEMORY_ENV, text)
        with pytest.raises(eb.ParameterError, match=f"{MEMORY_ENV}='{text}': expected a finite number"):
            StoreSize(1, 1, 1).on_disk()
    assert sized_chunk(4096, 12, 104) == 4096 and sized_chunk(4096, 300, 2408) == 11


def test_a_one_row_file_says_what_is_wrong(tmp_path, capsys):
    import pandas as pd

    frame = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=1, freq="15min", tz="UTC"),
                          "volume": [1.0], "quote_volume": [100.0]})
    frame.to_csv(tmp_path / "one.csv", index=False)
    for extra in ([], ["--freq", "15m"]):  # it used to say "pass freq", which did not help
        assert main(["run", "--asset", str(tmp_path / "one.csv"), *extra]) == 2
        line = one_line(capsys)
        assert "holds 1 bar(s); at least two are needed" in line and "pass freq" not in line


def test_a_universe_saved_from_load_bars_loads_back(tmp_path):
    """Parquet keeps the (asset, timestamp) index, CSV writes it as columns: both load back as the same
    universe, each asset checked on its own."""
    import pandas as pd

    pair = eb.load_bars("BTCUSDT,ETHUSDT")
    pair = pair[pair.index.get_level_values("timestamp") >= "2026-03-01"]  # two months: CSV is slow
    pair.to_parquet(tmp_path / "pair.parquet")
    pair.to_csv(tmp_path / "pair.csv")
    for name in ("pair.parquet", "pair.csv"):
        back = eb.load_bars(tmp_path / name)
        assert back.attrs["assets"] == ["BTCUSDT", "ETHUSDT"] and back.attrs["freq"] == "15m"
        assert back.attrs["sources"] == [str(tmp_path / name)]
        pd.testing.assert_frame_equal(back, pair, check_freq=False)
    broken = pair.copy()
    broken.loc[("ETHUSDT", broken.loc["ETHUSDT"].index[5]), "volume"] = -1.0
    broken.to_parquet(tmp_path / "broken.parquet")
    with pytest.raises(DataError, match=r"broken.parquet \[asset ETHUSDT\]"):
        eb.load_bars(tmp_path / "broken.parquet")


def test_data_vision_checksums_are_verified_and_not_listed_as_sources(tmp_path):
    import hashlib
    import shutil

    from execbench.data.bundled import bundled_datasets

    entry = next(e for e in bundled_datasets() if e.asset == "BTCUSDT")
    folder = tmp_path / "btc"
    folder.mkdir()
    shutil.copy(entry.path, folder / entry.path.name)
    digest = hashlib.sha256((folder / entry.path.name).read_bytes()).hexdigest()
    checksum = folder / (entry.path.name + ".CHECKSUM")
    checksum.write_text(f"{digest}  {entry.path.name}\n")
    bars = eb.load_bars(folder)
    assert bars.attrs["sources"] == [str(folder / entry.path.name)]
    checksum.write_text(f"{'0' * 64}  {entry.path.name}\n")
    with pytest.raises(DataError, match="does not match .*CHECKSUM"):
        eb.load_bars(folder)
