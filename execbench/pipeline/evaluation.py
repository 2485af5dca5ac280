"""The evaluation pipeline: bars → split → fit → order windows → look-ahead audit → replay → results.

``evaluate`` and ``compare`` are what ``execbench run`` and ``execbench compare`` call, and equally the
entry points from a notebook: both audit every strategy unless told not to (``audit=False``), and the
audit report travels with the result.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from execbench.analysis import tables
from execbench.analysis.decomposition import decomposition_lines, edge_table
from execbench.analysis.sanity import impossible_results, near_certain
from execbench.analysis.shortfall import shortfall_table
from execbench.analysis.significance import ci_table, paired_breakdown
from execbench.contracts import Period, ScenarioGrid, period_short, run_periods, scenario_grid, scenario_label
from execbench.engine import ImpactModel, replay
from execbench.engine.replay.store import ResultStore, StoreSize, check_space
from execbench.errors import DataError, StrategyError
from execbench.orders import (
    DEFAULT_CHUNK,
    DEFAULT_ORDER_SIZE,
    DateSplit,
    OrderWindows,
    build_order_windows,
    default_split,
    strategy_calls,
    training_bars,
)
from execbench.pipeline.audit import AUDIT_ORDERS, AuditReport, audit_calls
from execbench.pipeline.cached_replay import cached_replay, frame_digest, replay_key, windows_digest
from execbench.results import ReplayResult, RunData
from execbench.strategy import Strategy, check_fitted_for, check_supported, fit_strategy, load_strategy, run_strategy
from execbench.threads import in_background

TABLE_KINDS = ("paper", "min_period", "scenarios", "shortfall", "breakdown", "ci", "edges")

CHUNK_BYTES = 256 * 2**20  # working memory of one replay chunk (allocations and the kernel's arrays)


def sized_chunk(chunk_size: int, horizon: int, n_scenarios: int) -> int:
    """``chunk_size``, reduced so that one chunk's (orders × T × scenarios) arrays fit ``CHUNK_BYTES``."""
    per_order = horizon * n_scenarios * 8 * 4
    return max(1, min(int(chunk_size), CHUNK_BYTES // per_order))


@dataclass(frozen=True, eq=False, repr=False)
class Evaluation:
    """One strategy evaluated on one dataset: the results, the TWAP baseline on the same orders, the
    look-ahead audit (``None`` when skipped) and everything needed to reproduce it."""

    strategy: str
    params: dict[str, Any]
    asset: str
    freq: str
    horizon: int
    split: DateSplit
    windows: OrderWindows
    result: ReplayResult
    baseline: ReplayResult
    data: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    impact: ImpactModel | None = None
    audit: AuditReport | None = None
    warnings: tuple[str, ...] = ()  # results impossible without the future (``impossible_results``)
    option: ReplayResult | None = None  # optstop on the same orders (flexible scenarios): the option's value
    _tables: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # ``table``'s, by arguments

    def __repr__(self) -> str:
        return (f"Evaluation({self.strategy!r} on {self.asset} {self.freq}, T={self.horizon}: "
                f"{self.result.n_orders:,} orders × {len(self.result.grid)} scenarios, audit {self.audit_label()})")

    def audit_label(self) -> str:
        """``passed``, ``FAILED step s`` or ``skipped``."""
        return "skipped" if self.audit is None else self.audit.label()

    def summary(self, benchmark: str = "vwap", target: str = "quantity") -> str:
        """A few lines: what was evaluated, the audit, and mean bps (paper sign) at m = 1 and the match case."""
        result, orders = self.result, self.result.orders
        params = f"({', '.join(f'{k}={v!r}' for k, v in self.params.items())})" if self.params else ""
        lines = [f"{self.strategy}{params} on {self.asset} {self.freq}, T={self.horizon}, "
                 f"{result.n_orders:,} orders from {orders['origin'].min():%Y-%m-%d} to "
                 f"{orders['origin'].max():%Y-%m-%d} ({self.split})",
                 "look-ahead audit skipped (audit=False)" if self.audit is None else self.audit.summary(),
                 *(f"WARNING: {w}" for w in self.warnings)]
        for side in ("buy", "sell"):
            cells = []
            for period in (1, "match"):
                label = scenario_label(side, benchmark, target, period)
                if label in result.grid.labels:
                    cells.append(f"{period_short(period)} {np.nanmean(result.column('bps', label)):+.2f}")
            lines.append(f"{side.upper()} mean bps vs {benchmark.upper()} ({target}; paper sign): " + ", ".join(cells))
        twap = np.nanmean(self.baseline.column("bps", scenario_label("buy", "vwap", target, "match")))
        lines.append(f"TWAP on the same orders vs the full-horizon VWAP: {twap:+.2f} bps")
        if self.option is not None and any(spec.min_period == 1 and not spec.match for spec in result.grid.specs):
            lines += decomposition_lines(self.table("edges", periods=[1], benchmark=benchmark, target=target))
        return "\n".join(lines)

    def run_data(self) -> RunData:
        """The on-disk form of the results (what ``results_<strategy>.npz`` holds)."""
        return RunData.from_result(self.strategy, self.result, self.baseline, self.option)

    def table(self, kind: str = "paper", **options: Any) -> pd.DataFrame:
        """One of the run's tables as a DataFrame.

        Parameters
        ----------
        kind
            ``"paper"`` (the paper's format; ``benchmark``, ``target``), ``"min_period"`` (``stat``:
            Mean or Std), ``"scenarios"`` (every scenario), ``"shortfall"`` (IS and its parts;
            ``periods``, ``benchmark``, ``target``), ``"breakdown"`` (``by``: regime, asset or year) or
            ``"ci"`` (block-bootstrap CIs; ``periods``, ``reps``, ``seed``) or ``"edges"`` (the edge
            against the realised window, the full window and arrival, and the option / rest decomposition,
            ``execbench.analysis.decomposition``; ``periods``, ``benchmark``, ``target``).

        A table is computed once per set of arguments (an evaluation does not change); each call returns
        its own copy.
        """
        key = _table_key(kind, options)
        if key not in self._tables:
            self._tables[key] = self._table(kind, **options)
        return self._tables[key].copy()

    def _table(self, kind: str, **options: Any) -> pd.DataFrame:
        periods = options.pop("periods", None)
        scenarios = self._tables.get(_table_key("scenarios", {}))  # if computed: the same numbers, not sorted again
        if kind == "paper":
            return tables.paper_table(self.result, self.baseline, strategy=self.strategy.upper(), scenarios=scenarios,
                                      **options)
        if kind == "min_period":
            return tables.min_period_table(self.result, scenarios=scenarios, **options)
        if kind == "scenarios":
            return tables.scenario_table(self.result, **options)
        if kind == "shortfall":
            return shortfall_table(self.result, periods=periods or run_periods(self.horizon), **options)
        if kind == "breakdown":
            by = options.pop("by", "regime")
            return tables.breakdown_table(self.result, by, periods=periods or run_periods(self.horizon), **options)
        if kind == "ci":
            return ci_table(self.run_data(), periods=periods, **options)
        if kind == "edges":
            return edge_table({self.strategy: self.run_data()}, periods=periods or run_periods(self.horizon), **options)
        raise ValueError(f"Evaluation.table: kind {kind!r}; expected one of {', '.join(TABLE_KINDS)}")


def _table_key(kind: str, options: dict) -> tuple[str, str]:
    """The key of a computed table: its kind and its options, in a fixed order."""
    return kind, repr(sorted(options.items()))


@dataclass(frozen=True, eq=False, repr=False)
class Comparison(Mapping[str, Evaluation]):
    """Several strategies evaluated on exactly the same orders: a mapping of name → ``Evaluation``."""

    evaluations: dict[str, Evaluation]

    def __getitem__(self, name: str) -> Evaluation:
        return self.evaluations[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.evaluations)

    def __len__(self) -> int:
        return len(self.evaluations)

    def __repr__(self) -> str:
        first = next(iter(self.evaluations.values()))
        audits = ", ".join(f"{k} {e.audit_label()}" for k, e in self.evaluations.items())
        return (f"Comparison({', '.join(self.evaluations)} on {first.asset} {first.freq}, T={first.horizon}: "
                f"{first.result.n_orders:,} orders each; audits: {audits})")

    def table(self, periods: list[Period] | None = None, benchmark: str = "vwap",
              target: str = "quantity") -> pd.DataFrame:
        """The comparison table (mean bps per strategy × side at ``periods``, default 1, T/2, T, match)."""
        return tables.comparison_table({k: e.result for k, e in self.items()}, periods=periods,
                                       benchmark=benchmark, target=target)

    def edges(self, periods: list[Period] | None = None, benchmark: str = "vwap",
              target: str = "quantity") -> pd.DataFrame:
        """Every strategy's edge against the realised window, the full window and arrival, and its split
        into the option's value and the rest (``execbench.analysis.decomposition.edge_table``), at
        ``periods`` (default 1, T/2 and match)."""
        first = next(iter(self.evaluations.values()))
        return edge_table({k: e.run_data() for k, e in self.items()}, periods=periods or run_periods(first.horizon),
                          benchmark=benchmark, target=target)

    def paired_breakdown(self, by: str = "regime", periods: list[Period] | None = None, benchmark: str = "vwap",
                         target: str = "quantity", seed: int = 0) -> pd.DataFrame:
        """Each strategy minus TWAP within each group of orders (``by``: regime, asset or year), with
        date-block CIs (``execbench.analysis.significance.paired_breakdown``); needs ``twap`` compared."""
        first = next(iter(self.evaluations.values()))
        return paired_breakdown({k: e.run_data() for k, e in self.items()}, by=by, seed=seed, benchmark=benchmark,
                                periods=periods or run_periods(first.horizon), target=target)

    def summary(self) -> str:
        """What was compared, each audit, and the comparison table."""
        lines = [repr(self)]
        lines += [f"  {name}: {e.audit.summary() if e.audit else 'look-ahead audit skipped'}" for name, e in self.items()]
        return "\n".join(lines) + "\n" + self.table().to_string(index=False)


def curve_scenarios(grid: ScenarioGrid) -> tuple[str, ...]:
    """Scenarios whose allocations an evaluation keeps for execution curves: every VWAP-benchmark
    scenario of the grid (both sides, both targets, every minimum period)."""
    return tuple(spec.label for spec in grid.specs if spec.benchmark == "vwap")


def call_groups(calls: list[np.ndarray], chunk_size: int) -> list[list[np.ndarray]]:
    """Consecutive strategy calls (``strategy_calls``) grouped into replay chunks of at most
    ``chunk_size`` orders."""
    groups, current, size = [], [], 0
    for rows in calls:
        if current and size + len(rows) > chunk_size:
            groups.append(current)
            current, size = [], 0
        current.append(rows)
        size += len(rows)
    return groups + ([current] if current else [])


def replay_strategy(strategy: Strategy, windows: OrderWindows, grid: ScenarioGrid, *,
                    chunk_size: int = DEFAULT_CHUNK, progress: Callable[[int], None] | None = None,
                    keep: tuple[str, ...] = (), impact: ImpactModel | None = None,
                    calls: list[np.ndarray] | None = None, clock: dict[str, float] | None = None) -> ReplayResult:
    """Run ``strategy`` on ``windows`` in its calls (``strategy_calls``: independent batches of at most
    ``chunk_size`` orders; the replay chunks are whole calls) and replay its allocations (keeping, as
    float32, those of the scenarios in ``keep``), with market impact if given; the result, in the
    order of ``windows``, carries each order's reference prices (arrival, first/last bar,
    full-window VWAP/TWAP).  The engine's own time (``replay``) is added to ``clock["engine_s"]`` when
    ``clock`` is given."""
    check_supported(strategy, grid)
    kept_index = [grid.index(label) for label in keep]
    orders = windows.orders_frame()  # shared by every result on these windows, as are the reference prices
    reference = windows.reference_prices()  # gathered once, a block at a time; the chunks take theirs along
    if calls is None:
        calls = strategy_calls(windows, strategy.lookback, chunk_size)
    store = ResultStore(grid, StoreSize(len(windows), len(grid), grid.horizon, len(keep),
                                        impact=impact is not None and impact.active), kept=tuple(keep),
                        orders=orders, reference=reference)
    for group in call_groups(calls, chunk_size):
        rows = np.concatenate(group)
        chunk = windows.subset(rows)
        offsets = np.cumsum([0] + [len(b) for b in group])
        qty, notional = chunk.sizes()  # first: the strategy's batches take the chunk's expected volumes along
        alloc = run_strategy(strategy, chunk, grid,
                             batches=[np.arange(a, b) for a, b in zip(offsets[:-1], offsets[1:], strict=True)])
        prices, volumes = chunk.window("prices"), chunk.window("volumes")
        tick = time.perf_counter()
        part = replay(prices, volumes, alloc, grid, order_qty=qty, order_notional=notional,
                      orders=orders.iloc[rows], strategy=strategy.name, impact=impact,
                      window_volume=chunk.expected_volume())
        if clock is not None:
            clock["engine_s"] = clock.get("engine_s", 0.0) + time.perf_counter() - tick
        store.write(rows, part, alloc[:, :, kept_index].astype(np.float32) if kept_index else None)
        if progress is not None:
            progress(len(chunk))
    return store.result()


def replay_option(bars: pd.DataFrame, split: DateSplit, windows: OrderWindows, grid: ScenarioGrid, *,
                  chunk_size: int = DEFAULT_CHUNK, impact: ImpactModel | None = None,
                  clock: dict[str, float] | None = None) -> ReplayResult | None:
    """The zero-information stopping policy (``optstop``), fitted on the training bars, replayed on
    ``windows`` for the flexible scenarios of ``grid``: what the option alone earns on those orders
    (``None`` if the grid has no flexible scenario it supports).  The result is kept in the user cache
    (``cached_replay``): a later evaluation on the same bars, orders and scenarios reads it back."""
    stopping = load_strategy("optstop")
    flexible = tuple(spec for spec in grid.specs if not spec.match and stopping.unsupported(spec) is None)
    if not flexible:
        return None
    option_grid = ScenarioGrid(flexible)

    def replay_it() -> ReplayResult:
        fit_strategy(stopping, training_bars(bars, split.train_end))
        return replay_strategy(stopping, windows, option_grid, chunk_size=chunk_size, impact=impact, clock=clock)

    with_impact = impact is not None and impact.active
    def key() -> str:
        return replay_key(stopping, "option", frame_digest(bars), str(split.train_end), windows_digest(windows),
                          [dataclasses.asdict(spec) for spec in flexible], chunk_size,
                          dataclasses.asdict(impact) if with_impact else None)

    tick = time.perf_counter()
    result, cached = cached_replay(key, replay_it, option_grid, windows, impact=with_impact)
    if clock is not None and cached:
        clock["option_cache_read_s"] = time.perf_counter() - tick
    return result


def _timed_option(bars: pd.DataFrame, split: DateSplit, windows: OrderWindows, grid: ScenarioGrid, chunk_size: int,
                  impact: ImpactModel | None, clock: dict[str, float]) -> ReplayResult | None:
    """``replay_option``, its own time in ``clock["option_s"]`` (and its engine's in ``clock["engine_s"]``)."""
    tick = time.perf_counter()
    result = replay_option(bars, split, windows, grid, chunk_size=chunk_size, impact=impact, clock=clock)
    clock["option_s"] = time.perf_counter() - tick
    return result


def evaluate(
    strategy: Strategy | str,
    bars: pd.DataFrame,
    *,
    horizon: int = 12,
    split: DateSplit | None = None,
    grid: ScenarioGrid | None = None,
    order_size: float = DEFAULT_ORDER_SIZE,
    chunk_size: int = DEFAULT_CHUNK,
    fit: bool = True,
    windows: OrderWindows | None = None,
    keep_allocations: bool = True,
    impact: ImpactModel | None = None,
    audit: bool = True,
    audit_orders: int = AUDIT_ORDERS,
    seed: int = 0,
    option: bool = True,
    option_result: ReplayResult | None = None,
    progress: Callable[[int], None] | None = None,
    on_windows: Callable[[OrderWindows], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
    baseline_result: ReplayResult | None = None,
) -> Evaluation:
    """Fit, audit and evaluate a strategy on the test period of ``bars``.

    Parameters
    ----------
    strategy
        A ``Strategy`` instance or a registered name / ``FILE.py:Class``.
    bars
        From ``load_bars`` (one asset or a universe).
    horizon
        T, bars per order.
    split
        Train / validation / test dates; default ``default_split(bars)``.
    grid
        Scenarios to evaluate; default the full grid ``scenario_grid(horizon)``.
    order_size
        Order size as a fraction of the expected window volume (> 0): it sets each order's quantity, so
        participation, capped scenarios, impact and volume-driven strategies (POV) depend on it.
    chunk_size
        Orders per strategy call and replay.
    fit
        Fit the strategy on the bars before ``split.train_end`` first (``False`` for a strategy that
        is already fitted or loaded from a saved state).
    windows
        Evaluate on these order windows (e.g. shared by several strategies) instead of building them.
    impact
        Replay with market impact (default none, the paper's setting); the TWAP baseline gets the same.
    keep_allocations
        Keep the allocations of the VWAP-benchmark scenarios (``curve_scenarios``) for execution
        curves.
    audit
        Run the look-ahead audit (``audit_strategy``) on at least ``audit_orders`` orders, in whole
        calls of this run chosen with ``seed``, after fitting; its report is ``Evaluation.audit``.  A failed audit does
        not stop the evaluation: it is recorded and shown.
    option
        Also replay the zero-information stopping policy (``optstop``, fitted on the same training
        bars) on the same orders, so that the edge splits into the option's value and the rest
        (``Evaluation.option``).
    option_result
        That replay, already done on these windows (``compare`` shares one across strategies).
    progress
        Called with the number of orders done after each chunk.
    on_windows
        Called once the order windows are known (e.g. to size a progress bar).
    on_stage
        Called with a short description as each stage starts (fitting, audit, replay).
    baseline_result
        The TWAP baseline, already replayed on these windows (``compare`` shares one across strategies);
        used where it has every scenario this strategy's checks need, else replayed again.

    Returns
    -------
    Evaluation
    """
    timings: dict[str, float] = {}
    stage = on_stage or (lambda text: None)
    strategy = load_strategy(strategy) if isinstance(strategy, str) else strategy
    split = split or default_split(bars)
    grid = grid or scenario_grid(horizon)
    check_supported(strategy, grid)
    tick = time.perf_counter()
    if fit:
        stage(f"fitting {strategy.name} on bars before {split.train_end.date()}")
        fit_strategy(strategy, training_bars(bars, split.train_end))
    else:
        check_fitted_for(strategy, bars, split.train_end)
    timings["fit_s"] = time.perf_counter() - tick
    if windows is None:
        windows = build_order_windows(bars, horizon, start=split.test_start, end=split.test_end,
                                      min_history=max(1, strategy.lookback), order_size=order_size)
    if len(windows) == 0:
        raise DataError(
            f"no complete order windows of {horizon} bars in the test period from {split.test_start.date()} "
            f"({bars.attrs.get('asset')} {bars.attrs.get('freq')}; skipped: {windows.skipped})"
        )
    report = None
    keep = curve_scenarios(grid) if keep_allocations else ()
    with_impact = impact is not None and impact.active
    option_scenarios = sum(not spec.match for spec in grid.specs) if option and option_result is None else 0
    check_space(StoreSize(len(windows), len(grid), horizon, len(keep), impact=with_impact),
                StoreSize(len(windows), option_scenarios, horizon, impact=with_impact))
    chunk_size = sized_chunk(chunk_size, horizon, len(grid))
    calls = strategy_calls(windows, strategy.lookback, chunk_size)  # what the run and the audit show the strategy
    windows.expected_volume()  # once, a block at a time: the chunks, the audit's calls and the option take theirs along
    option_clock: dict[str, float] = {}
    option_replay = None
    if option and option_result is None and strategy.name != "optstop":
        # on a thread while the audit and the replay run: solving the stopping rules and replaying them, where
        # the user cache does not have them, is NumPy and Numba work that overlaps a strategy's Python and the
        # LEM's XLA calls.  It reads the bars (which the run no longer reads) and gets windows of its own, so
        # that nothing either fills lazily (the windows' derived arrays) is shared
        own_windows = windows.with_own_cache()  # the same orders and series, only the expected volumes cached
        option_replay = in_background(lambda: _timed_option(bars, split, own_windows, grid, chunk_size, impact,
                                                            option_clock), "execbench-option")
    if audit:  # some of the run's own calls, on a perturbed market
        tick = time.perf_counter()
        stage(f"look-ahead audit of {strategy.name}")
        report = audit_calls(strategy, windows, grid, calls, asset=str(bars.attrs.get("asset")), n_orders=audit_orders,
                             seed=seed)
        timings["audit_s"] = time.perf_counter() - tick
    if on_windows is not None:
        on_windows(windows)
    tick = time.perf_counter()
    stage(f"replaying {strategy.name}")
    result = replay_strategy(strategy, windows, grid, chunk_size=chunk_size, progress=progress,
                             keep=keep, impact=impact, calls=calls, clock=timings)
    timings["strategy_and_replay_s"] = time.perf_counter() - tick
    baseline_grid = scenario_grid(horizon, sides=("buy",), benchmarks=("vwap",), min_periods=())
    suspicious = set(near_certain(result)) - set(baseline_grid.labels)  # TWAP's hit rate there is needed too
    baseline_grid = ScenarioGrid(baseline_grid.specs + tuple(s for s in grid.specs if s.label in suspicious))
    twap = load_strategy("twap")
    if baseline_result is None and type(strategy) is type(twap) and strategy.params() == twap.params():
        baseline_result = result  # the strategy is the baseline: its own result holds the same numbers
    if baseline_result is not None and set(baseline_grid.labels) <= set(baseline_result.grid.labels):
        baseline = baseline_result  # another strategy's on the same orders (``compare``): the same numbers
    else:
        baseline = replay_strategy(twap, windows, baseline_grid, chunk_size=chunk_size, impact=impact, clock=timings)
    warnings = impossible_results(result, baseline)
    if option and option_result is None:
        stage("replaying the zero-information stopping policy (optstop) on the same orders")
        option_result = result if strategy.name == "optstop" else option_replay()
        for name, seconds in option_clock.items():  # its engine time counts with the run's
            timings[name] = timings.get(name, 0.0) + seconds
    return Evaluation(
        strategy=strategy.name, params=strategy.params(), asset=str(bars.attrs.get("asset")),
        freq=str(bars.attrs.get("freq")), horizon=horizon, split=split, windows=windows, result=result,
        baseline=baseline, timings=timings, impact=impact, audit=report, warnings=warnings,
        option=option_result if option else None,
        data={k: bars.attrs.get(k) for k in ("sources", "sha256", "calendar", "resampled_from") if k in bars.attrs},
    )


def compare(
    strategies: list[Strategy | str],
    bars: pd.DataFrame,
    *,
    horizon: int = 12,
    split: DateSplit | None = None,
    grid: ScenarioGrid | None = None,
    order_size: float = DEFAULT_ORDER_SIZE,
    fit: bool = True,
    impact: ImpactModel | None = None,
    audit: bool = True,
    audit_orders: int = AUDIT_ORDERS,
    seed: int = 0,
    option: bool = True,
    progress: Callable[[int], None] | None = None,
    on_windows: Callable[[OrderWindows], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
    on_evaluated: Callable[[str, Evaluation], None] | None = None,
) -> Comparison:
    """Fit, audit and evaluate several strategies on exactly the same orders.

    The order windows are built once, with the longest history any of the strategies needs, so every
    strategy is scored on the same origins.  Every strategy is audited as in ``evaluate`` (unless
    ``audit=False``).  The stopping policy (``optstop``) is replayed once on those orders and shared
    (``option``), and so is the TWAP baseline wherever it covers the scenarios a strategy needs.  Returns a
    ``Comparison``: evaluations keyed by strategy name.  ``on_evaluated(name, evaluation)`` is called as each
    strategy's evaluation is done (``reporting.run_folder.comparison_folder`` starts writing its files).
    """
    loaded = [load_strategy(s) if isinstance(s, str) else s for s in strategies]
    names = [s.name for s in loaded]
    if len(set(names)) != len(names):
        raise StrategyError(f"compare: strategy names must be distinct, got {names}")
    split = split or default_split(bars)
    for strategy in loaded:  # before any fitting: a model that cannot run the grid is not trained first
        check_supported(strategy, grid or scenario_grid(horizon))
    if fit:
        (on_stage or (lambda text: None))(f"fitting {', '.join(names)} on bars before {split.train_end.date()}")
        train = training_bars(bars, split.train_end)
        for strategy in loaded:
            fit_strategy(strategy, train)
    windows = build_order_windows(bars, horizon, start=split.test_start, end=split.test_end,
                                  min_history=max([1, *(s.lookback for s in loaded)]), order_size=order_size)
    if on_windows is not None:
        on_windows(windows)
    evaluations: dict[str, Evaluation] = {}
    shared = baseline = None
    for strategy in sorted(loaded, key=lambda s: s.name != "optstop"):  # optstop first: its result is the option
        evaluations[strategy.name] = evaluate(
            strategy, bars, horizon=horizon, split=split, grid=grid, fit=False, windows=windows, impact=impact,
            audit=audit, audit_orders=audit_orders, seed=seed, option=option, option_result=shared, progress=progress,
            on_stage=on_stage, baseline_result=baseline)
        shared, baseline = evaluations[strategy.name].option, evaluations[strategy.name].baseline
        if on_evaluated is not None:
            on_evaluated(strategy.name, evaluations[strategy.name])
    return Comparison({name: evaluations[name] for name in names})
