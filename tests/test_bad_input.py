"""Bad input and misbehaving user code end in one clear line (issue 11, parts of sections 2 and 5)."""

from __future__ import annotations

import textwrap
import warnings

import numpy as np
import pytest

import execbench as eb
from execbench.cli import main

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
    (["audit", "--orders", "0"], "parameter 'n_orders' must be at least 1, got 0"),
    (["audit", "--orders", "-3"], "parameter 'n_orders' must be at least 1, got -3"),
    (["run", "--audit-orders", "0"], "parameter 'n_orders' must be at least 1, got 0"),
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
    ev = eb.evaluate("twap", bars, split=eb.make_split(bars, test_start="2026-04-20"), audit=False)
    stats = ev.table("scenarios").set_index("scenario")
    tiny = np.abs(ev.result.column("perf_bps", "buy-twap-quantity-match"))
    assert 0 < tiny.max() < 1e-6  # floating-point noise, not a result
    assert stats.loc["buy-twap-quantity-match", "hit_rate"] == 0.0
    assert stats.loc["sell-twap-notional-match", "hit_rate"] == 0.0
