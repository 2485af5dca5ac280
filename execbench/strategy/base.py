"""The strategy interface the engine calls, vectorised over orders.

A strategy is a class with a ``mode``:

``"static"``
    The whole schedule is decided at the origin: ``schedule(ctx, grid)`` sees only history
    (bars before the origin) and returns allocations of shape (n, T, S).
``"adaptive"``
    Called bar by bar: ``start(ctx, grid)`` returns a state, then for s = 0..T−1
    ``step(state, obs)`` returns the allocations for execution bar s = ``obs.step``, shape (n, S), where ``obs``
    holds the realised execution bars 0..s−1 only (and the strategy's own earlier allocations).
    One call per bar for all orders, never one call per order.
``"sequence"``
    A model that emits every bar of every scenario at once (e.g. the LEM): ``allocate_sequence(ctx,
    grid, window)`` receives the realised window and must only use bar j for decisions at bars
    > j.  Nothing stops it from looking ahead except the look-ahead audit, which every strategy
    must pass.

Allocations are fractions of the order in the scenario's target units (shares for a quantity target,
quote currency for a notional target); each scenario's T allocations must be ≥ 0 and sum to 1.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from execbench.contracts import ContractSpec, ScenarioGrid

if TYPE_CHECKING:  # the interface stays importable without pandas (fast plug-in listings)
    from execbench.orders.windows import OrderWindows

Mode = Literal["static", "adaptive", "sequence"]


@dataclass(frozen=True)
class OrderContext:
    """What is known at the origin of each order (everything up to the close of bar origin−1)."""

    windows: "OrderWindows"

    @property
    def n_orders(self) -> int:
        return len(self.windows)

    @property
    def horizon(self) -> int:
        return self.windows.horizon

    @property
    def freq(self) -> str:
        return self.windows.freq

    def history(self, name: str, lookback: int) -> np.ndarray:
        """``"prices"`` or ``"volumes"`` of the ``lookback`` bars before the origin, (n, lookback)."""
        return self.windows.history(name, lookback)

    def bar_times(self) -> np.ndarray:
        """Scheduled open times of the T execution bars (known in advance), (n, T)."""
        return self.windows.bar_times()

    def history_times(self, lookback: int) -> np.ndarray:
        """Open times of the ``lookback`` bars before the origin, (n, lookback)."""
        return self.windows.history_times(lookback)

    def assets(self) -> np.ndarray:
        return self.windows.assets()

    def sizes(self) -> tuple[np.ndarray, np.ndarray]:
        """Order quantity and notional, (n,) each."""
        return self.windows.sizes()


@dataclass(frozen=True)
class StepObservation:
    """What an adaptive strategy sees before execution bar s: realised bars 0..s−1 of the window."""

    step: int
    prices: np.ndarray  # (n, s)
    volumes: np.ndarray  # (n, s)
    allocated: np.ndarray  # (n, s, S): the strategy's own earlier allocations


@dataclass(frozen=True)
class RealisedWindow:
    """The realised execution window handed to a ``sequence`` strategy, (n, T) each."""

    prices: np.ndarray
    volumes: np.ndarray


class Strategy:
    """Base class for execution strategies (built-in and plug-in alike).

    Subclasses set ``name``, ``description`` and ``mode`` and implement the method(s) of that mode.
    Keyword arguments of ``__init__`` are the strategy's parameters.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    mode: ClassVar[Mode] = "static"
    lookback: int = 0  # bars of history needed before the origin

    def fit(self, bars) -> "Strategy":
        """Fit on training bars (a frame from ``load_bars`` cut before the validation start)."""
        return self

    def unsupported(self, spec: ContractSpec) -> str | None:
        """``None`` if the strategy supports ``spec``, else the reason it does not."""
        return None

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({shown})"

    def params(self) -> dict[str, Any]:
        """The strategy's parameters (its ``__init__`` keyword arguments), recorded with each run."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p not in ("self", "args", "kwargs")]
        return {name: getattr(self, name) for name in names if hasattr(self, name)}

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        """Parameter names and their defaults, for listings."""
        signature = inspect.signature(cls.__init__)
        return {name: (None if p.default is inspect.Parameter.empty else p.default)
                for name, p in signature.parameters.items() if name not in ("self", "args", "kwargs")}

    @classmethod
    def accepts_any_param(cls) -> bool:
        """Whether ``__init__`` takes ``**kwargs`` (then parameter names cannot be checked up front)."""
        if cls.__init__ is object.__init__:  # no parameters at all
            return False
        return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(cls.__init__).parameters.values())

    def get_state(self) -> dict[str, Any]:
        """Fitted state as JSON-able values (default: nothing is fitted)."""
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what ``get_state`` returned."""

    def save(self, path: str | Path) -> Path:
        """Write the parameters and fitted state to a JSON file; reload with ``execbench.load_fitted``."""
        path = Path(path)
        path.write_text(json.dumps({"strategy": self.name, "params": self.params(), "state": self.get_state()},
                                   indent=1) + "\n")
        return path

    def schedule(self, ctx: OrderContext, grid: ScenarioGrid) -> np.ndarray:
        raise NotImplementedError

    def start(self, ctx: OrderContext, grid: ScenarioGrid) -> Any:
        raise NotImplementedError

    def step(self, state: Any, obs: StepObservation) -> np.ndarray:
        raise NotImplementedError

    def allocate_sequence(self, ctx: OrderContext, grid: ScenarioGrid, window: RealisedWindow) -> np.ndarray:
        raise NotImplementedError
