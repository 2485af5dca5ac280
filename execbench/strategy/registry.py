"""Strategy discovery: the ``execbench.strategies`` entry-point group, or a class in a file."""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from execbench.errors import ExecbenchError, StrategyError
from execbench.params import check_names
from execbench.strategy.base import Strategy

ENTRY_POINT_GROUP = "execbench.strategies"


def available_strategies() -> dict[str, Any]:
    """Registered strategies: name → entry point (built-ins and installed plug-ins alike)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _class_from_file(spec: str) -> type[Strategy]:
    path_text, _, class_name = spec.rpartition(":") if ".py:" in spec else (spec, "", "")
    path = Path(path_text)
    if not path.is_file():
        raise StrategyError(f"strategy file {str(path)!r}: no such file")
    # a module of its own name per file, in sys.modules: Numba's cache of a kernel the file defines finds its
    # module again by that name in a later process (which loads the file first)
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    name = f"execbench_user_{path.stem}_{digest}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:  # the user's file: report what broke, in one line
        sys.modules.pop(name, None)
        raise StrategyError(f"strategy file {str(path)!r}: failed to import ({type(exc).__name__}: {exc})") from exc
    classes = [obj for obj in vars(module).values()
               if inspect.isclass(obj) and issubclass(obj, Strategy) and obj is not Strategy
               and obj.__module__ == module.__name__]
    if class_name:
        chosen = [c for c in classes if c.__name__ == class_name]
        if not chosen:
            raise StrategyError(f"strategy file {str(path)!r}: no Strategy subclass named {class_name!r}")
        return chosen[0]
    if len(classes) != 1:
        raise StrategyError(
            f"strategy file {str(path)!r}: found {len(classes)} Strategy subclasses; name one as FILE.py:ClassName"
        )
    return classes[0]


def strategy_class(name: str) -> type[Strategy]:
    """The strategy class registered as ``name``, or loaded from ``path/to/file.py[:ClassName]``."""
    if ".py" in name:
        return _class_from_file(name)
    registered = available_strategies()
    if name not in registered:
        known = ", ".join(sorted(registered)) or "none"
        raise StrategyError(f"strategy {name!r}: unknown; registered strategies: {known} (or pass FILE.py:ClassName)")
    cls = registered[name].load()
    if not (inspect.isclass(cls) and issubclass(cls, Strategy)):
        raise StrategyError(f"strategy {name!r}: entry point {registered[name].value} is not a Strategy subclass")
    return cls


def load_strategy(name: str, **params: Any) -> Strategy:
    """Instantiate a strategy by registered name or file path with keyword parameters.

    Raises ``ParameterError`` for a parameter name the strategy does not take (listing those it does)
    and ``StrategyError`` for an unknown strategy or values its constructor rejects.
    """
    cls = strategy_class(name)
    if not cls.accepts_any_param():
        check_names(params, cls.param_defaults(), f"strategy {name!r}")
    try:
        return cls(**params)
    except ExecbenchError:
        raise
    except (TypeError, ValueError) as exc:
        raise StrategyError(f"strategy {name!r}: bad parameters {params} ({exc})") from None


def load_fitted(path: str | Path) -> Strategy:
    """Rebuild a strategy saved with ``Strategy.save`` (parameters and fitted state)."""
    path = Path(path)
    try:
        saved = json.loads(path.read_text())
        name, params, state = saved["strategy"], saved["params"], saved["state"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StrategyError(f"strategy state {str(path)!r}: not a saved strategy ({exc})") from None
    strategy = load_strategy(name, **params)
    try:
        strategy.set_state(state)
    except ExecbenchError as exc:
        raise StrategyError(f"strategy state {str(path)!r}: {exc}") from None
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise StrategyError(f"strategy state {str(path)!r}: not a valid {name!r} state ({type(exc).__name__}: {exc})") from None
    strategy.fitted_on = saved.get("fitted_on")
    return strategy
