"""The optimal zero-information stopping policy of a flexible-horizon contract, by least-squares
Monte Carlo on the martingale model (``price_model.MartingaleModel``).

A flexible contract pays against the benchmark of the window the trader ends (bars 1..e, e ≥ m):
choosing e is a Bermudan option on the running benchmark (the accelerated-share-repurchase problem:
Guéant, Pu & Royer 2015; Guéant 2017 for a fixed notional; Baldacci, Bergault & Guéant 2024 for
optimised heuristics priced by least-squares Monte Carlo).  The policy family here is theirs:

* **trading while the option is alive** is deterministic: bars t ≤ m trade max(front/m, R/(T−t+1))
  (the share ``front`` of the order over the first m bars, never slower than TWAP on the remainder
  R), later bars R/(T−t+1);
* **exercise**: before each bar t in [max(m, 2), T−1] the policy may finish the whole remainder in
  bar t, which ends the window at t.  It does so when the regression of (payoff of finishing now −
  payoff of continuing optimally) on the state is positive (Longstaff–Schwartz, backward from T−1).
  Before bar 1 (m = 1) nothing is known, so the decision is the sign of the mean difference.

The state is what the contract's running benchmark and the trader's fills say, in units of the
volatility level σ: x₁ = log(last price / running benchmark)/σ and x₂ = log(average fill price /
running benchmark)/σ; the basis is (1, x₁, x₂, x₁², x₁x₂, x₂²).  Payoffs are in σ units too
(perf_bps / σ in bps), so one rule serves any volatility level and its value in bps scales with σ
(the edge is linear in σ for per-bar volatilities of a few tens of bps).

``front`` is chosen from ``FRONTS`` by the value on a second, independent set of paths (the least
front-loaded within one standard error of the best); the value reported (``StoppingRule.value``) is
measured on a third.  Payoffs follow the engine's rules exactly
(realised end max(m, last trade), quantity and notional targets, VWAP and TWAP benchmarks); a test
holds them equal to ``engine.replay``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from execbench.cache import cache_key, read_arrays, write_arrays
from execbench.contracts import ContractSpec, ScenarioGrid
from execbench.strategy.price_model import MartingaleModel
from execbench.strategy.schedules import bounded_step

FRONTS = (0.0, 0.5, 0.9)  # candidate shares of the order traded over the first m bars (measured: the value
# varies by less than its standard error across 0, 0.25, 0.5, 0.75 and 0.9 on BTCUSDT 15m)
SIGMA_REF = 1e-3  # volatility level of the simulated paths (10 bps per bar)
PATHS = 8192  # paths per set (fit, choice of front, value)
BASIS = 6
CLIP = 8.0  # state variables beyond ±CLIP σ are clipped (no extrapolation of the quadratic)


def continue_desired(remaining: np.ndarray, step: int, horizon: int, min_period: np.ndarray,
                     front: np.ndarray) -> np.ndarray:
    """What the policy trades in bar ``step`` (0-based) when it does not exercise: max(front/m,
    R/(T−step)) up to bar m, R/(T−step) after."""
    stretch = remaining / (horizon - step)
    return np.where(step + 1 <= min_period, np.maximum(front / min_period, stretch), stretch)


def state_basis(last: np.ndarray, benchmark: np.ndarray, paid: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """The regression basis (…, BASIS) from the last price, the running benchmark, the average fill
    price and the volatility level (broadcast together; undefined values give 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        x1 = np.log(last / benchmark) / sigma
        x2 = np.log(paid / benchmark) / sigma
    x1 = np.clip(np.where(np.isfinite(x1), x1, 0.0), -CLIP, CLIP)
    x2 = np.clip(np.where(np.isfinite(x2), x2, 0.0), -CLIP, CLIP)
    return np.stack([np.ones_like(x1), x1, x2, x1 * x1, x1 * x2, x2 * x2], axis=-1)


def ordered_sum(values: np.ndarray) -> np.ndarray:
    """Row sums of (n, s) ``values`` added in bar order (the order a per-order kernel adds them in;
    ``sum(axis=1)`` pairs terms from 8 on, which changes the last bit)."""
    return np.cumsum(values, axis=1)[:, -1] if values.shape[1] else np.zeros(values.shape[0])


def running_benchmark(prices: np.ndarray, volumes: np.ndarray, is_twap: np.ndarray) -> np.ndarray:
    """Benchmark of bars 0..s−1 for each order, (n, S) from (n, s) bars and (S,) benchmark kinds
    (NaN before any bar; a window without volume falls back to the mean price)."""
    if prices.shape[1] == 0:
        return np.full((prices.shape[0], is_twap.size), np.nan)
    # sums bar after bar (cumsum), not NumPy's pairwise order: the per-order kernels add the same way
    twap = ordered_sum(prices) / prices.shape[1]
    volume = ordered_sum(volumes)
    with np.errstate(invalid="ignore", divide="ignore"):
        vwap = np.where(volume > 0, ordered_sum(prices * volumes) / volume, twap)
    return np.where(is_twap[None, :], twap[:, None], vwap[:, None])


def average_fill(prices: np.ndarray, allocated: np.ndarray, is_notional: np.ndarray) -> np.ndarray:
    """Average fill price so far, (n, S), from bar prices (n, s) and allocations (n, s, S): Σa·P/Σa
    for a quantity target, Σa / Σ(a/P) for a notional target (NaN before any fill)."""
    if allocated.shape[1] == 0:
        return np.full((allocated.shape[0], allocated.shape[2]), np.nan)
    done = np.cumsum(allocated, axis=1)[:, -1]  # bar by bar, as the per-order kernel adds
    with np.errstate(invalid="ignore", divide="ignore"):
        quantity = np.cumsum(prices[:, :, None] * allocated, axis=1)[:, -1] / done
        notional = done / np.cumsum((1.0 / prices)[:, :, None] * allocated, axis=1)[:, -1]
    return np.where(is_notional[None, :], notional, quantity)


def pre_stop_schedule(spec: ContractSpec, front: float) -> np.ndarray:
    """The deterministic allocations (T,) while the option is alive (never exercised early)."""
    horizon = spec.horizon
    lo = np.array([spec.effective_min_rate])
    hi = np.array([spec.max_rate])
    alloc = np.zeros(horizon)
    remaining = np.ones((1, 1))
    for step in range(horizon):
        wish = continue_desired(remaining, step, horizon, np.array([spec.min_period]), np.array([front]))
        a = bounded_step(wish, remaining, step, horizon, lo, hi)
        alloc[step] = a[0, 0]
        remaining = remaining - a
    return alloc


def exercise_payoffs(prices: np.ndarray, volumes: np.ndarray, schedule: np.ndarray, spec: ContractSpec
                     ) -> np.ndarray:
    """perf_bps (positive = better) of finishing the remainder in each bar, (n, T): column t follows
    ``schedule`` before bar t and trades everything left in bar t (the window ends at max(m, t+1));
    the last column is the schedule itself."""
    horizon = spec.horizon
    before = np.concatenate([[0.0], np.cumsum(schedule)[:-1]])
    remaining = np.maximum(1.0 - before, 0.0)
    if spec.target == "notional":
        spent = np.cumsum(schedule[None, :] / prices, axis=1) - schedule[None, :] / prices
        achieved = 1.0 / (spent + remaining[None, :] / prices)
    else:
        spent = np.cumsum(schedule[None, :] * prices, axis=1) - schedule[None, :] * prices
        achieved = spent + remaining[None, :] * prices
    end = np.maximum(np.arange(horizon), spec.min_period - 1)
    if spec.benchmark == "twap":
        bench = (np.cumsum(prices, axis=1) / np.arange(1, horizon + 1))[:, end]
    else:
        bench = (np.cumsum(prices * volumes, axis=1) / np.cumsum(volumes, axis=1))[:, end]
    sign = 1.0 if spec.side == "buy" else -1.0
    return -sign * (achieved / bench - 1.0) * 1e4


def path_states(prices: np.ndarray, volumes: np.ndarray, schedule: np.ndarray, spec: ContractSpec,
                sigma: float) -> np.ndarray:
    """The basis before each bar (n, T, BASIS) on paths that follow ``schedule`` (the same state as
    ``running_benchmark`` and ``average_fill`` give a strategy, from cumulative sums)."""
    n, horizon = prices.shape
    count = np.arange(1, horizon)
    if spec.benchmark == "twap":
        bench = np.cumsum(prices, axis=1)[:, :-1] / count
    else:
        volume = np.cumsum(volumes, axis=1)[:, :-1]
        with np.errstate(invalid="ignore", divide="ignore"):
            bench = np.where(volume > 0, np.cumsum(prices * volumes, axis=1)[:, :-1] / volume,
                             np.cumsum(prices, axis=1)[:, :-1] / count)
    done = np.cumsum(schedule)[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        if spec.target == "notional":
            paid = done / np.cumsum(schedule / prices, axis=1)[:, :-1]
        else:
            paid = np.cumsum(schedule * prices, axis=1)[:, :-1] / done
    out = np.zeros((n, horizon, BASIS))
    out[:, 0, 0] = 1.0
    out[:, 1:] = state_basis(prices[:, :-1], bench, paid, sigma)
    return out


@dataclass(frozen=True, repr=False)
class StoppingRule:
    """The policy of one scenario: ``front`` and the exercise regression ``coef`` (T, BASIS) (rows of
    zeros never exercise); ``value`` ± ``se`` is its expected perf_bps per bps of volatility level on
    independent paths of the model (multiply by σ in bps for the option's value)."""

    spec: ContractSpec
    front: float
    coef: np.ndarray
    value: float
    se: float

    def __repr__(self) -> str:
        return (f"StoppingRule({self.spec.label}, front={self.front:g}, value {self.value:+.3f} ± {self.se:.3f} "
                "bps per bps of volatility)")

    def first_exercise(self, states: np.ndarray) -> np.ndarray:
        """Bar (0-based) at which each path exercises, (n,) from states (n, T, BASIS); T−1 if never."""
        return first_exercise(states, self.coef, self.spec.min_period)


def first_exercise(states: np.ndarray, coef: np.ndarray, min_period: int) -> np.ndarray:
    """Bar (0-based) at which each path exercises under regressions ``coef`` (T, BASIS), never before
    bar m, (n,) from states (n, T, BASIS); T−1 if never."""
    horizon = coef.shape[0]
    exercise = np.einsum("ntb,tb->nt", states, coef) > 0
    exercise[:, :max(min_period - 1, 0)] = False
    exercise[:, horizon - 1] = True
    return np.argmax(exercise, axis=1)


def _fit_coef(payoffs: np.ndarray, states: np.ndarray, spec: ContractSpec) -> np.ndarray:
    """Longstaff–Schwartz backward induction: exercise regressions (T, BASIS)."""
    n, horizon = payoffs.shape
    coef = np.zeros((horizon, BASIS))
    stop_at = np.full(n, horizon - 1)
    rows = np.arange(n)
    for step in range(horizon - 2, max(spec.min_period - 1, 0) - 1, -1):
        gain = payoffs[:, step] - payoffs[rows, stop_at]
        if step == 0:  # nothing known yet: exercise if it pays on average
            coef[0, 0] = gain.mean()
        else:
            x = states[:, step]
            gram = x.T @ x + 1e-6 * n * np.eye(BASIS)
            coef[step] = np.linalg.solve(gram, x.T @ gain)
        exercise = states[:, step] @ coef[step] > 0
        stop_at = np.where(exercise, step, stop_at)
    return coef


class _PathCache:
    """Payoffs and states of the simulated path sets per schedule, benchmark and target, shared by
    the scenarios that need them (a sell's payoffs are a buy's negated; the minimum period only
    changes columns before m, which no rule reads)."""

    def __init__(self, path_sets: list[tuple[np.ndarray, np.ndarray]], sigma: float):
        self.path_sets, self.sigma, self.memo = path_sets, sigma, {}

    def get(self, which: int, schedule: np.ndarray, spec: ContractSpec) -> tuple[np.ndarray, np.ndarray]:
        key = (which, schedule.tobytes(), spec.benchmark, spec.target)
        if key not in self.memo:
            prices, volumes = self.path_sets[which]
            buy = ContractSpec(side="buy", target=spec.target, benchmark=spec.benchmark, horizon=spec.horizon,
                               min_period=1)
            self.memo[key] = (exercise_payoffs(prices, volumes, schedule, buy) / (self.sigma * 1e4),
                              path_states(prices, volumes, schedule, spec, self.sigma))
        payoffs, states = self.memo[key]
        return (payoffs if spec.side == "buy" else -payoffs), states


def solve_rule(spec: ContractSpec, paths: _PathCache) -> StoppingRule:
    """The optimal rule of ``spec`` on three path sets (fit, choice of ``front``, value)."""
    horizon = spec.horizon
    if spec.match:  # nothing to choose: track the full window evenly
        return StoppingRule(spec, 0.0, np.zeros((horizon, BASIS)), 0.0, 0.0)

    def outcome(coef: np.ndarray, schedule: np.ndarray, which: int) -> np.ndarray:
        payoffs, states = paths.get(which, schedule, spec)
        stop = first_exercise(states, coef, spec.min_period)
        return payoffs[np.arange(len(stop)), stop]

    candidates = []
    for front in FRONTS:
        schedule = pre_stop_schedule(spec, front)
        coef = _fit_coef(*paths.get(0, schedule, spec), spec)
        score = outcome(coef, schedule, 1)
        candidates.append((score.mean(), score.std(ddof=1) / np.sqrt(score.size), front, coef, schedule))
    best = max(candidate[0] for candidate in candidates)
    # the least front-loaded candidate within one standard error of the best (the values barely differ,
    # and less front-loading is the steadier policy)
    _, _, front, coef, schedule = next(c for c in candidates if c[0] >= best - c[1])
    result = outcome(coef, schedule, 2)
    return StoppingRule(spec, front, coef, float(result.mean()), float(result.std(ddof=1) / np.sqrt(result.size)))


def solve_rules(model: MartingaleModel, grid: ScenarioGrid, *, seed: int = 0, paths: int = PATHS
                ) -> dict[str, StoppingRule]:
    """The rule of every scenario of ``grid`` (by label), on three sets of ``paths`` paths simulated
    from ``model`` with ``seed`` (common to all scenarios).

    The rules are a pure function of the model's state, the grid, ``seed`` and ``paths``, so the last
    ``SOLVED_KEEP`` solutions are kept in memory, and every solution in the user cache
    (``execbench.cache``; its key includes the package's source, the libraries' versions and the
    machine, ``code_fingerprint``): the option replay of every evaluation
    (``optstop`` fitted on the same training bars) solves them once per machine."""
    key = cache_key(model.state(), grid.labels, grid.horizon, seed, paths)
    if key in _SOLVED:
        _SOLVED.move_to_end(key)
        return dict(_SOLVED[key])
    solved = _read_solved(key, grid)
    if solved is None:
        rng = np.random.default_rng(seed)
        cache = _PathCache([model.simulate(paths, grid.horizon, rng, SIGMA_REF) for _ in range(3)], SIGMA_REF)
        solved = {spec.label: solve_rule(spec, cache) for spec in grid.specs}
        _write_solved(key, solved)
    _SOLVED[key] = solved
    while len(_SOLVED) > SOLVED_KEEP:
        _SOLVED.popitem(last=False)
    return dict(_SOLVED[key])


def _read_solved(key: str, grid: ScenarioGrid) -> dict[str, StoppingRule] | None:
    """The rules solved earlier for ``key`` (``solve_rules``), from the user cache; ``None`` if absent
    or unreadable."""
    saved = read_arrays("stopping", key)
    try:
        if saved is None or list(saved["labels"]) != list(grid.labels):
            return None
        return {spec.label: StoppingRule(spec, float(saved["front"][k]), saved["coef"][k].copy(),
                                         float(saved["value"][k]), float(saved["se"][k]))
                for k, spec in enumerate(grid.specs)}
    except Exception:  # noqa: BLE001 - a damaged entry (missing field, another shape or type): solve again
        return None


def _write_solved(key: str, solved: dict[str, StoppingRule]) -> None:
    """Keep ``solved`` in the user cache (atomically; a cache that cannot be written is skipped)."""
    rules = list(solved.values())
    arrays = {"labels": np.array(list(solved)), "front": np.array([r.front for r in rules]),
              "coef": np.stack([r.coef for r in rules]), "value": np.array([r.value for r in rules]),
              "se": np.array([r.se for r in rules])}
    write_arrays("stopping", key, arrays, keep_bytes=SOLVED_DISK_BYTES)


SOLVED_KEEP = 8
SOLVED_DISK_BYTES = 64 * 2**20  # the user cache's solved rules (a few kB each), least recently used out first
_SOLVED: OrderedDict[str, dict[str, StoppingRule]] = OrderedDict()
