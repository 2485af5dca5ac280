"""The PDF report of a run or a comparison folder (``execbench report RUN_DIR``).

Everything in it is read or computed from the folder itself: ``run.json``/``compare.json``, the
tables the run wrote, and ``results_<strategy>.npz``.  Figures are also written to ``figures/`` as
PNG and vector PDF.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import textwrap
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from execbench.reporting import figures  # first: it picks the matplotlib backend

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402

from execbench.analysis.inference import BLOCK_FACTOR, DEFAULT_REPS  # noqa: E402
from execbench.analysis.decomposition import edge_table  # noqa: E402
from execbench.analysis.significance import ci_table, paired_breakdown, paired_table  # noqa: E402
from execbench.contracts import MATCH, report_periods  # noqa: E402
from execbench.errors import ParameterError  # noqa: E402
from execbench.results import RunData, load_run, read_manifest, verify_file  # noqa: E402
from execbench.threads import cores  # noqa: E402

A4 = (8.27, 11.69)


def _fmt(value: Any, p_value: bool = False) -> str:
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        if p_value:
            return "<1e-4" if value < 1e-4 else f"{value:.2g}"
        return "0.00" if abs(value) < 0.005 else f"{value:.2f}"
    return str(value)


def _text_page(pdf: "_Pages | PdfPages", title: str, lines: list[str]) -> None:
    fig = plt.figure(figsize=A4)
    fig.text(0.07, 0.95, "\n".join(textwrap.wrap(title, 48)), fontsize=16, weight="bold", va="top")
    wrapped = []
    for line in lines:
        wrapped += textwrap.wrap(line, 100, subsequent_indent="    ") or [""]
    fig.text(0.07, 0.95 - 0.03 * len(textwrap.wrap(title, 48)) - 0.01, "\n".join(wrapped), fontsize=8, va="top",
             family="monospace")
    pdf.savefig(fig)
    plt.close(fig)


MONO_ADVANCE = 0.602  # DejaVu Sans Mono's advance width, in ems
COLUMN_GAP = 2  # spaces between columns
LINE_SPACING = 1.45


def _table_lines(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The table as monospace text: header lines (headers wrapped at 10 characters) and one line per
    row; text columns left-aligned, numbers right-aligned, every column as wide as its widest entry."""
    columns = []
    for j, c in enumerate(frame.columns):  # by position: column names may repeat
        column = frame.iloc[:, j]
        values = [" ".join(_fmt(v, p_value=str(c).endswith(" p") or str(c).startswith("p ")).split("\n"))
                  for v in column]  # a cell is one line
        header = textwrap.wrap(str(c), 10) or [" "]
        width = max([len(line) for line in header] + [len(v) for v in values])
        numeric = column.dtype.kind in "fiu"
        columns.append((header, [v.rjust(width) if numeric else v.ljust(width) for v in values], width))
    depth = max(len(header) for header, _, _ in columns)
    gap = " " * COLUMN_GAP
    headers = [gap.join((header[k - depth + len(header)] if k >= depth - len(header) else "").center(width)
                        for header, _, width in columns) for k in range(depth)]
    rows = [gap.join(values[i] for _, values, _ in columns) for i in range(len(frame))]
    return headers, rows


def _table_pages(pdf: "_Pages | PdfPages", frame: pd.DataFrame, title: str, note: str = "") -> None:
    """Render a table across as many pages as it needs: no clipped rows or columns.  The table is
    monospace text (one text per block, not one artist per cell: a page draws in a few milliseconds
    where matplotlib's ``table`` took about a second), booktabs-style rules; wide tables go landscape
    and the font shrinks until every column fits the page."""
    headers, rows = _table_lines(frame)
    chars = max(len(line) for line in headers + rows[:1])
    portrait_fits = MONO_ADVANCE * 7.0 * chars <= 0.94 * A4[0] * 72
    size = A4 if portrait_fits else (A4[1], A4[0])
    fontsize = min(7.5, 0.94 * size[0] * 72 / (MONO_ADVANCE * chars))
    pitch = fontsize * LINE_SPACING / 72 / size[1]  # one line, in figure fractions (matplotlib spaces lines by this)
    top = 0.90 if note else 0.93
    per_page = max(1, int((top - 0.04 - pitch * (len(headers) + 1)) / pitch))
    chunks = [rows[i:i + per_page] for i in range(0, max(len(rows), 1), per_page)]
    width = MONO_ADVANCE * fontsize * chars / 72 / size[0]
    text = {"family": "monospace", "fontsize": fontsize, "va": "top", "linespacing": LINE_SPACING}
    for k, chunk in enumerate(chunks):
        fig = plt.figure(figsize=size)
        suffix = f" ({k + 1}/{len(chunks)})" if len(chunks) > 1 else ""
        fig.text(0.03, 0.97, title + suffix, fontsize=11, weight="bold", va="top")
        if note:
            fig.text(0.03, 0.94, "\n".join(textwrap.wrap(note, int(size[0] * 16))), fontsize=7, va="top")
        body = top - pitch * (len(headers) + 0.5)
        for y in (top + 0.25 * pitch, body + 0.25 * pitch, body - pitch * (len(chunk) + 0.25)):
            fig.add_artist(plt.Line2D([0.03, 0.03 + width], [y, y], color="black", linewidth=0.6))
        fig.text(0.03, top, "\n".join(headers), weight="bold", **text)
        fig.text(0.03, body, "\n".join(chunk), **text)
        pdf.savefig(fig)
        plt.close(fig)


_SHARED: dict = {}  # what forked figure workers read instead of a pickled copy: the loaded runs
_ALL_RUNS = "\0all"  # the key of the whole dict of runs (no strategy is named so)


class _Shared(str):
    """An argument of a figure job that names an entry of ``_SHARED`` (a worker resolves it)."""


def _draw_figure(maker: str, args: tuple, kwargs: dict, out_dir: Path, stem: str) -> Path:
    """Build ``figures.<maker>(*args, **kwargs)`` and save it as PNG and vector PDF; returns the PDF."""
    args = tuple(_SHARED[a] if isinstance(a, _Shared) else a for a in args)
    fig = getattr(figures, maker)(*args, **kwargs)
    try:
        return figures.save_figure(fig, out_dir, stem)[1]
    finally:
        plt.close(fig)


MAX_FIGURE_WORKERS = 8  # a report has a few dozen figures


def _figure_workers() -> int:
    """Worker processes for the figures: one per core this process may use, at most
    ``MAX_FIGURE_WORKERS`` (the main process computes the tables meanwhile; on 2 cores, 2 workers made
    the report of six 38 s where 1 made it 49 s); none but on Linux, where the workers are forked (other
    systems' fork is unsafe or missing, and another start method would pickle every run);
    ``EXECBENCH_REPORT_WORKERS`` overrides (0: draw in the main process)."""
    wanted = os.environ.get("EXECBENCH_REPORT_WORKERS", "").strip()
    if wanted and not wanted.isdigit():
        raise ParameterError(f"EXECBENCH_REPORT_WORKERS: expected a whole number of processes (0 or more), got {wanted!r}")
    if not sys.platform.startswith("linux"):
        return 0
    return int(wanted) if wanted else min(cores(), MAX_FIGURE_WORKERS)


def _quiet_worker() -> None:
    """A figure worker's own standard streams: it prints nothing, and a stream's lock copied by the fork
    while another thread of the parent (a terminal spinner) held it would block the worker's last flush."""
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the worker's whole life


class _Pages:
    """The report's pages in order.  Text and table pages are drawn into one matplotlib ``PdfPages``; a
    figure page is the figure's own vector PDF in ``figures/``, so each figure is drawn twice (PNG and
    PDF) instead of three times, in worker processes while the main one computes the tables;
    ``assemble`` joins them (pypdf)."""

    def __init__(self, drawn: PdfPages, figure_dir: Path, pool: Executor | None):
        self.drawn = drawn
        self.figure_dir = figure_dir
        self.pool = pool
        self.order: list[int | Path | Future] = []  # a page of ``drawn`` (its number) or a figure's PDF
        self._count = 0
        self._early: dict[str, Future] = {}  # figures submitted before their page comes (``prefetch``)

    def savefig(self, fig) -> None:
        self.drawn.savefig(fig)
        self.order.append(self._count)
        self._count += 1

    def figure(self, stem: str, maker: str, *args, **kwargs) -> None:
        """A figure page: ``figures.<maker>(*args, **kwargs)``, saved as ``figures/<stem>.png|pdf`` (the job
        ``prefetch`` submitted for ``stem``, if it did)."""
        early = self._early.pop(stem, None)
        if early is not None:
            self.order.append(early)
            return
        job = (maker, args, kwargs, self.figure_dir, stem)
        self.order.append(self.pool.submit(_draw_figure, *job) if self.pool else _draw_figure(*job))

    def prefetch(self, jobs: list[tuple[str, str, tuple]]) -> None:
        """Start drawing figures (stem, maker, args) whose pages come later, so that the workers draw while
        the main process computes the tables before them; without workers, nothing (they are drawn when
        their page comes)."""
        if self.pool:
            for stem, maker, args in jobs:
                self._early[stem] = self.pool.submit(_draw_figure, maker, args, {}, self.figure_dir, stem)

    def assemble(self, drawn_path: Path, out: Path) -> None:
        from pypdf import PdfReader, PdfWriter  # only where a report is written

        if self._early:
            raise RuntimeError(f"report: figures {sorted(self._early)} were drawn but given no page")
        drawn = PdfReader(drawn_path)
        writer = PdfWriter()
        for page in self.order:
            if isinstance(page, int):
                writer.add_page(drawn.pages[page])
            else:
                writer.add_page(PdfReader(page.result() if isinstance(page, Future) else page).pages[0])
        writer.add_metadata({"/Creator": "execbench", "/Title": "execbench report"})
        writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)  # shared fonts once
        with open(out, "wb") as handle:
            writer.write(handle)


def _title_lines(record: dict, runs: dict[str, RunData]) -> list[str]:
    orders = record["orders"]
    data = record.get("data", {})
    audit = record.get("audit")
    audits = audit if isinstance(audit, dict) and "passed" not in audit else {record["strategy"]: audit}
    lines = [
        f"strategies:      {', '.join(runs)}",
        f"parameters:      {record.get('strategy_params')}",
        f"asset:           {record['asset']} {record['freq']} bars, horizon T = {record['horizon']}, "
        f"{record['scenarios']} scenarios",
        f"split:           train before {record['split']['train_end'][:10]}, test from "
        f"{record['split']['test_start'][:10]}" + (f" to {record['split']['test_end'][:10]}" if record['split'].get('test_end') else ""),
        f"orders:          {orders['evaluated']:,} (origins {orders['first_origin'][:16]} to {orders['last_origin'][:16]}), "
        f"skipped {orders['skipped']}",
        f"assets:          {', '.join(orders['assets'])}",
        "",
        "look-ahead audit:",
    ]
    for name, result in audits.items():
        if result is None:
            lines.append(f"  {name}: not run (--no-audit)")
        elif result["passed"]:
            miss = result.get("miss_probability", {}).get("0.01")
            power = "" if miss is None else f"; a leak on 1 % of orders is missed with probability {miss:.2%}"
            lines.append(f"  {name}: passed ({result['steps']} steps x {len(result['inputs'])} inputs, "
                         f"{result['orders']} orders{power})")
        else:
            leak = result["first_leak"]
            lines.append(f"  {name}: FAILED at step {leak['step']} ({leak['input']}, bar {leak['bar']})")
    for name, found in (record.get("warnings") or {}).items():
        lines += [f"  WARNING {name}: {w}" for w in found]
    lines += ["", "data provenance:"]
    for source in data.get("sources", [])[:6]:
        lines.append(f"  {source}")
    if len(data.get("sources", [])) > 6:
        lines.append(f"  ... and {len(data['sources']) - 6} more files")
    lines.append(f"  sha256 {data.get('sha256')}")
    lines += ["", "conventions:"]
    for key, value in record.get("conventions", {}).items():
        lines.append(f"  {key}: {value}")
    lines += ["", f"statistics: 95 % percentile CIs from a stationary bootstrap over origin dates, all assets "
                  f"together ({DEFAULT_REPS} resamples); the expected block length is chosen per series "
                  f"(Politis-White, at least {BLOCK_FACTOR} x T dates) and is also the lag of the Newey-West "
                  f"(HAC) standard error; paired p-values are HAC t-tests of the mean difference (the quantity "
                  f"the CI is about), Holm-adjusted across the comparisons with TWAP."]
    lines += ["", f"execbench {record.get('execbench_version')}, created {record.get('created_utc')}, "
                  f"command: {record.get('command')}"]
    return lines


def _option_pages(pdf: "_Pages", run_dir: Path, runs: dict[str, RunData], flexible: list, seed: int) -> None:
    """The edge three ways and its split into the option's value and the rest: two sentences, a figure
    and the table (or a note, for a folder written before execbench recorded them)."""
    title = "What flexibility is worth"
    if any(run.option_bps is None or run.full_bps is None for run in runs.values()):
        _text_page(pdf, title, ["This folder was written before execbench recorded the full-window and arrival "
                                "benchmarks and the stopping policy's result per order; run it again to see the "
                                "decomposition of the edge."])
        return
    edges = edge_table(runs, periods=[*flexible, MATCH], seed=seed)
    note = ("A flexible contract is scored against the benchmark of the window the trader ends, and choosing that window "
            "is an option: a policy with no information about prices (optstop: optimal stopping on a driftless model "
            "fitted on the training bars) already earns the dashed line against the realised-window benchmark. "
            "Only the rest (a strategy's edge minus the option's value on the same orders; paired CIs in the next "
            "table) is evidence that a strategy knows something; against the full window (dotted), which no choice "
            "of window moves, the option is worth nothing.")
    pdf.figure("option_decomposition", "option_decomposition", edges, note=note)
    shown = edges.drop(columns=[c for c in edges.columns if c.endswith((" lo", " hi")) and not c.startswith("Rest")])
    _table_pages(pdf, shown, "Edge three ways, and option + rest (perf_bps, positive = better)",
                 "vs realised: the contract's benchmark; vs full: the benchmark over all T bars; vs arrival: the last "
                 "price before the origin; Option: optstop on the same orders; Rest = vs realised - Option with its "
                 "95 % date-block CI and HAC p-value.")


def build_report(run_dir: str | Path, *, periods: list[int | str] | None = None, seed: int = 0) -> Path:
    """Write ``report.pdf`` (and ``figures/``) into a run or comparison folder; return its path."""
    run_dir = Path(run_dir)
    record, runs = load_run(run_dir)  # checks the manifest: one complete run, nothing mixed in
    manifest = read_manifest(run_dir)
    horizon = int(record["horizon"])
    periods = periods or report_periods(horizon)
    flexible = [p for p in periods if p != MATCH]
    path = run_dir / "report.pdf"
    partial = run_dir / ".report.pdf.partial"  # renamed into place when complete
    is_compare = "compare.json" in manifest["files"]
    try:
        _write_pages(partial, run_dir, record, runs, periods, flexible, is_compare, manifest, seed)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _write_pages(partial: Path, run_dir: Path, record: dict, runs: dict[str, RunData], periods: list, flexible: list,
                 is_compare: bool, manifest: dict, seed: int) -> None:
    drawn = partial.with_name(partial.name + ".drawn")  # the text and table pages
    workers = _figure_workers()
    _SHARED.clear()
    _SHARED.update(runs)  # before the first job forks a worker
    _SHARED[_ALL_RUNS] = runs
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_quiet_worker) \
        if workers else None
    try:
        with PdfPages(drawn) as pages:
            pdf = _Pages(pages, run_dir / "figures", pool)
            _draw_pages(pdf, run_dir, record, runs, periods, flexible, is_compare, manifest, seed)
        pdf.assemble(drawn, partial)
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
        _SHARED.clear()
        drawn.unlink(missing_ok=True)


def _run_figures(name: str, run: RunData, periods: list, flexible: list,
                 ci: pd.DataFrame | None = None) -> list[tuple[str, str, tuple]]:
    """One strategy's figure pages in order, as (stem, maker, args); the mean-by-period figure only with its
    ``ci`` table (a run's report has it, a comparison's does not)."""
    shared = _Shared(name)
    jobs = [(f"{name}_density_m{flexible[0]}", "slippage_density", (shared, flexible[0]))]
    if len(flexible) > 1:
        middle = flexible[len(flexible) // 2]
        jobs.append((f"{name}_density_m{middle}", "slippage_density", (shared, middle)))
    if run.allocations is not None:
        jobs.append((f"{name}_execution_curves", "execution_curves", (shared, periods)))
    if ci is not None:
        jobs.append((f"{name}_mean_by_period", "mean_by_period", (ci, name)))
    if run.orders["asset"].nunique() > 1:
        jobs.append((f"{name}_by_asset", "breakdown", (shared, "asset", [flexible[0], MATCH])))
    jobs.append((f"{name}_by_year", "breakdown", (shared, "year", [flexible[0], MATCH])))
    return jobs


def _compare_figures(flexible: list) -> list[tuple[str, str, tuple]]:
    """A comparison's closing figures: every strategy's density, per side."""
    return [(f"strategies_density_{side}_m{flexible[0]}", "strategies_density", (_Shared(_ALL_RUNS), flexible[0], side))
            for side in ("buy", "sell")]


def _draw_pages(pdf: _Pages, run_dir: Path, record: dict, runs: dict[str, RunData], periods: list, flexible: list,
                is_compare: bool, manifest: dict, seed: int) -> None:
    _text_page(pdf, f"execbench {'comparison' if is_compare else 'run'}: {', '.join(runs)} on {record['asset']} "
                    f"{record['freq']}",
               _title_lines(record, runs))
    table_files = [("comparison.csv", "Comparison: mean bps on the same orders")] if is_compare else [
        ("paper_table.csv", "Paper-format table (bps, paper sign)"),
        ("min_period_mean.csv", "Mean bps by minimum period and scenario"),
        ("min_period_std.csv", "Std of bps by minimum period and scenario"),
    ]
    sign = record.get("conventions", {}).get("sign", "")
    for name, title in table_files:
        if name in manifest["files"]:
            _table_pages(pdf, pd.read_csv(verify_file(run_dir, name, manifest)), title, sign)
    pdf.prefetch([job for name, run in runs.items() for job in _run_figures(name, run, periods, flexible)]
                 + (_compare_figures(flexible) if is_compare and "twap" in runs else []))
    _option_pages(pdf, run_dir, runs, flexible, seed)
    for name, run in runs.items():
        ci = ci_table(run, seed=seed, periods=None if not is_compare else periods)
        _table_pages(pdf, ci, f"{name}: statistics with 95 % block-bootstrap CIs (VWAP benchmark, quantity target)",
                     "Mean and median with CIs; hit rate = share of orders better than the benchmark (side-adjusted); "
                     + sign)
        for stem, maker, args in _run_figures(name, run, periods, flexible, None if is_compare else ci):
            pdf.figure(stem, maker, *args)
    if is_compare and "twap" in runs:
        paired = paired_table(runs, periods=periods, seed=seed)
        _table_pages(pdf, paired, "Paired comparison with TWAP on the same orders (perf_bps, positive = better)",
                     "Mean difference with a 95 % date-block-bootstrap CI, bootstrap and HAC standard errors, the "
                     "HAC t-test of a zero mean difference and its Holm adjustment over all rows; Block: the "
                     "expected block length in dates, chosen from the data.")
        if "regime" in runs["twap"].orders:
            by_regime = paired_breakdown(runs, by="regime", periods=[flexible[0], MATCH], seed=seed)
            _table_pages(pdf, by_regime.drop(columns=["vs", "SE boot", "SE HAC", "Dates", "Block"]),
                         "Paired comparison with TWAP by volatility regime (perf_bps, positive = better)",
                         "Within each causal volatility regime at the origin (HH/HL/LH/LL: realised volatility and "
                         "its volatility above or below their 30-day medians): the strategy's mean perf_bps and its "
                         "mean difference with TWAP on the same orders, 95 % date-block CI with the blocks over the "
                         "whole period, Holm-adjusted HAC p over all rows.")
        for stem, maker, args in _compare_figures(flexible):
            pdf.figure(stem, maker, *args)
    elif is_compare:
        _text_page(pdf, "Paired comparison", ["No paired tests: 'twap', the reference, was not among the "
                                              "compared strategies."])
