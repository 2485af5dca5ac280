"""The strategies another strategy runs (the meta-strategy's candidates, the flow policy's experts)."""

from __future__ import annotations

from collections.abc import Sequence

from execbench.errors import StrategyError
from execbench.strategy import Strategy


def load_members(specs: Sequence[str], owner: str, role: str) -> list[Strategy]:
    """Registered strategies (defaults, bundled checkpoints) from ``name`` or
    ``name:param=value[:param=value]``, for strategy ``owner``, which calls them its ``role``s.  A
    one-line error for a malformed spec, ``owner`` itself, a ``sequence`` model (it cannot run bar by
    bar beside the others) or an empty list."""
    from execbench.params import parse_params
    from execbench.strategy.registry import load_strategy

    members = []
    for spec in specs:
        name, *items = str(spec).strip().split(":")
        if any("=" not in item for item in items):
            raise StrategyError(f"strategy {owner!r}: {role} {spec!r} is not name or name:param=value[:param=value]")
        if name == owner:
            article = "an" if role[0] in "aeiou" else "a"
            raise StrategyError(f"strategy {owner!r}: {article} {role} cannot be {owner!r} itself")
        member = load_strategy(name, **parse_params(items, role))
        if member.mode == "sequence":
            raise StrategyError(f"strategy {owner!r}: {role} {name!r} is a sequence model; use adaptive or static ones")
        members.append(member)
    if not members:
        raise StrategyError(f"strategy {owner!r}: no {role}s given")
    return members
