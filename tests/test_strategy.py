"""Strategy interface, TWAP and the registry."""

from __future__ import annotations

import numpy as np
import pytest

from execbench.contracts import scenario_grid
from execbench.errors import AllocationError, ParameterError, StrategyError
from execbench.pipeline.evaluation import replay_strategy
from execbench.params import parse_params
from execbench.strategy.registry import available_strategies, load_strategy
from execbench.strategy import Strategy, run_strategy
from execbench.orders import independent_batches
from execbench.orders.windows import build_order_windows


@pytest.fixture
def windows(bars):
    bars.attrs = {"asset": "TEST", "freq": "15m", "calendar": "continuous"}
    return build_order_windows(bars, 6)


def test_twap_is_registered_and_schedules_one_over_t(windows):
    assert "twap" in available_strategies()
    twap = load_strategy("twap")
    grid = scenario_grid(6)
    alloc = run_strategy(twap, windows, grid)
    assert alloc.shape == (len(windows), 6, len(grid))
    np.testing.assert_array_equal(alloc, 1 / 6)
    result = replay_strategy(twap, windows, grid, chunk_size=100)
    assert result.n_orders == len(windows)
    # TWAP (quantity) against the TWAP benchmark is zero; its window is always the full horizon
    assert np.abs(result.column("bps", "sell-twap-quantity-m2")).max() < 1e-9
    assert (result.end_bar == 6).all() and (result.violations == 0).all()


class PeekingAdaptive(Strategy):
    """Adaptive test strategy: records what it was shown, trades the remainder evenly."""

    name = "peek"
    mode = "adaptive"

    seen: list = []

    def start(self, ctx, grid):
        return ctx.horizon

    def step(self, horizon, obs):
        self.seen.append((obs.step, obs.prices.shape, obs.volumes.shape, obs.allocated.shape))
        return (1.0 - obs.allocated.sum(axis=1)) / (horizon - obs.step)


def test_adaptive_strategies_see_only_the_past(windows):
    strategy = PeekingAdaptive()
    strategy.seen = []
    grid = scenario_grid(6, sides=("buy",))
    alloc = run_strategy(strategy, windows, grid)
    batches = independent_batches(windows, strategy.lookback)
    # one call per bar for all the orders of an independent batch, batch after batch
    assert [s for s, *_ in strategy.seen] == list(range(6)) * len(batches)
    sizes = np.repeat([len(b) for b in batches], 6)
    for (step, prices_shape, volumes_shape, alloc_shape), n in zip(strategy.seen, sizes, strict=True):
        assert prices_shape == volumes_shape == (n, step) and alloc_shape == (n, step, len(grid))
    np.testing.assert_allclose(alloc, 1 / 6)


def test_a_run_of_the_first_bars_calls_the_strategy_for_those_bars_only(windows):
    """The audit's perturbed runs decide bars 0 … k − 1 only: the same allocations there, 0 after, and no
    call for a later bar; a sequence model's partial run is not held to sum to 1."""
    grid = scenario_grid(6, sides=("buy",))
    strategy = PeekingAdaptive()
    strategy.seen = []
    whole = run_strategy(strategy, windows, grid)
    for k in (1, 3, 6):
        strategy.seen = []
        part = run_strategy(strategy, windows, grid, bars=k)
        assert max(step for step, *_ in strategy.seen) == k - 1
        np.testing.assert_array_equal(part[:, :k], whole[:, :k])
        assert not part[:, k:].any()

    class Sequence(Strategy):
        name, mode = "seq", "sequence"

        def allocate_sequence(self, ctx, grid, window):
            return np.full((ctx.n_orders, ctx.horizon, len(grid)), 1.0 / ctx.horizon)

    np.testing.assert_array_equal(run_strategy(Sequence(), windows, grid, bars=2)[:, :2], 1 / 6)
    with pytest.raises(ValueError, match="bars must lie in 1..6"):
        run_strategy(strategy, windows, grid, bars=0)


class Broken(Strategy):
    name = "broken"

    def schedule(self, ctx, grid):
        out = np.full((ctx.n_orders, ctx.horizon, len(grid)), 1.0 / ctx.horizon)
        out[-1, 0, :] += 0.2
        return out


class WrongShape(Strategy):
    name = "wrongshape"

    def schedule(self, ctx, grid):
        return np.ones((ctx.n_orders, ctx.horizon))


class SellOnly(Strategy):
    name = "sellonly"

    def unsupported(self, spec):
        return "buys are not implemented" if spec.side == "buy" else None


def test_strategy_errors_are_clear(windows):
    grid = scenario_grid(6)
    with pytest.raises(AllocationError, match=r"strategy 'broken' emitted allocations that do not sum to 1 for order \d+ \(asset="):
        replay_strategy(Broken(), windows, grid)
    with pytest.raises(AllocationError, match=r"'wrongshape': schedule returned shape"):
        replay_strategy(WrongShape(), windows, grid)
    with pytest.raises(StrategyError, match="does not support scenario buy-vwap-quantity-m1: buys are not implemented"):
        replay_strategy(SellOnly(), windows, grid)


def test_registry_by_file_and_unknown_names(tmp_path):
    source = tmp_path / "mine.py"
    source.write_text(
        "import numpy as np\nfrom execbench import Strategy\n\n"
        "class FrontLoad(Strategy):\n    name = 'front'\n    def __init__(self, share=0.5):\n        self.share = share\n"
        "    def schedule(self, ctx, grid):\n"
        "        a = np.full((ctx.n_orders, ctx.horizon, len(grid)), (1 - self.share) / (ctx.horizon - 1))\n"
        "        a[:, 0, :] = self.share\n        return a\n"
    )
    strategy = load_strategy(f"{source}:FrontLoad", **parse_params(["share=0.4"]))
    assert strategy.share == 0.4
    assert load_strategy(str(source)).share == 0.5
    with pytest.raises(StrategyError, match="'nope': unknown; registered strategies: .*twap"):
        load_strategy("nope")
    with pytest.raises(ParameterError, match="strategy 'twap': unknown parameter 'speed'; valid: none"):
        load_strategy("twap", speed=3)
    with pytest.raises(ParameterError, match="unknown parameter 'shares'; valid: share"):
        load_strategy(str(source), shares=0.4)
    with pytest.raises(StrategyError, match="no Strategy subclass named 'Other'"):
        load_strategy(f"{source}:Other")
    with pytest.raises(ParameterError, match="expected name=value"):
        parse_params(["oops"])
    assert parse_params(["a=1", "b=x", "c=0.5"]) == {"a": 1, "b": "x", "c": 0.5}
