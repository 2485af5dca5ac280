"""Command-line interface (thin: parse, call the library, print, save)."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from execbench.contracts import BENCHMARKS, TARGETS
from execbench.data import bundled_assets, load_bars
from execbench.errors import ExecbenchError
from execbench.evaluate import evaluate, make_split
from execbench.output import SIGN_CONVENTION, default_out_dir, save_evaluation
from execbench.registry import available_strategies, load_strategy, parse_params
from execbench.tables import paper_table
from execbench.windows import DEFAULT_ORDER_SIZE

# rich wraps at 80 columns when not writing to a terminal; the paper table needs ~110
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True)


def _frame_table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        table.add_column(str(column), justify="left" if frame[column].dtype == object else "right")
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:.2f}" if isinstance(v, float) else str(v) for v in row])
    return table


def cmd_run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    strategy = load_strategy(args.strategy, **parse_params(args.param))
    with console.status(f"loading {args.asset} {args.freq or ''}"):
        bars = load_bars(args.asset, args.freq)
    split = make_split(bars, args.test_start, args.val_start, args.test_end)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task(f"replaying {strategy.name}", total=None)
        evaluation = evaluate(
            strategy, bars, horizon=args.horizon, split=split, order_size=args.order_size,
            on_windows=lambda w: progress.update(task, total=len(w)),
            progress=lambda k: progress.advance(task, k),
        )
    evaluation.timings["total_s"] = time.perf_counter() - started
    out_dir = Path(args.out) if args.out else default_out_dir(evaluation)
    command = "execbench " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("execbench") else None
    paths = save_evaluation(evaluation, out_dir, benchmark=args.benchmark, target=args.target,
                            extra={"command": command, "seed": args.seed})
    table = paper_table(evaluation.result, evaluation.baseline, strategy=strategy.name.upper(),
                        benchmark=args.benchmark, target=args.target)
    console.print(_frame_table(table, f"{strategy.name.upper()} on {evaluation.asset} {evaluation.freq}, "
                                      f"T={args.horizon}, {args.target} target vs {args.benchmark.upper()}"))
    skipped = ", ".join(f"{k} {v}" for k, v in evaluation.windows.skipped.items() if v) or "none"
    console.print(f"{SIGN_CONVENTION}.")
    console.print(f"{evaluation.result.n_orders:,} orders × {len(evaluation.result.grid)} scenarios, origins "
                  f"{split.test_start.date()} → {evaluation.result.orders['origin'].max().date()}; skipped origins: "
                  f"{skipped}; {evaluation.timings['total_s']:.1f} s")
    console.print(f"saved {len(paths)} files to {out_dir}/")
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
    for column in ("name", "mode", "description", "from"):
        table.add_column(column)
    for name, entry in sorted(available_strategies().items()):
        cls = entry.load()
        table.add_row(name, getattr(cls, "mode", "?"), getattr(cls, "description", ""), entry.value)
    console.print(table)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="execbench", description="Evaluate trade-execution strategies.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="evaluate a strategy on the test period and save its tables")
    run.add_argument("--strategy", default="twap", help="registered name or FILE.py[:Class] (default twap)")
    run.add_argument("--asset", default="BTCUSDT", help="bundled asset, universe (dow30, crypto5) or a file/folder")
    run.add_argument("--freq", default=None, help="bar frequency, e.g. 15m, 90m, 1h, 1d (default: finest available)")
    run.add_argument("--horizon", type=int, default=12, help="maximum horizon T in bars (default 12)")
    run.add_argument("--test-start", default=None, help="first order origin date of the test period (UTC)")
    run.add_argument("--val-start", default=None, help="start of the validation period; fitting uses bars before it")
    run.add_argument("--test-end", default=None, help="end (exclusive) of the test period")
    run.add_argument("--order-size", type=float, default=DEFAULT_ORDER_SIZE,
                     help="order size as a fraction of the expected window volume (participation only)")
    run.add_argument("--benchmark", choices=BENCHMARKS, default="vwap", help="benchmark of the paper table")
    run.add_argument("--target", choices=TARGETS, default="quantity", help="target of the paper table")
    run.add_argument("--param", action="append", metavar="NAME=VALUE", help="strategy parameter (repeatable)")
    run.add_argument("--seed", type=int, default=0, help="random seed recorded with the run")
    run.add_argument("--out", default=None, help="output folder (default reports/<asset>-<strategy>-<timestamp>)")
    run.set_defaults(func=cmd_run)
    assets = sub.add_parser("assets", help="list the bundled data")
    assets.set_defaults(func=cmd_assets)
    strategies = sub.add_parser("strategies", help="list registered strategies")
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
