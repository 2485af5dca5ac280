"""The sweep's grid: one ``SweepCell`` per strategy × asset × frequency × horizon × parameter set ×
seed, and the checks that turn a bad grid into one line before any work starts."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from execbench.errors import DataError, ParameterError


@dataclass(frozen=True)
class SweepCell:
    """One task of a sweep: a strategy with parameters on one asset and frequency, horizon T, seed."""

    strategy: str
    asset: str
    freq: str
    horizon: int
    params: tuple[tuple[str, Any], ...] = ()
    seed: int = 0

    def __repr__(self) -> str:
        shown = ",".join(f"{k}={v}" for k, v in self.params)
        return (f"SweepCell({self.strategy}{'[' + shown + ']' if shown else ''} on {self.asset} {self.freq}, "
                f"T={self.horizon}, seed {self.seed})")

    @property
    def key(self) -> str:
        """A stable id of the cell (16 hex digits of the SHA-256 of its fields): its file name."""
        text = json.dumps([self.strategy, self.asset, self.freq, self.horizon, [list(p) for p in self.params],
                           self.seed], default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def params_text(self) -> str:
        """The parameter set as ``name=value,...`` (empty for the defaults)."""
        return ",".join(f"{k}={v}" for k, v in self.params)

    def strategy_params(self, takes_seed: bool) -> dict[str, Any]:
        """The strategy's keyword arguments: the parameter set, and the seed where the strategy has one."""
        params = dict(self.params)
        if takes_seed and "seed" not in params:
            params["seed"] = self.seed
        return params


def sweep_cells(strategies: list[str], assets: list[str], freqs: list[str | None] | None = None,
                horizons: list[int] | None = None, param_grid: dict[str, list[Any]] | None = None,
                seeds: list[int] | None = None) -> list[SweepCell]:
    """Every cell of the grid, checked before any work starts (one line for a strategy, asset, frequency,
    horizon or parameter that cannot run); a frequency of ``None`` is the asset's finest bundled one.  ``param_grid`` (name → values) applies to the strategies that take the parameter;
    the others run once with their defaults."""
    from execbench.data.frequency import format_freq, parse_freq
    from execbench.strategy import load_strategy, strategy_class

    freqs = list(dict.fromkeys(freqs or [None]))
    horizons = list(dict.fromkeys(horizons or [12]))
    seeds = list(dict.fromkeys(seeds or [0]))
    grid = {name: list(dict.fromkeys(values)) for name, values in sorted((param_grid or {}).items())}
    if "seed" in grid:
        raise ParameterError("--param-grid seed: the seeds are --seeds (strategies with a seed parameter get them)")
    for name in strategies:
        strategy_class(name)  # an unknown strategy is a one-line StrategyError here
    for asset in assets:
        check_asset(asset)
    bad = [h for h in horizons if int(h) < 1]
    if bad:
        raise ParameterError(f"--horizons {bad[0]}: expected a positive number of bars")
    # a file or folder is named by its absolute path, so every worker finds it and the cell's key is stable
    assets = list(dict.fromkeys(asset if asset in _bundled() or asset.lower().startswith("synthetic:")
                                else str(Path(asset).resolve()) for asset in assets))
    freqs = [None if f is None else format_freq(parse_freq(f)) for f in freqs]  # 60m and 1h: one cell
    unused = [p for p in grid if not any(_takes(name, p) for name in strategies)]
    if unused:
        raise ParameterError(f"--param-grid {unused[0]!r}: no strategy of the sweep takes it "
                             f"({', '.join(strategies)})")
    cells = []
    for name in strategies:
        names = [p for p in grid if _takes(name, p)]
        sets = [tuple(zip(names, values, strict=True)) for values in itertools.product(*(grid[p] for p in names))]
        for params in sets or [()]:
            load_strategy(name, **dict(params))  # wrong names, types or ranges: one line
        for asset, freq, horizon, params, seed in itertools.product(assets, freqs, horizons, sets or [()], seeds):
            cells.append(SweepCell(name, asset, freq or finest_freq(asset), int(horizon), params, int(seed)))
    return list(dict.fromkeys(cells))


def _bundled() -> dict[str, list[str]]:
    from execbench.data.bundled import bundled_assets

    return bundled_assets()


def check_asset(asset: str) -> None:
    """A bundled asset or universe, a synthetic market or an existing file or folder; else one line."""
    known = _bundled()
    if asset not in known and not asset.lower().startswith("synthetic:") and not Path(asset).exists():
        raise DataError(f"--assets {asset!r}: not a bundled asset or universe ({', '.join(sorted(known))}) nor an "
                        "existing file or folder")


def finest_freq(asset: str) -> str:
    """The finest bundled frequency of ``asset`` (what ``load_bars`` uses without ``freq``)."""
    from execbench.data.frequency import parse_freq

    freqs = _bundled().get(asset)
    if freqs:
        return min(freqs, key=parse_freq)
    if asset.lower().startswith("synthetic:"):
        return "15m"
    raise ParameterError(f"--freqs: needed for {asset!r}, which is not bundled (its frequency is not known up front)")


def takes_seed(strategy: str) -> bool:
    """Whether the strategy declares a ``seed`` parameter (the sweep's seed is passed to it)."""
    from execbench.strategy import strategy_class

    return "seed" in strategy_class(strategy).param_defaults()


def _takes(strategy: str, param: str) -> bool:
    from execbench.strategy import strategy_class

    cls = strategy_class(strategy)
    return param in cls.param_defaults() or cls.accepts_any_param()
