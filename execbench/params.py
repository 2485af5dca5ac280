"""``name=value`` parameters from the command line, and checking names against the valid ones.

Shared by every parameter namespace (``--param`` for the strategy, ``--market-param`` for a synthetic
market, ``--impact-param`` for the impact model).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import Any

from execbench.errors import ParameterError


def parse_params(items: list[str] | None, option: str = "--param") -> dict[str, Any]:
    """Parse ``name=value`` pairs; values are Python literals where they parse, else strings."""
    params: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ParameterError(f"{option} {item!r}: expected name=value")
        if key in params:
            raise ParameterError(f"{option} {key}: given twice")
        try:
            value = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            value = raw.strip()
        params[key] = value
    return params


def check_names(given: Iterable[str], valid: Iterable[str], what: str) -> None:
    """Raise ``ParameterError`` naming the first unknown name in ``given`` and listing ``valid``."""
    valid = sorted(valid)
    unknown = [name for name in given if name not in valid]
    if unknown:
        raise ParameterError(f"{what}: unknown parameter {unknown[0]!r}; valid: {', '.join(valid) or 'none'}")
