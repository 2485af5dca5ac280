"""The CLI end to end on bundled data, and its one-line errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from execbench.cli import main


def test_run_twap_on_btcusdt_prints_and_saves(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", "--strategy", "twap", "--asset", "BTCUSDT", "--test-start", "2026-04-01", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "TWAP Notional" in printed and "TWAP Volume" in printed and "Match VWAP" in printed
    for stem in ("paper_table", "min_period_mean", "min_period_std", "scenario_stats"):
        for ext in ("csv", "md", "tex"):
            assert (out / f"{stem}.{ext}").stat().st_size > 0
    paper = pd.read_csv(out / "paper_table.csv")
    assert list(paper.columns) == ["Order", "Min period", "N", "Mean", "Std", "Median", "P5", "P95", "Q25", "Q75"]
    assert len(paper) == 2 + 2 * 13
    assert paper["N"].iloc[0] == 29 * 96 - 11  # April 2026 origins; the last 11 run past the data
    record = json.loads((out / "run.json").read_text())
    assert record["strategy"] == "twap" and record["horizon"] == 12 and record["seed"] == 0
    assert len(record["data"]["sha256"]) == 64 and record["execbench_version"]
    assert record["orders"]["skipped"]["tail"] == 11
    stats = pd.read_csv(out / "scenario_stats.csv")
    assert len(stats) == 104


def test_run_dow30_daily(tmp_path, capsys):
    out = tmp_path / "dow"
    assert main(["run", "--asset", "dow30", "--freq", "1d", "--test-start", "2024-06-01", "--out", str(out)]) == 0
    record = json.loads((out / "run.json").read_text())
    assert len(record["orders"]["assets"]) == 30 and record["split"]["val_start"].startswith("2017-01-01")


@pytest.mark.parametrize("argv, message", [
    (["run", "--asset", "NOPE"], "error: asset 'NOPE': not a bundled asset"),
    (["run", "--strategy", "nope"], "error: strategy 'nope': unknown"),
    (["run", "--freq", "7m"], "error: frequency '7m'"),
    (["run", "--test-start", "2031-01-01"], "error: parameter 'test_start': 2031-01-01 is outside the data"),
    (["run", "--by", "weekday"], "error: --by 'weekday': expected a comma-separated list of regime, asset, year"),
    (["run", "--impact-param", "eps=-1"], "error: impact parameter 'eps': expected >= 0"),
    (["run", "--asset", "synthetic:heston", "--market-param", "kappa=-1"], "error: synthetic market parameter 'kappa'"),
    # each namespace is validated by its own consumer, with the valid names listed
    (["run", "--param", "seed=3"], "error: strategy 'twap': unknown parameter 'seed'; valid: none"),
    (["run", "--strategy", "flex", "--param", "fornt=0.3"],
     "error: strategy 'flex': unknown parameter 'fornt'; valid: front, threshold_bps"),
    (["run", "--param", "front"], "error: --param 'front': expected name=value"),
    (["run", "--impact-param", "impact=0.01"], "error: --impact-param: unknown parameter 'impact'; valid: "
                                               "benchmark_with_impact, beta, delta, eps, gamma"),
    (["run", "--impact-param", "eps=abc"], "error: --impact-param eps: expected a number, got 'abc'"),
    (["run", "--asset", "synthetic:heston", "--market-param", "kapa=1"],
     "error: synthetic market parameter 'kapa': unknown; valid: bars, kappa, mu, paths, rho, s0, seed"),
    (["run", "--market-param", "seed=3"], "error: synthetic market parameters (seed) apply to a synthetic market"),
    (["run", "--strategy", "lem", "--param", "hiden=8"], "error: strategy 'lem': unknown parameter 'hiden'; valid: "
                                                        "alignment, batch_size, checkpoint, decision, embedding, epochs"),
    (["compare", "--periods", "1,99"], "error: --periods: '99' is not a minimum period in 1..12 or 'match'"),
])
def test_bad_input_is_one_line_not_a_traceback(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_param_reaches_the_strategy_and_market_param_the_market(monkeypatch):
    """``--param seed=3`` with a synthetic market goes to the LEM, ``--market-param seed=3`` to the market."""
    import execbench.pipeline.evaluation as pipeline

    seen = {}

    def fake_evaluate(strategy, bars, **kwargs):
        seen["strategy_seed"], seen["market"] = strategy.seed, bars.attrs["sources"][0]
        raise SystemExit(0)

    monkeypatch.setattr(pipeline, "evaluate", fake_evaluate)
    with pytest.raises(SystemExit):
        main(["run", "--strategy", "lem", "--asset", "synthetic:heston", "--param", "seed=3", "--param",
              "checkpoint=none", "--market-param", "seed=5", "--market-param", "bars=3000"])
    assert seen["strategy_seed"] == 3 and '"seed": 5' in seen["market"] and '"n_bars": 3000' in seen["market"]


def test_listing_commands(capsys):
    assert main(["assets"]) == 0 and "dow30" in capsys.readouterr().out
    assert main(["strategies"]) == 0 and "twap" in capsys.readouterr().out
