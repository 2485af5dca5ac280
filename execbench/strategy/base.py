"""The strategy interface the engine calls, vectorised over orders.

A strategy is a class with a ``mode``:

``"static"``
    The whole schedule is decided at the origin: ``schedule(ctx, grid)`` sees only history
    (the ``lookback`` bars before the origin) and returns allocations of shape (n, T, S).
``"adaptive"``
    Called bar by bar: ``start(ctx, grid)`` returns a state, then for s = 0..T−1
    ``step(state, obs)`` returns the allocations for execution bar s = ``obs.step``, shape (n, S), where ``obs``
    holds the realised execution bars 0..s−1 only (and the strategy's own earlier allocations).
    One call per bar for all orders, never one call per order.  ``policy_kernel(state)`` may return the same
    decisions as a per-order Numba kernel, which the framework then drives instead
    (``execbench.strategy.policy``); ``step`` stays the reference.
``"sequence"``
    A model that emits every bar of every scenario at once (e.g. the LEM): ``allocate_sequence(ctx,
    grid, window)`` returns (n, T, S).  The framework calls it once per decision bar s with the
    window's bars ≥ s masked (``RealisedWindow.visible``) and keeps only row s of each call, so a
    decision never receives a bar at or after it, whatever the model does.

Causality is structural: the context holds per-order copies of the past only, and one call's orders
never see each other's windows (``execbench.orders.independent_batches``).  The look-ahead audit
(``execbench.pipeline.audit``) checks what the structure cannot: state kept outside the inputs.

Allocations are fractions of the order in the scenario's target units (shares for a quantity target,
quote currency for a notional target); each scenario's T allocations must be ≥ 0 and sum to 1.
"""

from __future__ import annotations

import functools
import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from execbench.contracts import ContractSpec, ScenarioGrid
from execbench.errors import StrategyError
from execbench.strategy.param_spec import Param

Mode = Literal["static", "adaptive", "sequence"]


def _frozen(array: np.ndarray, dtype=None) -> np.ndarray:
    """A read-only copy that owns its memory (no ``.base`` leading back to a larger array)."""
    out = np.array(array, dtype=dtype, copy=True, order="C")
    out.flags.writeable = False
    return out


@dataclass(frozen=True, repr=False)
class OrderContext:
    """What is known at the origin of each order: everything up to the close of bar origin−1.

    It holds plain per-order arrays and nothing else: the ``lookback`` bars before each origin, the
    scheduled bar times of the window (known in advance) and the order sizes.  It holds no reference
    to the market series, so no later bar is reachable from it (public or underscored).  The
    framework builds it (``execbench.strategy.runner``) for a batch of orders whose information never
    overlaps another order's window (``execbench.orders.independent_batches``).
    """

    horizon: int
    freq: str
    calendar: str
    lookback: int  # bars of history held before each origin
    history_prices: np.ndarray  # (n, lookback), oldest first; NaN before the data
    history_volumes: np.ndarray  # (n, lookback)
    history_open_times: np.ndarray  # (n, lookback) datetime64[ns]; NaT before the data
    execution_times: np.ndarray  # (n, T) datetime64[ns]: the window's scheduled bar open times
    asset_names: np.ndarray  # (n,) object
    quantity: np.ndarray  # (n,) order quantity (base units)
    notional: np.ndarray  # (n,) order notional (quote units) at the arrival price

    def __post_init__(self) -> None:
        for name in ("history_prices", "history_volumes", "history_open_times", "execution_times", "asset_names",
                     "quantity", "notional"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def __repr__(self) -> str:
        return f"OrderContext({self.n_orders:,} orders, T={self.horizon} {self.freq} bars, lookback {self.lookback})"

    @property
    def n_orders(self) -> int:
        return len(self.asset_names)

    def _check_lookback(self, lookback: int) -> None:
        if not 0 <= lookback <= self.lookback:
            raise StrategyError(f"the context holds {self.lookback} bars of history, {lookback} were asked for; "
                                "set the strategy's `lookback` to the history it needs")

    def history(self, name: str, lookback: int) -> np.ndarray:
        """``"prices"`` or ``"volumes"`` of the ``lookback`` bars before the origin, (n, lookback)."""
        if name not in ("prices", "volumes"):
            raise StrategyError(f"OrderContext.history: name {name!r}; expected 'prices' or 'volumes'")
        self._check_lookback(lookback)
        values = self.history_prices if name == "prices" else self.history_volumes
        return values[:, values.shape[1] - lookback:].copy()

    def bar_times(self) -> np.ndarray:
        """Scheduled open times of the T execution bars (known in advance), (n, T)."""
        return self.execution_times.copy()

    def history_times(self, lookback: int) -> np.ndarray:
        """Open times of the ``lookback`` bars before the origin, (n, lookback)."""
        self._check_lookback(lookback)
        return self.history_open_times[:, self.lookback - lookback:].copy()

    def assets(self) -> np.ndarray:
        return self.asset_names.copy()

    def sizes(self) -> tuple[np.ndarray, np.ndarray]:
        """Order quantity and notional, (n,) each."""
        return self.quantity.copy(), self.notional.copy()


@dataclass(frozen=True)
class StepObservation:
    """What an adaptive strategy sees before execution bar s: realised bars 0..s−1 of the window."""

    step: int
    prices: np.ndarray  # (n, s)
    volumes: np.ndarray  # (n, s)
    allocated: np.ndarray  # (n, s, S): the strategy's own earlier allocations


@dataclass(frozen=True)
class RealisedWindow:
    """The execution window handed to a ``sequence`` strategy, (n, T) each, as known before bar
    ``visible``: bars ≥ ``visible`` are masked by the framework (price = the last known price,
    volume = 0, the zero-volume convention)."""

    prices: np.ndarray
    volumes: np.ndarray
    visible: int | None = None  # None: every bar is real (training data, never a decision)


def _checking_params(init):
    """Wrap a strategy's ``__init__`` so that every declared parameter is checked (``Param.check``) first."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def checked(self, *args: Any, **kwargs: Any) -> None:
        specs = type(self).param_specs
        if specs:
            bound = signature.bind(self, *args, **kwargs)
            for key, value in list(bound.arguments.items()):
                if key in specs:
                    bound.arguments[key] = specs[key].check(type(self).name or type(self).__name__, key, value)
            args, kwargs = bound.args[1:], bound.kwargs
        init(self, *args, **kwargs)

    checked._checks_params = True
    return checked


class Strategy:
    """Base class for execution strategies (built-in and plug-in alike).

    Subclasses set ``name``, ``description`` and ``mode`` and implement the method(s) of that mode.
    Keyword arguments of ``__init__`` are the strategy's parameters.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    mode: ClassVar[Mode] = "static"
    lookback: int = 0  # bars of history needed before the origin
    param_specs: ClassVar[dict[str, Param]] = {}  # declared type and range per parameter (checked before __init__)
    # True: the framework may run the strategy's calls (``start``/``step`` or ``allocate_sequence`` on different
    # independent batches) at the same time on threads; only for a strategy whose calls keep nothing on the
    # object that another call could see half-made, and whose heavy work releases the GIL (e.g. JAX)
    concurrent_calls: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__ and not getattr(cls.__init__, "_checks_params", False):
            cls.__init__ = _checking_params(cls.__init__)

    def fit(self, bars) -> "Strategy":
        """Fit on training bars (a frame from ``load_bars`` cut before the validation start)."""
        return self

    def unsupported(self, spec: ContractSpec) -> str | None:
        """``None`` if the strategy supports ``spec``, else the reason it does not."""
        return None

    def checkpoint_mismatch(self, bars) -> str | None:
        """``None`` unless the strategy runs a trained checkpoint made for other data than ``bars``
        (another asset or frequency); then the reason, e.g. for a sweep to skip the cell."""
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
        path.write_text(json.dumps({"strategy": self.name, "params": self.params(), "state": self.get_state(),
                                    "fitted_on": getattr(self, "fitted_on", None)}, indent=1) + "\n")
        return path

    def schedule(self, ctx: OrderContext, grid: ScenarioGrid) -> np.ndarray:
        raise NotImplementedError

    def start(self, ctx: OrderContext, grid: ScenarioGrid) -> Any:
        raise NotImplementedError

    def step(self, state: Any, obs: StepObservation) -> np.ndarray:
        raise NotImplementedError

    def policy_kernel(self, state: Any) -> tuple[Any, np.ndarray, tuple] | None:
        """Optional (adaptive mode): the decisions of ``step`` as a per-order Numba kernel, for the batch
        ``start`` returned ``state`` for: ``(kernel, rows, shared)``, with one float64 row per order
        (``execbench.strategy.policy``).  ``None`` (the default): the framework calls ``step``."""
        return None

    def allocate_sequence(self, ctx: OrderContext, grid: ScenarioGrid, window: RealisedWindow) -> np.ndarray:
        raise NotImplementedError
