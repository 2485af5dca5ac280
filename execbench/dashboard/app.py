"""The execbench dashboard (a Streamlit script; start it with ``execbench dashboard``).

Thin: every number comes from ``execbench.explore`` (which reads what runs, comparisons and sweeps
saved) and every new run is the CLI's own ``execbench run``.  What is read is cached per folder
(``st.cache_data`` / ``st.cache_resource``, keyed by the folder's path and its record's mtime).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd
import streamlit as st

import execbench.explore as ex
from execbench.dashboard.launch import FOLDERS_ENV
from execbench.errors import ExecbenchError
from execbench.explore import figures
ROOTS = tuple(os.environ.get(FOLDERS_ENV, "reports").split(os.pathsep))
SIDES = ("buy", "sell")


# -- cached reads -------------------------------------------------------------------------------------------
@st.cache_data(show_spinner="reading the folders…")
def infos(roots: tuple[str, ...], generation: tuple[int, ...]) -> list[ex.FolderInfo]:
    return ex.discover(roots)


@st.cache_data(show_spinner="reading the statistics…")
def index(roots: tuple[str, ...], generation: tuple[int, ...]) -> pd.DataFrame:
    return ex.results_index(infos(roots, generation))


@st.cache_resource(show_spinner="reading the per-order results…", max_entries=4)
def runs(info: ex.FolderInfo):
    return ex.per_order(info)


@st.cache_data(show_spinner="computing the execution curves…")
def fan(info: ex.FolderInfo, strategy: str, side: str, target: str, period: str) -> pd.DataFrame:
    return ex.execution_fan(info, strategy, side, target, _period_value(period))


@st.cache_data(show_spinner="bootstrapping the CIs…")
def min_period(info: ex.FolderInfo, side: str, benchmark: str, target: str) -> pd.DataFrame:
    return ex.min_period_effect(runs(info), side, benchmark, target)


@st.cache_data(show_spinner="running the paired tests…")
def paired(info: ex.FolderInfo, benchmark: str, target: str) -> pd.DataFrame:
    return ex.paired(info, runs(info), benchmark, target)


@st.cache_data(show_spinner="computing the breakdown…")
def breakdown(info: ex.FolderInfo, by: str, benchmark: str, target: str) -> pd.DataFrame:
    return ex.breakdown(info, by, runs=runs(info) if info.per_order else None, benchmark=benchmark, target=target)


def generation() -> tuple[int, ...]:
    """Changes when a folder appears or goes under a root (the roots' and their sub-folders' mtimes): the
    cache key of what was discovered, so a run saved meanwhile (from the form, or the CLI) shows."""
    stamps = []
    for root in map(Path, ROOTS):
        if root.is_dir():
            stamps += [root.stat().st_mtime_ns, *(p.stat().st_mtime_ns for p in root.iterdir() if p.is_dir())]
    return tuple(stamps)


def refresh() -> None:
    st.cache_data.clear()


def _period_value(period: str) -> int | str:
    return period if period == "match" else int(period)


def _infos(kinds: tuple[str, ...]) -> list[ex.FolderInfo]:
    return [i for i in infos(ROOTS, generation()) if i.kind in kinds]


def _pick(kinds: tuple[str, ...], label: str) -> ex.FolderInfo | None:
    """A folder selector; ``?folder=NAME`` in the URL preselects one."""
    found = _infos(kinds)
    if not found:
        st.info(f"No {' or '.join(kinds)} folders under {', '.join(ROOTS)}. Make one with `execbench compare …`, "
                "`execbench sweep …` or the New run page.")
        return None
    names = [i.name for i in found]
    wanted = st.query_params.get("folder")
    default = names.index(wanted) if wanted in names else 0
    name = st.selectbox(label, names, index=default, key=f"folder-{'-'.join(kinds)}")
    st.query_params["folder"] = name
    return found[names.index(name)]


def _downloads(info: ex.FolderInfo) -> None:
    with st.expander("Downloads: tables (CSV) and the PDF report"):
        columns = st.columns(4)
        for k, (stem, path) in enumerate(info.tables().items()):
            columns[k % 4].download_button(f"{stem}.csv", path.read_bytes(), file_name=f"{info.name}-{stem}.csv",
                                           mime="text/csv", key=f"dl-{info.name}-{stem}")
        report = info.report
        if report is not None:
            st.download_button(f"PDF report ({report.name})", report.read_bytes(), file_name=f"{info.name}.pdf",
                               mime="application/pdf", key=f"dl-{info.name}-pdf")
        elif info.kind in ("run", "comparison"):
            st.caption("No PDF report in this folder yet.")
            if st.button("Build the PDF report", key=f"build-{info.name}",
                         disabled=not info.per_order, help=None if info.per_order else "needs results_*.npz"):
                with st.status("execbench report …", expanded=True) as status:
                    code = _stream([*_cli(), "report", str(info.path)], status)
                if code == 0:
                    st.rerun()


def _scenario_selectors(info: ex.FolderInfo, key: str) -> tuple[str, str, str, str]:
    columns = st.columns(4)
    side = columns[0].radio("side", SIDES, horizontal=True, key=f"side-{key}")
    periods = [str(m) for m in range(1, (info.horizon or 12) + 1)] + ["match"]
    period = columns[1].selectbox("minimum period", periods, key=f"period-{key}")
    benchmark = columns[2].radio("benchmark", ("vwap", "twap"), horizontal=True, key=f"bench-{key}")
    target = columns[3].radio("target", ("quantity", "notional"), horizontal=True, key=f"target-{key}")
    return side, period, benchmark, target


def _error(exc: Exception) -> None:
    st.warning(str(exc))


# -- pages --------------------------------------------------------------------------------------------------
def page_runs() -> None:
    st.title("Runs")
    st.caption("Every saved run, comparison, sweep and table folder under " + ", ".join(ROOTS))
    if st.button("Refresh", key="refresh-runs"):
        refresh()
    found = infos(ROOTS, generation())
    if not found:
        st.info("Nothing saved yet.")
        return
    table = pd.DataFrame([i.summary() for i in found])
    st.dataframe(table.drop(columns=["path"]), hide_index=True, width="stretch")
    for kinds, page in ((("comparison", "run"), "compare"), (("sweep",), "sweep")):
        names = [i.name for i in found if i.kind in kinds]
        if names:
            st.markdown(f"Open in the {PAGES[page].title.lower()} view: "
                        + " · ".join(f"[{n}](/{page}?folder={n})" for n in names))
    names = [i.name for i in found]
    wanted = st.query_params.get("folder")
    name = st.selectbox("details of", names, index=names.index(wanted) if wanted in names else 0, key="run-detail")
    info = found[names.index(name)]
    left, right = st.columns(2)
    left.markdown(f"**Command:** `{info.command or '(not recorded)'}`")
    left.markdown(f"**Audit:** {info.audit_summary}  \n**execbench:** {info.version or '?'}  \n"
                  f"**Created (UTC):** {info.created}  \n**Per-order results:** "
                  + ("present" if info.per_order else "absent (tables only; the examples do not commit them)"))
    if info.record:
        right.json({k: v for k, v in info.record.items() if k in ("split", "orders", "data", "conventions",
                                                                   "strategy_params", "environment", "options")},
                   expanded=False)
    if info.kind == "tables":
        for path in sorted(info.path.glob("*.png")):
            st.image(str(path), caption=path.name)
        for stem, path in info.tables().items():
            st.markdown(f"**{stem}**")
            st.dataframe(pd.read_csv(path), hide_index=True)
    elif info.kind in ("run", "comparison"):
        rows = index(ROOTS, generation())
        st.dataframe(rows[rows["folder"] == info.name].drop(columns=["folder", "kind"]), hide_index=True, height=300)
    _downloads(info)


def page_compare() -> None:
    st.title("Comparison")
    info = _pick(("comparison", "run"), "folder")
    if info is None:
        return
    st.caption(f"{', '.join(info.strategies)} on {', '.join(info.assets)} {', '.join(info.freqs)}, T={info.horizon}, "
               f"test origins {info.first_origin[:10]} → {info.last_origin[:10]}; audit {info.audit_summary}. "
               "perf_bps: positive = better; bps columns: the paper's sign.")
    side, period, benchmark, target = _scenario_selectors(info, "compare")
    rows = index(ROOTS, generation())
    rows = rows[(rows["folder"] == info.name) & (rows["benchmark"] == benchmark) & (rows["target"] == target)
                & (rows["period"] == period) & (rows["side"] == side)]
    st.subheader("Comparison table")
    st.dataframe(rows[["strategy", "side", "bps_N", "bps_Mean", "bps_Std", "bps_Median", "bps_P5", "bps_P95",
                       "perf_bps_mean", "hit_rate", "mean_end_bar", "audit"]], hide_index=True, width="stretch")
    view = st.segmented_control("view", ["Distributions", "Execution curves", "Minimum period", "Paired vs TWAP",
                                         "Breakdowns"], default="Distributions", key="compare-view")
    try:
        if view == "Breakdowns":
            by = st.radio("by", ex.tables.BREAKDOWN_KEYS, horizontal=True, key="breakdown-by")
            table = breakdown(info, by, benchmark, target)
            st.dataframe(table, hide_index=True, width="stretch")
            key = by.capitalize()
            part = table[table["Min period"].astype(str) == "1"] if "Min period" in table else table
            if len(part) and "perf_bps" in part:
                st.plotly_chart(figures.bar_figure(part[part["Side"] == side.upper()], key, "Mean diff", "Strategy",
                                                   f"{side.upper()}, m=1: mean perf_bps difference vs TWAP by {by}"))
            return
        ex.tables.needs_per_order(info, f"the {view.lower()} view")
        loaded = runs(info)
        if view == "Distributions":
            samples = ex.perf_samples(loaded, side, benchmark, target, _period_value(period))
            st.plotly_chart(figures.density_figure(samples, f"{side.upper()}, m={period}, {benchmark.upper()} "
                                                   f"benchmark, {target} target"), key="density")
        elif view == "Execution curves":
            fans = {s: fan(info, s, side, target, period) for s in info.strategies}
            st.plotly_chart(figures.fan_figure(fans, f"{side.upper()}, m={period}, {target} target (VWAP scenarios)",
                                               None if period == "match" else int(period)), key="fan")
        elif view == "Minimum period":
            table = min_period(info, side, benchmark, target)
            st.plotly_chart(figures.min_period_figure(table, f"{side.upper()}: effect of the minimum period "
                                                      "(95 % date-block CIs)"), key="minperiod")
            st.dataframe(table, hide_index=True)
        elif view == "Paired vs TWAP":
            table = paired(info, benchmark, target)
            st.dataframe(table, hide_index=True, width="stretch")
            part = table[table["Side"] == side.upper()]
            st.plotly_chart(figures.min_period_figure(
                part.rename(columns={"Strategy": "strategy", "Min period": "period", "Mean diff": "perf_bps",
                                     "CI lo": "ci_lo", "CI hi": "ci_hi"}),
                f"{side.upper()}: mean perf_bps difference vs TWAP on the same orders (95 % CIs; Holm p in the table)"),
                key="paired")
    except ExecbenchError as exc:
        _error(exc)
    _downloads(info)


def page_sweep() -> None:
    st.title("Sweep")
    info = _pick(("sweep",), "sweep folder")
    if info is None:
        return
    rows = index(ROOTS, generation())
    rows = rows[rows["folder"] == info.name]
    st.caption(f"{len(info.record.get('grid', []))} cells: {', '.join(info.strategies)} × {', '.join(info.assets)} × "
               f"{', '.join(info.freqs)}; audits {info.audit_summary}. Command: `{info.command}`")
    columns = st.columns(5)
    side = columns[0].radio("side", SIDES, horizontal=True, key="sweep-side")
    freq = columns[1].selectbox("frequency", sorted(rows["freq"].unique(), key=lambda f: pd.Timedelta(f.replace("m", "min"))),
                                key="sweep-freq")
    period = columns[2].selectbox("minimum period", [str(m) for m in range(1, (info.horizon or 12) + 1)] + ["match"],
                                  key="sweep-period")
    metric = columns[3].selectbox("value", ["perf_bps_mean", "bps_Mean", "bps_Std", "hit_rate", "bps_P5", "bps_P95"],
                                  key="sweep-metric")
    benchmark = columns[4].radio("benchmark", ("vwap", "twap"), horizontal=True, key="sweep-bench")
    cell = rows[(rows["side"] == side) & (rows["freq"] == freq) & (rows["period"] == period)
                & (rows["benchmark"] == benchmark) & (rows["target"] == "quantity")]
    st.plotly_chart(figures.heatmap_figure(cell, metric, "asset", "strategy",
                                           f"{metric} by strategy × asset ({side}, {freq}, m={period}; mean over seeds)"),
                    key="heatmap")
    strategy = st.selectbox("drill into strategy", sorted(cell["strategy"].unique()), key="sweep-strategy")
    asset = st.selectbox("and asset", sorted(cell["asset"].unique()), key="sweep-asset")
    detail = rows[(rows["strategy"] == strategy) & (rows["asset"] == asset) & (rows["freq"] == freq)]
    st.dataframe(detail.drop(columns=["folder", "kind"]), hide_index=True, height=320)
    _downloads(info)


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("execbench")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "execbench.cli"]


def _stream(command: list[str], status) -> int:
    """Run the CLI, showing its output as it comes; returns its exit code."""
    shown = st.empty()
    lines: list[str] = []
    started = time.perf_counter()
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "110"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as process:
        for line in process.stdout:
            lines.append(line.rstrip())
            status.update(label=f"{' '.join(command[1:4])} … {time.perf_counter() - started:.0f} s")
            shown.code("\n".join(lines[-25:]))
    state = "complete" if process.returncode == 0 else "error"
    status.update(label=f"finished in {time.perf_counter() - started:.0f} s (exit {process.returncode})", state=state)
    return process.returncode


def page_new_run() -> None:
    from execbench.data.bundled import UNIVERSES, bundled_datasets
    from execbench.strategy.registry import available_strategies

    st.title("New run")
    st.caption("Runs the CLI's own audited pipeline (`execbench run`) and saves the folder exactly as the CLI does.")
    assets = sorted({e.asset for e in bundled_datasets()}) + sorted(UNIVERSES)
    names = sorted(available_strategies())
    with st.form("new-run"):
        columns = st.columns(3)
        strategy = columns[0].selectbox("strategy", names, index=names.index("twap"))
        asset = columns[1].selectbox("asset", assets, index=assets.index("BTCUSDT") if "BTCUSDT" in assets else 0)
        freq = columns[2].text_input("frequency (empty: native)", "")
        columns = st.columns(3)
        horizon = columns[0].number_input("horizon T (bars)", min_value=1, max_value=500, value=12, step=1)
        test_start = columns[1].date_input("test start", date(2025, 7, 1))
        test_end = columns[2].date_input("test end (exclusive)", date(2025, 8, 1))
        audit = st.checkbox("audit for look-ahead (recommended)", value=True)
        submitted = st.form_submit_button("Run")
    if not submitted:
        return
    root = Path(ROOTS[0])
    out = root / f"{asset}-{strategy}-{time.strftime('%Y%m%dT%H%M%S')}"
    command = [*_cli(), "run", "--strategy", strategy, "--asset", asset, "--horizon", str(int(horizon)),
               "--test-start", str(test_start), "--test-end", str(test_end), "--out", str(out)]
    command += ["--freq", freq.strip()] if freq.strip() else []
    command += [] if audit else ["--no-audit"]
    st.code("execbench " + " ".join(command[len(_cli()):]), language="bash")
    with st.status("starting …", expanded=True) as status:
        code = _stream(command, status)
    if code != 0:
        st.error(f"execbench run exited with {code}; its message is above.")
        return
    refresh()
    info = ex.read_folder(out)
    st.success(f"Saved {out}: audit {info.audit_summary}.")
    rows = ex.scenario_rows(info)
    st.dataframe(rows[rows["period"].isin(["1", "match"])][["strategy", "scenario", "bps_N", "bps_Mean", "bps_Std",
                                                            "perf_bps_mean", "hit_rate"]], hide_index=True)
    st.markdown(f"[Open {out.name} in the comparison view](/compare?folder={out.name})")


def page_ask() -> None:
    st.title("Ask")
    st.caption("Questions about the saved results, answered from their tables (no model, no network). "
               "Try: 'which strategy has the lowest risk for sells?', 'compare lem with twap', "
               "'best hit rate for buys on ETH at 1h', 'what does perf_bps mean?'.")
    question = st.text_input("question", key="question", placeholder="which strategy is best for sells at m=1?")
    if not question:
        return
    found = infos(ROOTS, generation())
    reply = ex.answer(question, found, index=index(ROOTS, generation()))
    (st.success if reply.answered else st.info)(reply.text)
    if len(reply.table):
        st.dataframe(reply.table, hide_index=True, width="stretch")
    if reply.chart is not None and len(reply.table):
        x, y, colour = reply.chart
        st.plotly_chart(figures.bar_figure(reply.table, x, y, colour, f"{y} — {reply.folder}"), key="answer-chart")
    if reply.command:
        st.markdown("Creates the folder these numbers come from:")
        st.code(reply.command, language="bash")
    if reply.code:
        st.markdown("Reads them back:")
        st.code(reply.code, language="python")
    st.caption(repr(reply.query))


PAGES = {
    "runs": st.Page(page_runs, title="Runs", default=True),
    "compare": st.Page(page_compare, title="Comparison", url_path="compare"),
    "sweep": st.Page(page_sweep, title="Sweep", url_path="sweep"),
    "new": st.Page(page_new_run, title="New run", url_path="new"),
    "ask": st.Page(page_ask, title="Ask", url_path="ask"),
}

st.set_page_config(page_title="execbench", layout="wide")
st.navigation(list(PAGES.values())).run()
