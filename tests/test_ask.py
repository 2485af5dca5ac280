"""``execbench ask``: phrasings (typos, synonyms, word orders) mapped to the right query and answered
from a committed example folder, checked against the folder's own CSVs read independently here."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import execbench as eb
import execbench.explore as ex
from execbench.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "reports" / "examples" / "BTCUSDT-compare-learning"
SWEEP = ROOT / "reports" / "examples" / "crypto5-sweep"


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> Path:
    """The committed comparison (its tables, as a fresh clone has them: no results_*.npz) and sweep."""
    root = tmp_path_factory.mktemp("examples")
    shutil.copytree(EXAMPLE, root / EXAMPLE.name, ignore=shutil.ignore_patterns("results_*.npz", "figures", "*.pdf"))
    shutil.copytree(SWEEP, root / SWEEP.name, ignore=shutil.ignore_patterns("per_order"))
    return root


@pytest.fixture(scope="module")
def infos(folders):
    return ex.discover([folders])


@pytest.fixture(scope="module")
def index(infos):
    return ex.results_index(infos)


def stats(strategy: str) -> pd.DataFrame:
    return pd.read_csv(EXAMPLE / f"scenario_stats_{strategy}.csv").assign(strategy=strategy)


def example_rows(label: str) -> pd.DataFrame:
    strategies = ["twap", "flex", "lem", "ppo", "flow", "meta"]
    rows = pd.concat([stats(s) for s in strategies])
    return rows[rows["scenario"] == label].set_index("strategy")


def winner(label: str, column: str, best: str = "max") -> str:
    values = example_rows(label)[column]
    return values.idxmax() if best == "max" else values.idxmin()


# (question, expected query slots, scenario label of the example folder, column, direction of the winner)
RANKED = [
    ("which strategy is best for sells at m=1?", dict(intent="best", side="sell", period="1"),
     "sell-vwap-quantity-m1", "perf_bps_mean", "max"),
    ("Best strategy for buys", dict(intent="best", side="buy"), "buy-vwap-quantity-m1", "perf_bps_mean", "max"),
    ("buy side: who is the top performer", dict(intent="best", side="buy"), "buy-vwap-quantity-m1", "perf_bps_mean", "max"),
    ("wich stratgy is best for selling", dict(intent="best", side="sell"), "sell-vwap-quantity-m1", "perf_bps_mean", "max"),
    ("worst strategy for purchases", dict(intent="worst", side="buy"), "buy-vwap-quantity-m1", "perf_bps_mean", "min"),
    ("lowest risk for sells", dict(intent="min", side="sell", metric="std"), "sell-vwap-quantity-m1", "bps_Std", "min"),
    ("which strategy has the least risk when buying", dict(intent="min", side="buy", metric="std"),
     "buy-vwap-quantity-m1", "bps_Std", "min"),
    ("riskiest strategy for sells", dict(intent="worst", side="sell", metric="std"), "sell-vwap-quantity-m1", "bps_Std", "max"),
    ("highest standard deviation, sells, minimum period 6", dict(intent="max", side="sell", metric="std", period="6"),
     "sell-vwap-quantity-m6", "bps_Std", "max"),
    ("best hit rate for buys", dict(intent="best", side="buy", metric="hit_rate"), "buy-vwap-quantity-m1", "hit_rate", "max"),
    ("which has the best win rate on sells with a twap benchmark",
     dict(intent="best", side="sell", metric="hit_rate", benchmark="twap"), "sell-twap-quantity-m1", "hit_rate", "max"),
    ("best hitrate for sells notional", dict(intent="best", side="sell", metric="hit_rate", target="notional"),
     "sell-vwap-notional-m1", "hit_rate", "max"),
    ("sells m=6: best average slippage", dict(intent="best", side="sell", metric="mean", period="6"),
     "sell-vwap-quantity-m6", "bps_Mean", "max"),
    ("best mean slippage for buys", dict(intent="best", side="buy", metric="mean"), "buy-vwap-quantity-m1", "bps_Mean", "min"),
    ("lowest cost for buys vs the twap benchmark", dict(intent="min", side="buy", metric="mean", benchmark="twap"),
     "buy-twap-quantity-m1", "bps_Mean", "min"),
    ("best P95 for buys", dict(intent="best", side="buy", metric="p95"), "buy-vwap-quantity-m1", "bps_P95", "min"),
    ("highest 5th percentile when selling", dict(intent="max", side="sell", metric="p5"), "sell-vwap-quantity-m1", "bps_P5", "max"),
    ("which strategy had the best edge for sells in the match case", dict(intent="best", side="sell", period="match"),
     "sell-vwap-quantity-match", "perf_bps_mean", "max"),
    ("best median for sells at min period 3", dict(intent="best", side="sell", metric="median", period="3"),
     "sell-vwap-quantity-m3", "bps_Median", "max"),
    ("top performance, BTC, sells, minimum period of 12", dict(intent="best", side="sell", period="12", asset="BTCUSDT"),
     "sell-vwap-quantity-m12", "perf_bps_mean", "max"),
    ("most orders finishing late: highest end bar for buys", dict(intent="max", side="buy", metric="end_bar"),
     "buy-vwap-quantity-m1", "mean_end_bar", "max"),
    ("lowest end bar for sells", dict(intent="min", side="sell", metric="end_bar"), "sell-vwap-quantity-m1", "mean_end_bar", "min"),
]


@pytest.mark.parametrize("question, slots, label, column, best", RANKED, ids=[r[0] for r in RANKED])
def test_ranking_questions(question, slots, label, column, best, infos, index):
    reply = ex.answer(question, infos, index=index)
    for key, value in slots.items():
        assert getattr(reply.query, key) == value, (key, reply.query)
    assert reply.folder == EXAMPLE.name
    expected = winner(label, column, best)
    assert f": {expected} (" in reply.text, (reply.text, expected)
    if "side" in slots:  # one side: the table is ranked, the winner first
        assert reply.table["strategy"].iloc[0] == expected
    assert reply.command.startswith("execbench compare --strategies twap,flex,lem,ppo,flow,meta")


def test_the_reproducing_code_gives_the_answers_numbers(infos, index):
    """The Python call an answer shows, run as shown, returns the numbers of its table."""
    reply = ex.answer("lowest risk for sells", infos, index=index)
    scope: dict = {}
    *setup, last = reply.code.splitlines()
    exec("\n".join(setup) + f"\n_result = {last}", scope)
    result = scope["_result"].sort_values("bps_Std").reset_index(drop=True)
    assert list(result["strategy"]) == list(reply.table["strategy"])
    assert result["bps_Std"].tolist() == pytest.approx(reply.table["bps_Std"].tolist())


COMPARES = [
    ("compare lem with twap", ("lem", "twap")),
    ("lem vs ppo for sells", ("lem", "ppo")),
    ("how does the meta strategy do against twap?", ("meta", "twap")),
    ("PPO versus LEM, buys, m=6", ("ppo", "lem")),
    ("difference between flow matching and the large execution model", ("flow", "lem")),
    ("is lemm better than flxe", ("lem", "flex")),
    ("compare reinforcement learning with TWAP on bitcoin", ("ppo", "twap")),
]


@pytest.mark.parametrize("question, names", COMPARES, ids=[c[0] for c in COMPARES])
def test_compare_questions(question, names, infos, index):
    reply = ex.answer(question, infos, index=index)
    assert reply.query.intent == "compare" and reply.query.strategies == names, reply.query
    period = reply.query.period or "1"
    for side in [reply.query.side] if reply.query.side else ["buy", "sell"]:
        rows = example_rows(f"{side}-vwap-quantity-{'m' + period}")
        a, b = (rows.loc[n, "perf_bps_mean"] for n in names)
        assert f"{side}: {names[0]} {a:+.2f} vs {names[1]} {b:+.2f}" in reply.text, reply.text
    assert list(reply.table["strategy"].unique()) == list(names)


STATS = [
    ("show ppo's statistics for sells", dict(strategies=("ppo",), side="sell")),
    ("stats of the LEM", dict(strategies=("lem",))),
    ("P95 of flex for buys with a TWAP benchmark", dict(strategies=("flex",), side="buy", benchmark="twap", metric="p95")),
    ("meta-strategy hit rate at m=1, sells", dict(strategies=("meta",), side="sell", metric="hit_rate", period="1")),
    ("how risky is twap for sells?", dict(strategies=("twap",), side="sell", metric="std")),
    ("flow matching mean slippage notional buys", dict(strategies=("flow",), side="buy", metric="mean", target="notional")),
]


@pytest.mark.parametrize("question, slots", STATS, ids=[s[0] for s in STATS])
def test_statistics_questions(question, slots, infos, index):
    reply = ex.answer(question, infos, index=index)
    assert reply.query.intent == "stats", reply.query
    for key, value in slots.items():
        assert getattr(reply.query, key) == value, (key, reply.query)
    (name,) = slots["strategies"]
    expected = stats(name)
    benchmark, target = slots.get("benchmark", "vwap"), slots.get("target", "quantity")
    for row in reply.table.itertuples():
        period = "match" if row.period == "match" else f"m{row.period}"
        source = expected[expected["scenario"] == f"{row.side}-{benchmark}-{target}-{period}"].iloc[0]
        assert row.bps_Mean == pytest.approx(source["bps_Mean"]) and row.hit_rate == pytest.approx(source["hit_rate"])
    assert len(reply.table) == (1 if "period" in slots else 13) * (1 if "side" in slots else 2)


def test_sweep_questions_use_the_sweep(infos, index):
    """'on ETH': only the sweep holds ETHUSDT; one winner per frequency."""
    reply = ex.answer("which strategy had the lowest risk for sells on ETH?", infos, index=index)
    assert (reply.query.intent, reply.query.asset, reply.query.side, reply.query.metric) == ("min", "ETHUSDT", "sell", "std")
    assert reply.folder == SWEEP.name
    rows = eb.load_sweep(SWEEP)
    rows = rows[(rows["asset"] == "ETHUSDT") & (rows["scenario"] == "sell-vwap-quantity-m1")]
    for freq, part in rows.groupby("freq"):
        best = part.loc[part["bps_Std"].idxmin(), "strategy"]
        assert f"{freq} sell: {best} (" in reply.text, (freq, reply.text)
    one = ex.answer("best strategy for ethereum buys at 4h", infos, index=index)
    assert (one.query.asset, one.query.freq) == ("ETHUSDT", "4h") and "4h" not in one.table.columns
    assert ex.answer("best for etherum sells hourly", infos, index=index).query.freq == "1h"
    assert ex.answer("best on xrp sells", infos, index=index).query.asset == "XRPUSDT"


OTHER = [
    ("what does perf_bps mean?", "define", "perf_bps"),
    ("explain the hit rate", "define", "hit rate"),
    ("What is the minimum period", "define", "minimum period"),
    ("define the match case", "define", "match"),
    ("did the audit pass?", "audit", None),
    ("any look-ahead leak in the lem?", "audit", None),
    ("where does this data come from", "provenance", None),
    ("which command reproduces the comparison", "provenance", None),
    ("which folders are available", "list", None),
]


@pytest.mark.parametrize("question, intent, term", OTHER, ids=[o[0] for o in OTHER])
def test_definition_audit_provenance_list(question, intent, term, infos, index):
    reply = ex.answer(question, infos, index=index)
    assert reply.query.intent == intent, reply.query
    if intent == "define":
        assert reply.query.term == term and reply.text.startswith(term)
    elif intent == "audit":
        assert "passed" in reply.text and set(reply.table["passed"]) == {True}
    elif intent == "provenance":
        assert "execbench compare --strategies twap,flex,lem,ppo,flow,meta" in reply.text
        fields = dict(zip(reply.table["field"], reply.table["value"], strict=True))
        assert fields["data: sha256"] == "2d1f4ce146725465af18be1a8122851254359cca86cb893071d3e156683e4701"
    else:
        assert set(reply.table["folder"]) == {EXAMPLE.name, SWEEP.name}


UNANSWERABLE = ["what is the weather in Paris", "tell me a joke", "", "asdkjh qwe", "help"]


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_unanswerable_questions_get_the_help_reply(question, infos, index):
    reply = ex.answer(question, infos, index=index)
    assert not reply.answered and reply.text.startswith("I answer questions") and not len(reply.table)


def test_per_order_questions_say_what_they_need(infos, index):
    """A regime or a date range needs results_*.npz, which the committed examples lack: the reply says so
    (and how to re-create them), never a number."""
    for question in ("best hit rate in high volatility", "lowest risk for sells last quarter", "best for buys in Q3 2025"):
        reply = ex.answer(question, infos, index=index)
        assert reply.text.startswith("I cannot answer that") and "results_*.npz" in reply.text, reply.text
        assert not len(reply.table)
    assert ex.answer("best hit rate in high volatility", infos, index=index).query.regime == "H"
    assert ex.answer("best for buys in Q3 2025", infos, index=index).query.dates == ("2025-07-01", "2025-10-01")


def test_the_cli_answers_and_prints_the_commands(folders, capsys, tmp_path):
    chart = tmp_path / "chart.html"
    assert main(["ask", "which strategy is best for sells?", "--in", str(folders), "--plot", str(chart)]) == 0
    out = capsys.readouterr().out
    assert f"sell: {winner('sell-vwap-quantity-m1', 'perf_bps_mean')} (" in out
    assert "eb.explore.results_index([eb.explore.read_folder(" in out and chart.stat().st_size > 10_000
    assert main(["ask", "what is the weather", "--in", str(folders)]) == 1
    assert main(["ask", "best", "--in", str(tmp_path / "nowhere")]) == 2
    assert "nowhere: no such folder" in capsys.readouterr().err


def test_the_dashboard_command_refuses_a_missing_folder(tmp_path, capsys):
    assert main(["dashboard", str(tmp_path / "nowhere")]) == 2
    assert "nowhere: no such folder" in capsys.readouterr().err
