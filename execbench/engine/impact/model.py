"""Market impact in the replay (off by default: the paper's setting is no impact).

Temporary impact moves each child fill's price against the trader: fill = P̂_t·(1 ± ε·ν_t^β), with ν_t
the child's participation of bar t's volume (child units / bar volume; on a bar with no volume, the
order's expected bar volume stands in).  Permanent impact shifts the market price the trader faces
from bar t on by ± γ·(X_t / W)^δ, with X_t the units executed before bar t and W the order's expected
window volume: P̂_t = P_t·(1 ± γ·(X_t/W)^δ).  "±" is + for buys, − for sells.  The benchmark keeps the
market's own prices P unless ``benchmark_with_impact`` (then it uses P̂, the prices shifted by the
trader's permanent impact).  A notional child's units are taken at the pre-impact price.

``kernel.py`` (Numba, GIL-free, on the engine's thread pool) and ``twin.py`` (its NumPy twin) return the
achieved and benchmark prices with impact, (n, S) each.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from execbench.errors import ContractError, ParameterError
from execbench.params import check_names


@dataclass(frozen=True)
class ImpactModel:
    """Impact parameters (fractions of price): temporary ε·ν^β, permanent γ·(X/W)^δ."""

    eps: float = 0.0
    beta: float = 0.5
    gamma: float = 0.0
    delta: float = 1.0
    benchmark_with_impact: bool = False

    def __post_init__(self) -> None:
        for name in ("eps", "gamma"):
            if not getattr(self, name) >= 0:
                raise ContractError(f"impact parameter {name!r}: expected >= 0, got {getattr(self, name)!r}")
        for name in ("beta", "delta"):
            if not getattr(self, name) > 0:
                raise ContractError(f"impact parameter {name!r}: expected > 0, got {getattr(self, name)!r}")

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "ImpactModel | None":
        """The model from ``--impact-param name=value`` pairs (``None`` when there are none); unknown
        names and values of the wrong kind are one-line errors."""
        if not params:
            return None
        check_names(params, [f.name for f in fields(cls)], "--impact-param")
        values = {}
        for key, value in params.items():
            if key == "benchmark_with_impact":
                if value not in (0, 1, True, False):
                    raise ParameterError(f"--impact-param {key}: expected true/false or 1/0, got {value!r}")
                values[key] = bool(value)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                values[key] = float(value)
            else:
                raise ParameterError(f"--impact-param {key}: expected a number, got {value!r}")
        return cls(**values)

    @property
    def active(self) -> bool:
        return self.eps > 0 or self.gamma > 0

    def describe(self) -> str:
        where = "prices shifted by the trader's permanent impact" if self.benchmark_with_impact else \
            "the market's own prices (no impact)"
        return (f"temporary eps*nu^beta with eps={self.eps:g}, beta={self.beta:g} (nu = participation of bar volume); "
                f"permanent gamma*(X/W)^delta with gamma={self.gamma:g}, delta={self.delta:g} (X = units done, "
                f"W = expected window volume); benchmark on {where}")
