"""Scenario labels and the names of the grid's dimensions: the one place their format is written.

A scenario label reads ``<side>-<benchmark>-<target>-<period>``, e.g. ``buy-vwap-quantity-m3`` or
``sell-twap-notional-match``; a period is a minimum period m (an int) or ``"match"``.
"""

from __future__ import annotations

from typing import Literal

Side = Literal["buy", "sell"]
Target = Literal["quantity", "notional"]
Benchmark = Literal["vwap", "twap"]
Period = int | str  # a minimum period m, or "match"

SIDES: tuple[Side, ...] = ("buy", "sell")
BENCHMARKS: tuple[Benchmark, ...] = ("vwap", "twap")
TARGETS: tuple[Target, ...] = ("quantity", "notional")
MATCH = "match"


def scenario_label(side: str, benchmark: str, target: str, period: Period) -> str:
    """``buy-vwap-quantity-m3`` for minimum period 3, ``...-match`` for the match case."""
    return f"{side}-{benchmark}-{target}-" + (MATCH if period == MATCH else f"m{period}")


def period_name(period: Period) -> str:
    """How tables name a period: ``m=3`` or ``Match``."""
    return "Match" if period == MATCH else f"m={period}"


def period_short(period: Period) -> str:
    """How figures and summaries name a period: ``m=3`` or ``match``."""
    return MATCH if period == MATCH else f"m={period}"


def period_row(period: Period, benchmark: str) -> str:
    """How paper-format tables name a row's minimum period: ``3`` or ``Match VWAP``."""
    return f"Match {benchmark.upper()}" if period == MATCH else str(period)


def default_periods(horizon: int) -> list[Period]:
    """The minimum periods a comparison shows by default: 1, T/2, T and the match case."""
    return [*sorted({1, max(1, horizon // 2), horizon}), MATCH]


def all_periods(horizon: int) -> list[Period]:
    """Every minimum period 1..T and the match case, in the paper tables' order."""
    return [*range(1, horizon + 1), MATCH]


def run_periods(horizon: int) -> list[Period]:
    """The minimum periods a single run's shortfall and breakdown tables show: 1, T/2 and match."""
    return [1, max(1, horizon // 2), MATCH]


def report_periods(horizon: int) -> list[Period]:
    """The minimum periods a PDF report shows: 1, T/4, T/2, T and match."""
    return [*sorted({1, max(1, horizon // 4), max(1, horizon // 2), horizon}), MATCH]
