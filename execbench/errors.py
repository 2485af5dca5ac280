"""Exceptions raised by execbench.

Every error that bad input can cause is one of these, with a message that names the file,
column, parameter or order at fault and what was expected.  The CLI prints them as one line.
"""

from __future__ import annotations


class ExecbenchError(Exception):
    """Base class of every error execbench raises on bad input."""


class DataError(ExecbenchError, ValueError):
    """Market data that cannot be read or fails validation."""


class ContractError(ExecbenchError, ValueError):
    """An invalid contract specification or scenario grid."""


class AllocationError(ExecbenchError, ValueError):
    """A strategy emitted allocations that break the engine's contract (sign, sum, shape)."""


class StrategyError(ExecbenchError, LookupError):
    """An unknown strategy, or one that cannot evaluate the requested scenarios."""


class ParameterError(ExecbenchError, ValueError):
    """A malformed ``name=value`` parameter or a name that the receiving namespace does not know."""
