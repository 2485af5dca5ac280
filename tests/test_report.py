"""Saved results, the PDF report and its figures, from the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pytest import approx

import execbench as eb
from execbench.cli import main
from execbench.reporting.report import build_report
from execbench.results import RunData, load_run
from execbench.analysis.significance import ci_table, paired_breakdown, paired_table


def pdf_pages(path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(path).pages)


def pdf_text(path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(path).pages]


def test_run_with_report(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["run", "--strategy", "flex", "--asset", "BTCUSDT", "--test-start", "2026-04-10", "--out", str(out),
            "--report", "--audit-orders", "100"]
    assert main(args) == 0
    assert "report:" in capsys.readouterr().out
    assert pdf_pages(out / "report.pdf") >= 8
    for stem in ("flex_density_m1", "flex_execution_curves", "flex_mean_by_period", "flex_by_year"):
        assert (out / "figures" / f"{stem}.png").stat().st_size > 10_000
        assert (out / "figures" / f"{stem}.pdf").stat().st_size > 5_000
    record, runs = load_run(out)
    run = runs["flex"]
    paper = pd.read_csv(out / "paper_table.csv")
    # the saved per-order results reproduce the saved table (float32 storage: ~1e-5 bps)
    assert abs(np.nanmean(run.column("bps", "buy-vwap-quantity-m1")) - paper["Mean"].iloc[2]) < 1e-4
    assert run.allocations.shape == (record["orders"]["evaluated"], 12, 52)


@pytest.mark.slow  # make test-slow (CI runs it after make test)
def test_compare_report_has_paired_tests(tmp_path, monkeypatch):
    out = tmp_path / "cmp"
    args = ["compare", "--strategies", "twap,vwap,flex", "--asset", "BTCUSDT", "--test-start", "2026-04-15",
            "--no-audit", "--out", str(out), "--report", "--by", "regime"]
    assert main(args) == 0
    assert pdf_pages(out / "report.pdf") >= 11
    assert (out / "figures" / "strategies_density_buy_m1.png").is_file()
    # figures drawn in worker processes make the same pages, in the same order, as drawn in this one
    drawn_by_workers = pdf_text(out / "report.pdf")
    assert any("flex: statistics with 95 %" in page for page in drawn_by_workers)
    monkeypatch.setenv("EXECBENCH_REPORT_WORKERS", "0")
    build_report(out)
    assert pdf_text(out / "report.pdf") == drawn_by_workers
    by_regime = pd.read_csv(out / "paired_by_regime.csv", keep_default_na=False, na_values=[""])  # "NA" is a regime
    _, runs = load_run(out)
    regimes = runs["twap"].orders["regime"]  # saved with the results and read back
    assert set(by_regime["Regime"]) == set(regimes)
    one = by_regime[(by_regime["Strategy"] == "flex") & (by_regime["Side"] == "BUY") & (by_regime["Min period"] == "1")]
    assert one["N"].sum() == len(regimes)  # every order in exactly one regime


def test_compare_by_needs_twap(tmp_path, capsys):
    assert main(["compare", "--strategies", "vwap,flex", "--by", "regime", "--out", str(tmp_path / "x")]) == 2
    assert "add twap to --strategies" in capsys.readouterr().err


def test_statistics_tables_from_results():
    bars = eb.load_bars("BTCUSDT")
    split = eb.make_split(bars, test_start="2026-04-01")
    runs = {k: RunData.from_evaluation(v) for k, v in eb.compare(["twap", "flex"], bars, split=split, audit=False).items()}
    ci = ci_table(runs["flex"], reps=100)
    assert len(ci) == 2 + 2 * 13
    assert ((ci["Mean lo"] <= ci["Mean"]) & (ci["Mean"] <= ci["Mean hi"])).all()
    assert (ci["Block"] >= 24).all() and (ci["SE HAC"] > 0).all() and (ci["SE boot"] > 0).all()
    paired = paired_table(runs, periods=[1, "match"], reps=100)
    match = paired[paired["Min period"] == "Match"]
    assert (match["Mean diff"].abs() < 1e-9).all() and (match["p (HAC)"] == 1.0).all()  # flex is TWAP there
    early = paired[paired["Min period"] == "1"]
    assert (early["CI lo"] > 0).all() and (early["p (HAC)"] < 0.05).all()  # stopping early beats TWAP, both sides
    assert (paired["Holm p"] >= paired["p (HAC)"]).all()
    # within groups: one group holding every order is the paired table; the groups' Ns add up to the total
    whole = paired_breakdown(runs, by="asset", periods=[1, "match"], reps=100)
    pd.testing.assert_frame_equal(whole.drop(columns=["Asset", "perf_bps"]), paired)
    by_regime = paired_breakdown(runs, by="regime", periods=[1], reps=100)
    assert by_regime.groupby(["Side"])["N"].sum().eq(runs["flex"].n_orders).all()
    means = by_regime[by_regime["Side"] == "BUY"]
    weighted = (means["perf_bps"] * means["N"]).sum() / means["N"].sum()
    assert weighted == approx(np.nanmean(runs["flex"].column("perf_bps", "buy-vwap-quantity-m1")), abs=1e-9)


def test_report_on_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not an execbench run folder" in capsys.readouterr().err


def test_report_tables_as_text_keep_every_cell_on_its_row():
    """Numbers right-aligned, text left-aligned, repeated column names and line breaks in cells kept
    on one row, an empty table drawn with its header."""
    from execbench.reporting.report import _table_lines

    frame = pd.DataFrame([["twap", 1.2345, "a\nb"], ["flex", -10.0, "c"]], columns=["Strategy", "x", "x"])
    headers, rows = _table_lines(frame)
    assert len(rows) == 2 and len({len(r) for r in headers + rows}) == 1  # one width
    assert rows[0].startswith("twap    ") and rows[0].split()[1:] == ["1.23", "a", "b"]
    assert rows[1].split()[1] == "-10.00" and rows[0].index("1.23") + 4 == rows[1].index("-10.00") + 6
    headers, rows = _table_lines(frame.iloc[:0])
    assert rows == [] and "Strategy" in headers[-1]
