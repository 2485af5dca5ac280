"""The replay kernel's status codes, their messages, and its tolerances (shared by the kernel and its twin)."""

from __future__ import annotations

from execbench.contracts import ALLOC_EPS  # a trade extends the realised window (a contract rule)

SUM_TOLERANCE = 1e-6  # a scenario's allocations must sum to 1 within this; never renormalised
RATE_TOL = 1e-9  # slack on the min/max trading-rate and participation checks

# allocation problem codes (per order: the first scenario, in grid order, that has one)
OK, NEGATIVE, NOT_FINITE, BAD_SUM = 0, 1, 2, 3
MESSAGES = {NEGATIVE: "a negative allocation", NOT_FINITE: "a NaN/inf allocation",
            BAD_SUM: "allocations that do not sum to 1"}

__all__ = ["ALLOC_EPS", "BAD_SUM", "MESSAGES", "NEGATIVE", "NOT_FINITE", "OK", "RATE_TOL", "SUM_TOLERANCE"]
