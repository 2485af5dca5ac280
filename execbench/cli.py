"""Command-line interface (thin: parse, call the library, print, save)."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
import warnings
from dataclasses import fields
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from execbench.audit import AuditReport, audit_strategy
from execbench.contracts import BENCHMARKS, TARGETS
from execbench.data import bundled_assets, load_bars
from execbench.data.loading import SYNTHETIC_OPTIONS
from execbench.engine import ImpactModel
from execbench.errors import ExecbenchError
from execbench.evaluate import compare, evaluate, make_split, training_bars
from execbench.market.heston import HestonParams
from execbench.output import (
    SIGN_CONVENTION,
    default_out_dir,
    save_comparison,
    save_evaluation,
)
from execbench.registry import (
    available_strategies,
    load_fitted,
    load_strategy,
    parse_params,
)
from execbench.shortfall import shortfall_table
from execbench.tables import (
    breakdown_table,
    comparison_table,
    format_number,
    paper_table,
    write_table,
)
from execbench.windows import DEFAULT_ORDER_SIZE

# rich wraps at 80 columns when not writing to a terminal; the paper table needs ~110
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True)


def _frame_table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        table.add_column(str(column), justify="right" if pd.api.types.is_numeric_dtype(frame[column]) else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*[format_number(v) for v in row])
    return table


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


def _command_line() -> str | None:
    return "execbench " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("execbench") else None


IMPACT_PARAMS = {"impact": "eps", "impact_beta": "beta", "permanent": "gamma", "permanent_delta": "delta",
                 "impact_on_benchmark": "benchmark_with_impact"}


def _split_params(args: argparse.Namespace) -> tuple[dict, dict, ImpactModel | None]:
    """``--param`` values for the synthetic market, the impact model and the strategy (in that order
    of precedence, by name)."""
    params = parse_params(getattr(args, "param", None))
    market: dict = {}
    if str(args.asset).lower().startswith("synthetic:"):
        names = {f.name for f in fields(HestonParams)} | set(SYNTHETIC_OPTIONS)
        market = {k: params.pop(k) for k in list(params) if k in names}
    impact_args = {IMPACT_PARAMS[k]: params.pop(k) for k in list(params) if k in IMPACT_PARAMS}
    impact = ImpactModel(**impact_args) if impact_args else None
    return market, params, impact


def _load(args: argparse.Namespace, market: dict | None = None):
    with console.status(f"loading {args.asset} {args.freq or ''}"):
        bars = load_bars(args.asset, args.freq, synthetic=market)
    return bars, make_split(bars, args.test_start, args.val_start, args.test_end)


def _audit(strategy, bars, split, args) -> AuditReport | None:
    if args.no_audit:
        console.print("[yellow]look-ahead audit skipped (--no-audit)[/]")
        return None
    with console.status(f"look-ahead audit of {strategy.name}"):
        report = audit_strategy(strategy, bars, horizon=args.horizon, split=split, fit=False, seed=args.seed)
    style = "green" if report.passed else "bold red"
    console.print(f"[{style}]{report.summary()}[/]", highlight=False)
    return report


BREAKDOWNS = ("regime", "asset", "year")


def _breakdowns(text: str | None) -> list[str]:
    keys = [b.strip() for b in text.split(",") if b.strip()] if text else []
    bad = [k for k in keys if k not in BREAKDOWNS]
    if bad:
        raise ExecbenchError(f"--by {bad[0]!r}: expected a comma-separated list of {', '.join(BREAKDOWNS)}")
    return keys


def cmd_run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    by = _breakdowns(args.by)
    market, strategy_params, impact = _split_params(args)
    bars, split = _load(args, market)
    if args.state:
        strategy = load_fitted(args.state)
    else:
        strategy = load_strategy(args.strategy, **strategy_params)
        with console.status(f"fitting {strategy.name} on bars before {split.train_end.date()}"):
            strategy.fit(training_bars(bars, split.train_end))
    if args.save_state:
        console.print(f"saved fitted state to {strategy.save(args.save_state)}")
    report = _audit(strategy, bars, split, args)
    with _progress() as progress:
        task = progress.add_task(f"replaying {strategy.name}", total=None)
        evaluation = evaluate(
            strategy, bars, horizon=args.horizon, split=split, order_size=args.order_size, fit=False, impact=impact,
            on_windows=lambda w: progress.update(task, total=len(w)), progress=lambda k: progress.advance(task, k),
        )
    evaluation.timings["total_s"] = time.perf_counter() - started
    out_dir = Path(args.out) if args.out else default_out_dir(evaluation.asset, strategy.name)
    extra = {"command": _command_line(), "seed": args.seed, "audit": None if report is None else report.to_dict(),
             "fitted_state": args.state, "trained_on": getattr(strategy, "trained_on", None)}
    periods = [1, max(1, args.horizon // 2), "match"]
    paths = save_evaluation(evaluation, out_dir, benchmark=args.benchmark, target=args.target, extra=extra, by=by,
                            periods=periods)
    table = paper_table(evaluation.result, evaluation.baseline, strategy=strategy.name.upper(),
                        benchmark=args.benchmark, target=args.target)
    console.print(_frame_table(table, f"{strategy.name.upper()} on {evaluation.asset} {evaluation.freq}, "
                                      f"T={args.horizon}, {args.target} target vs {args.benchmark.upper()}"))
    impact_note = "no market impact" if impact is None or not impact.active else impact.describe()
    console.print(_frame_table(
        shortfall_table(evaluation.result, periods=periods, benchmark=args.benchmark, target=args.target),
        f"implementation shortfall vs arrival price (bps, positive = cost) = delay + timing + impact + opportunity; "
        f"{impact_note}"))
    for key in by:
        console.print(_frame_table(breakdown_table(evaluation.result, key, periods=periods, benchmark=args.benchmark,
                                                   target=args.target), f"by {key}: bps (paper sign)"))
    skipped = ", ".join(f"{k} {v}" for k, v in evaluation.windows.skipped.items() if v) or "none"
    console.print(f"{SIGN_CONVENTION}.")
    console.print(f"{evaluation.result.n_orders:,} orders × {len(evaluation.result.grid)} scenarios, origins "
                  f"{split.test_start.date()} → {evaluation.result.orders['origin'].max().date()}; skipped origins: "
                  f"{skipped}; {evaluation.timings['total_s']:.1f} s")
    console.print(f"saved {len(paths)} files to {out_dir}/")
    if args.report:
        _report(out_dir, args.seed)
    return 0


def _report(out_dir: Path, seed: int) -> None:
    from execbench.report import build_report  # matplotlib, seaborn, arch: only when a report is asked for

    with console.status(f"writing the PDF report in {out_dir}"):
        path = build_report(out_dir, seed=seed)
    console.print(f"report: {path}")


def _periods(text: str | None, horizon: int) -> list[int | str]:
    if not text:
        return sorted({1, max(1, horizon // 2), horizon}) + ["match"]
    out: list[int | str] = []
    for item in text.split(","):
        item = item.strip().lower()
        if item == "match":
            out.append("match")
        elif item.isdigit() and 1 <= int(item) <= horizon:
            out.append(int(item))
        else:
            raise ExecbenchError(f"--periods: {item!r} is not a minimum period in 1..{horizon} or 'match'")
    return out


def cmd_compare(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    names = [n.strip() for n in args.strategies.split(",") if n.strip()]
    periods = _periods(args.periods, args.horizon)
    market, strategy_params, impact = _split_params(args)
    if strategy_params:
        raise ExecbenchError(f"compare: strategy parameters are not supported here ({', '.join(strategy_params)})")
    bars, split = _load(args, market)
    strategies = [load_strategy(n) for n in names]
    train = training_bars(bars, split.train_end)
    with console.status(f"fitting {', '.join(names)} on bars before {split.train_end.date()}"):
        for strategy in strategies:
            strategy.fit(train)
    audits = {s.name: _audit(s, bars, split, args) for s in strategies}
    with _progress() as progress:
        task = progress.add_task(f"replaying {len(names)} strategies", total=None)
        evaluations = compare(
            strategies, bars, horizon=args.horizon, split=split, order_size=args.order_size, fit=False, impact=impact,
            on_windows=lambda w: progress.update(task, total=len(w) * len(names)),
            progress=lambda k: progress.advance(task, k),
        )
    first = next(iter(evaluations.values()))
    elapsed = time.perf_counter() - started
    first.timings["compare_total_s"] = elapsed
    table = comparison_table({k: e.result for k, e in evaluations.items()}, periods=periods, benchmark=args.benchmark,
                             target=args.target)
    console.print(_frame_table(table, f"{', '.join(names)} on {first.asset} {first.freq}, T={args.horizon}: mean bps "
                                      f"vs {args.benchmark.upper()} ({args.target} target), same orders"))
    console.print(f"{SIGN_CONVENTION}.")
    out_dir = Path(args.out) if args.out else default_out_dir(first.asset, "compare")
    extra = {"command": _command_line(), "seed": args.seed,
             "audit": {k: None if r is None else r.to_dict() for k, r in audits.items()}}
    paths = save_comparison(evaluations, out_dir, periods=periods, benchmark=args.benchmark, target=args.target,
                            extra=extra)
    console.print(f"{first.result.n_orders:,} orders per strategy; {elapsed:.1f} s; saved {len(paths)} files to {out_dir}/")
    if args.report:
        _report(out_dir, args.seed)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    _report(Path(args.run_dir), args.seed)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    market, strategy_params, _ = _split_params(args)
    bars, split = _load(args, market)
    strategy = load_fitted(args.state) if args.state else load_strategy(args.strategy, **strategy_params)
    with console.status(f"look-ahead audit of {strategy.name}"):
        report = audit_strategy(strategy, bars, horizon=args.horizon, split=split, n_orders=args.orders,
                                seed=args.seed, fit=not args.state)
    frame = report.to_frame()
    frame["passed"] = frame["passed"].map({True: "pass", False: "FAIL"})
    frame["max_change"] = frame["max_change"].map(lambda v: f"{v:.3g}")
    frame = frame.astype(object).where(frame.notna(), "")
    console.print(_frame_table(frame, f"look-ahead audit: {strategy.name} on {report.asset}, {report.n_orders} orders; "
                                      f"input perturbed at bars >= origin+step, allocations for bars <= origin+step "
                                      f"must not change"))
    style = "green" if report.passed else "bold red"
    console.print(f"[{style}]{report.summary()}[/]", highlight=False)
    return 0 if report.passed else 1


def cmd_simulate(args: argparse.Namespace) -> int:
    market, rest, _ = _split_params(args)
    if rest:
        raise ExecbenchError(f"simulate: unknown market parameter(s) {', '.join(rest)}")
    bars = load_bars("synthetic:heston", args.freq, synthetic=market)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        bars.to_csv(out)
    else:
        bars.to_parquet(out)
    console.print(f"wrote {len(bars):,} {bars.attrs['freq']} bars to {out} ({bars.attrs['sources'][0]})", highlight=False)
    return 0


# constant volatility and volume, bar price = the path's price: where Almgren-Chriss's closed form holds
FRONTIER_MARKET = {"xi": 0.0, "vol_sigma": 0.0, "vol_beta": 0.0, "u_amp": 0.0, "substeps": 1, "bars": 150_000}


def cmd_frontier(args: argparse.Namespace) -> int:
    from execbench.frontier import efficient_frontier, frontier_figure

    market, strategy_params, impact = _split_params(args)
    if strategy_params:
        raise ExecbenchError(f"frontier: unknown parameter(s) {', '.join(strategy_params)}")
    if str(args.asset).lower().startswith("synthetic:"):
        market = {**FRONTIER_MARKET, **market}  # the closed form's setting unless overridden
    impact = impact or ImpactModel(eps=0.01, beta=1.0)
    bars, split = _load(args, market)
    aversions = [float(x) for x in args.risk_aversions.split(",")]
    with console.status("sweeping Almgren-Chriss risk aversion"):
        table = efficient_frontier(bars, split=split, horizon=args.horizon, order_size=args.order_size,
                                   impact=impact, risk_aversions=aversions)
    out_dir = Path(args.out) if args.out else default_out_dir(str(bars.attrs.get("asset")), "frontier")
    paths = write_table(table, out_dir, "frontier", caption="Almgren-Chriss efficient frontier vs TWAP (IS, bps)")
    from execbench.figures import save_figure

    paths += save_figure(frontier_figure(table), out_dir, "frontier")
    console.print(_frame_table(table, "Almgren-Chriss under the replay's impact model: measured vs theory "
                                      "(IS vs arrival, bps; non-overlapping orders)"))
    console.print(f"saved {len(paths)} files to {out_dir}/")
    return 0


def cmd_cost_curve(args: argparse.Namespace) -> int:
    from execbench.figures import save_figure
    from execbench.frontier import cost_curve, cost_curve_figure

    market, strategy_params, impact = _split_params(args)
    if impact is None or not impact.active:
        raise ExecbenchError("cost-curve: give an impact model, e.g. --param impact=0.1 (--param impact_beta=0.5)")
    bars, split = _load(args, market)
    strategy = load_strategy(args.strategy, **strategy_params)
    sizes = [float(x) for x in args.sizes.split(",")]
    with console.status(f"replaying {strategy.name} at {len(sizes)} order sizes"):
        table = cost_curve(strategy, bars, split=split, horizon=args.horizon, impact=impact, sizes=sizes)
    out_dir = Path(args.out) if args.out else default_out_dir(str(bars.attrs.get("asset")), f"{strategy.name}-cost-curve")
    title = f"{strategy.name.upper()} on {bars.attrs.get('asset')} {bars.attrs.get('freq')}: {impact.describe()}"
    paths = write_table(table, out_dir, "cost_curve", caption=title)
    paths += save_figure(cost_curve_figure(table, "\n".join(textwrap.wrap(title, 90))), out_dir, "cost_curve")
    console.print(_frame_table(table, f"{strategy.name.upper()}: implementation shortfall vs order size (bps)"))
    console.print(f"saved {len(paths)} files to {out_dir}/")
    return 0


def _epoch_summary(epoch: int, logs: dict) -> str:
    """'epoch 3: loss 0.6931 (val 0.6930), improvement +0.12 bps (val …), risk 10.8 bps (val …)'."""
    def pair(key: str, fmt: str) -> str:
        text = format(logs[key], fmt) if key in logs else "?"
        return text + (f" (val {format(logs['val_' + key], fmt)})" if "val_" + key in logs else "")

    return (f"epoch {epoch}: loss {pair('loss', '.4f')}, improvement {pair('improvement_bps', '+.2f')} bps, "
            f"risk {pair('risk_bps', '.2f')} bps")


def _train_with_progress(lem, datasets, split, validation) -> None:
    """``lem.train`` with a progress bar that also prints each epoch's loss and metrics."""
    import keras

    class EpochBar(keras.callbacks.Callback):
        def __init__(self, progress, task):
            super().__init__()
            self.progress, self.task = progress, task

        def on_epoch_end(self, epoch, logs=None):
            summary = _epoch_summary(epoch + 1, logs or {})
            self.progress.update(self.task, advance=1, description=summary)
            self.progress.console.print(f"  {lem.alignment}: {summary}", highlight=False)

    with _progress() as progress:
        task = progress.add_task("training (the first epoch includes compilation)", total=lem.epochs)
        lem.train(datasets, end=split.train_end, validation=validation, progress=EpochBar(progress, task))


def _lem_for_training(args: argparse.Namespace, params: dict, **overrides):
    from strategies.lem import LEM, PRESETS

    if args.config not in PRESETS:
        raise ExecbenchError(f"--config {args.config!r}: expected one of {', '.join(PRESETS)}")
    preset = PRESETS[args.config]
    epochs = args.epochs if args.epochs is not None else preset.get("epochs", 6)
    return LEM(**{**preset, "horizon": args.horizon, **params, "epochs": epochs, "checkpoint": None, **overrides})


def cmd_lem_alignment(args: argparse.Namespace) -> int:
    """Train the same LEM twice — causal alignment and the upstream ``lems`` alignment (step s sees bar
    s) — with the same seed and data, audit both and score both with TWAP on the same test orders."""
    from strategies.lem import keras_backend

    keras_backend()
    started = time.perf_counter()
    market, params, impact = _split_params(args)
    if "alignment" in params:
        raise ExecbenchError("lem-alignment: --param alignment is set by the command (it trains both)")
    bars, split = _load(args, market)
    validation = (split.val_start, split.test_start) if split.val_start is not None else None
    models = {}
    for alignment in ("causal", "upstream"):
        lem = _lem_for_training(args, params, alignment=alignment)
        lem.name = "lem" if alignment == "causal" else "lem-upstream-aligned"
        console.print(f"training {lem.name} ({args.config}, {lem.epochs} epochs) on {bars.attrs.get('asset')} "
                      f"{bars.attrs.get('freq')} before {split.train_end.date()}")
        _train_with_progress(lem, [bars], split, validation)
        models[lem.name] = lem
    twap = load_strategy("twap").fit(training_bars(bars, split.train_end))
    strategies = [*models.values(), twap]
    audits = {s.name: _audit(s, bars, split, args) for s in strategies}
    with _progress() as progress:
        task = progress.add_task("replaying", total=None)
        evaluations = compare(strategies, bars, horizon=args.horizon, split=split, order_size=args.order_size,
                              fit=False, impact=impact, on_windows=lambda w: progress.update(task, total=len(w) * 3),
                              progress=lambda k: progress.advance(task, k))
    periods = _periods(args.periods, args.horizon)
    table = comparison_table({k: e.result for k, e in evaluations.items()}, periods=periods, benchmark=args.benchmark,
                             target=args.target)
    def audit_label(report: AuditReport | None) -> str:
        if report is None:
            return "skipped"
        return "passed" if report.passed else f"FAILED step {report.first_leak.step}"

    table.insert(2, "Audit", [audit_label(audits[n]) for n in table["Strategy"]])
    first = next(iter(evaluations.values()))
    console.print(_frame_table(table, f"causal vs upstream alignment, same LEM and seed, on {first.asset} {first.freq}, "
                                      f"T={args.horizon}: mean bps vs {args.benchmark.upper()} ({args.target} target), "
                                      f"same test orders"))
    console.print(f"{SIGN_CONVENTION}. The upstream-aligned model sees each bar it trades; its numbers are not "
                  "achievable.")
    out_dir = Path(args.out) if args.out else default_out_dir(first.asset, "lem-alignment")
    extra = {"command": _command_line(), "seed": args.seed,
             "audit": {k: None if r is None else r.to_dict() for k, r in audits.items()},
             "training": {k: {"history": m.history, "trained_on": m.trained_on, "params": m.params()}
                          for k, m in models.items()}}
    paths = save_comparison(evaluations, out_dir, periods=periods, benchmark=args.benchmark, target=args.target,
                            extra=extra)
    paths += write_table(table, out_dir, "alignment", caption="LEM, causal vs upstream alignment (same seed)")
    console.print(f"{first.result.n_orders:,} orders; {time.perf_counter() - started:.0f} s; saved "
                  f"{len(paths)} files to {out_dir}/")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    if args.model != "lem":
        raise ExecbenchError(f"train: unknown model {args.model!r}; available: lem")
    from strategies.lem import keras_backend

    keras_backend()
    if str(args.asset).lower().startswith("synthetic:") and args.freq and "," in args.freq:
        raise ExecbenchError("--freq: a synthetic market has one frequency")
    market, params, _ = _split_params(args)
    freqs = [f.strip() for f in args.freq.split(",") if f.strip()] if args.freq else [None]
    datasets = []
    for freq in freqs:
        with console.status(f"loading {args.asset} {freq or ''}"):
            datasets.append(load_bars(args.asset, freq, synthetic=market))
    split = make_split(datasets[0], args.test_start, args.val_start, args.test_end)
    lem = _lem_for_training(args, params)
    validation = (split.val_start, split.test_start) if split.val_start is not None else None

    started = time.perf_counter()
    names = " + ".join(f"{d.attrs.get('asset')} {d.attrs.get('freq')}" for d in datasets)
    console.print(f"training lem ({args.config}) on {names}, bars before {split.train_end.date()}; validation "
                  f"{'none' if validation is None else f'{validation[0].date()} to {validation[1].date()}'}")
    _train_with_progress(lem, datasets, split, validation)
    elapsed = time.perf_counter() - started
    label = "-".join(str(lem.trained_on["asset"]).split(",")) + "-" + "-".join(str(lem.trained_on["freq"]).split(","))
    out_dir = Path(args.out) if args.out else default_out_dir(label, "lem-checkpoint")
    paths = lem.save_checkpoint(out_dir)
    config = json.loads((out_dir / "config.json").read_text())
    config["training_seconds"] = round(elapsed, 1)
    config["command"] = _command_line()
    (out_dir / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    console.print(f"trained {len(lem.loss_history)} epochs on {lem.trained_on['samples']:,} windows in {elapsed:.0f} s",
                  highlight=False)
    console.print(f"saved {len(paths)} files to {out_dir}/ — use it with --param checkpoint={out_dir}")
    return 0


def cmd_assets(args: argparse.Namespace) -> int:
    table = Table(title="Bundled data (load by name; coarser frequencies are built by summing bars)")
    table.add_column("asset")
    table.add_column("native frequencies")
    for name, freqs in sorted(bundled_assets().items()):
        table.add_row(name, ", ".join(freqs))
    console.print(table)
    return 0


def cmd_strategies(args: argparse.Namespace) -> int:
    table = Table(title="Registered strategies (entry-point group execbench.strategies)")
    for column in ("name", "mode", "parameters", "description", "from"):
        table.add_column(column)
    for name, entry in sorted(available_strategies().items()):
        cls = entry.load()
        params = ", ".join(f"{k}={v!r}" for k, v in cls.param_defaults().items()) or "-"
        table.add_row(name, cls.mode, params, cls.description, entry.value)
    console.print(table)
    return 0


def _data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--asset", default="BTCUSDT", help="bundled asset, universe (dow30, crypto5) or a file/folder")
    parser.add_argument("--freq", default=None, help="bar frequency, e.g. 15m, 90m, 1h, 1d (default: finest available)")
    parser.add_argument("--horizon", type=int, default=12, help="maximum horizon T in bars (default 12)")
    parser.add_argument("--test-start", default=None, help="first order origin date of the test period (UTC)")
    parser.add_argument("--val-start", default=None, help="start of the validation period; fitting uses bars before it")
    parser.add_argument("--test-end", default=None, help="end (exclusive) of the test period")
    parser.add_argument("--seed", type=int, default=0, help="seeds the audit's order sample and perturbations")


def _eval_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--order-size", type=float, default=DEFAULT_ORDER_SIZE,
                        help="order size as a fraction of the expected window volume (participation only)")
    parser.add_argument("--benchmark", choices=BENCHMARKS, default="vwap", help="benchmark of the printed table")
    parser.add_argument("--target", choices=TARGETS, default="quantity", help="target of the printed table")
    parser.add_argument("--no-audit", action="store_true", help="skip the look-ahead audit")
    parser.add_argument("--out", default=None, help="output folder (default under reports/)")
    parser.add_argument("--report", action="store_true", help="also write the PDF report into the output folder")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="execbench", description="Evaluate trade-execution strategies.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="evaluate a strategy on the test period and save its tables")
    run.add_argument("--strategy", default="twap", help="registered name or FILE.py[:Class] (default twap)")
    run.add_argument("--param", action="append", metavar="NAME=VALUE", help="strategy parameter (repeatable)")
    run.add_argument("--state", default=None, help="load a fitted strategy saved with --save-state (no fitting)")
    run.add_argument("--save-state", default=None, help="save the fitted strategy (parameters + state) to this JSON")
    run.add_argument("--by", default=None, help="breakdown tables: comma-separated regime, asset, year")
    _data_args(run)
    _eval_args(run)
    run.set_defaults(func=cmd_run)
    comp = sub.add_parser("compare", help="evaluate several strategies on the same orders")
    comp.add_argument("--strategies", default="twap,vwap,dvwap,pov,ac,flex", help="comma-separated names")
    comp.add_argument("--periods", default=None, help="minimum periods shown, e.g. 1,6,12,match (default 1,T/2,T,match)")
    comp.add_argument("--param", action="append", metavar="NAME=VALUE",
                      help="synthetic-market or impact parameter (repeatable)")
    _data_args(comp)
    _eval_args(comp)
    comp.set_defaults(func=cmd_compare)
    aud = sub.add_parser("audit", help="look-ahead audit of a strategy (exit status 1 if it leaks)")
    aud.add_argument("--strategy", default="twap", help="registered name or FILE.py[:Class]")
    aud.add_argument("--param", action="append", metavar="NAME=VALUE", help="strategy parameter (repeatable)")
    aud.add_argument("--state", default=None, help="audit a fitted strategy saved with --save-state")
    aud.add_argument("--orders", type=int, default=16, help="orders sampled from the test period (default 16)")
    _data_args(aud)
    aud.set_defaults(func=cmd_audit)
    sim = sub.add_parser("simulate", help="write synthetic Heston bars (the format of the bundled data)")
    sim.add_argument("--out", required=True, help="output .parquet or .csv")
    sim.add_argument("--freq", default="15m", help="bar frequency (default 15m)")
    sim.add_argument("--param", action="append", metavar="NAME=VALUE",
                     help="market parameter, e.g. kappa=100, bars=50000, seed=1 (repeatable)")
    sim.add_argument("--asset", default="synthetic:heston", help=argparse.SUPPRESS)
    sim.set_defaults(func=cmd_simulate)
    fr = sub.add_parser("frontier", help="Almgren-Chriss efficient frontier under market impact, vs TWAP "
                                         "(default: a simulated market where the closed form holds, impact=0.01, "
                                         "impact_beta=1)")
    fr.add_argument("--risk-aversions", default="0,10,30,100,300,1000", help="comma-separated lambda values")
    fr.add_argument("--param", action="append", metavar="NAME=VALUE",
                    help="synthetic-market or impact parameter, e.g. impact=0.01 (repeatable)")
    fr.add_argument("--order-size", type=float, default=0.1, help="order size, fraction of window volume (default 0.1)")
    fr.add_argument("--out", default=None, help="output folder (default under reports/)")
    _data_args(fr)
    fr.set_defaults(func=cmd_frontier, asset="synthetic:heston")
    cc = sub.add_parser("cost-curve", help="implementation shortfall of a strategy against order size, with impact")
    cc.add_argument("--strategy", default="twap", help="registered name or FILE.py[:Class]")
    cc.add_argument("--sizes", default="0.005,0.01,0.02,0.05,0.1,0.2,0.5", help="order sizes (fraction of window volume)")
    cc.add_argument("--param", action="append", metavar="NAME=VALUE", help="impact/market/strategy parameter")
    cc.add_argument("--out", default=None, help="output folder (default under reports/)")
    _data_args(cc)
    cc.set_defaults(func=cmd_cost_curve)
    tr = sub.add_parser("train", help="train a model (lem) and write a weights-only checkpoint with its config")
    tr.add_argument("model", help="lem")
    tr.add_argument("--config", default="tiny", help="size preset: tiny, small or paper")
    tr.add_argument("--epochs", type=int, default=None,
                    help="maximum epochs (default 6, paper 30; early stopping on the validation period)")
    tr.add_argument("--param", action="append", metavar="NAME=VALUE", help="model parameter, e.g. hidden=32")
    tr.add_argument("--out", default=None, help="checkpoint folder (default under reports/)")
    _data_args(tr)
    tr.set_defaults(func=cmd_train)
    al = sub.add_parser("lem-alignment", help="train the LEM with the causal and with the upstream lems alignment "
                                              "(same seed), audit both and compare them with TWAP on the test orders")
    al.add_argument("--config", default="tiny", help="size preset: tiny, small or paper")
    al.add_argument("--epochs", type=int, default=3, help="maximum epochs of each training (default 3)")
    al.add_argument("--param", action="append", metavar="NAME=VALUE", help="model parameter, e.g. max_samples=8192")
    al.add_argument("--periods", default=None, help="minimum periods shown, e.g. 1,6,match (default 1,T/2,T,match)")
    _data_args(al)
    _eval_args(al)
    al.set_defaults(func=cmd_lem_alignment)
    rep = sub.add_parser("report", help="write report.pdf (and figures/) for a run or comparison folder")
    rep.add_argument("run_dir", help="folder written by execbench run or execbench compare")
    rep.add_argument("--seed", type=int, default=0, help="seeds the bootstrap")
    rep.set_defaults(func=cmd_report)
    assets = sub.add_parser("assets", help="list the bundled data")
    assets.set_defaults(func=cmd_assets)
    strategies = sub.add_parser("strategies", help="list registered strategies with their parameters")
    strategies.set_defaults(func=cmd_strategies)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``execbench`` console script."""
    args = build_parser().parse_args(argv)

    def show_warning(message, category, filename, lineno, file=None, line=None):
        err_console.print(f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True)

    warnings.showwarning = show_warning
    try:
        return args.func(args)
    except ExecbenchError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
