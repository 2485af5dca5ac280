"""The terminal: rich consoles, DataFrames as tables, progress bars and status lines."""

from __future__ import annotations

import sys
from contextlib import contextmanager

from rich.console import Console
from rich.table import Table

# rich wraps at 80 columns when not writing to a terminal; the paper table needs ~110
out = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True)


def print_frame(frame, title: str) -> None:
    """Print a DataFrame as a table: numbers right-aligned, as ``format_number`` shows them."""
    import pandas as pd

    from execbench.reporting.writers import format_number

    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        table.add_column(str(column), justify="right" if pd.api.types.is_numeric_dtype(frame[column]) else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*[format_number(v) for v in row])
    out.print(table)


def progress():
    """A transient progress bar (rich.progress is imported here: listings never need it)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=out, transient=True)


@contextmanager
def replay_progress(description: str, per_order: int = 1):
    """A progress bar over orders and a status line for the stages: yields the ``on_windows``,
    ``progress`` and ``on_stage`` callbacks that ``evaluate`` and ``compare`` take."""
    with progress() as bar:
        task = bar.add_task(description, total=None)
        yield {"on_windows": lambda w: bar.update(task, total=len(w) * per_order),
               "progress": lambda k: bar.advance(task, k),
               "on_stage": lambda text: bar.update(task, description=text)}


def print_audit(report, warnings: tuple[str, ...] = ()) -> None:
    """One green or red line with the audit result, and a yellow line per impossible-result warning."""
    if report is None:
        out.print("[yellow]look-ahead audit skipped (--no-audit)[/]")
    else:
        style = "green" if report.passed else "bold red"
        out.print(f"[{style}]{report.summary()}[/]", highlight=False)
        if report.weak():
            out.print(f"[yellow]the audit covered {report.n_orders} orders: a leak on 1% of orders would be missed "
                      f"with probability {report.miss_probability(0.01):.0%}[/]", highlight=False)
    for warning in warnings:
        out.print(f"[bold yellow]WARNING: {warning}[/]", highlight=False)


def epoch_line(name: str, epoch: int, logs: dict) -> str:
    """'lem epoch 3: loss 0.6931 (val 0.6930), improvement +0.12 bps (val …), risk 10.8 bps (val …)'."""
    def pair(key: str, fmt: str) -> str:
        text = format(logs[key], fmt) if key in logs else "?"
        return text + (f" (val {format(logs['val_' + key], fmt)})" if "val_" + key in logs else "")

    return (f"{name} epoch {epoch}: loss {pair('loss', '.4f')}, improvement {pair('improvement_bps', '+.2f')} bps, "
            f"risk {pair('risk_bps', '.2f')} bps")
