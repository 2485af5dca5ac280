"""The look-ahead audit: built-ins pass, leaky strategies fail at the right step."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import execbench as eb
from execbench.orders.batches import information_lookback
from execbench.pipeline.audit import audit_strategy, perturbed_call
from execbench.cli import main
from execbench.strategy.registry import available_strategies, load_strategy
from execbench.errors import StrategyError
from execbench.strategy import Strategy, order_context, run_strategy

import cheats


@pytest.fixture(scope="module")
def btc():
    bars = eb.load_bars("BTCUSDT")
    return bars, eb.make_split(bars, test_start="2026-04-01", val_start="2026-01-01")


# the LEM is audited with its bundled checkpoint (its tests audit a freshly trained tiny one too).
# upstream's model reads bar s for decision s: the framework masks that bar, and the per-bar decisions it
# then takes no longer add up, so it is refused before any audit (tests/test_lem_upstream.py)
REFUSED = {"lem-upstream"}


@pytest.mark.parametrize("name", sorted(set(available_strategies()) - REFUSED))
def test_every_registered_strategy_passes(name, btc):
    bars, split = btc
    report = audit_strategy(load_strategy(name), bars, horizon=12, split=split, n_orders=8)
    assert len(report.checks) == 12 * 2
    assert report.passed, report.summary()


class LateLeak(Strategy):
    """Causal up to bar 5, whose allocation reads bar 5's own price (the upstream formatter's trap)."""

    name = "late_leak"
    mode = "sequence"

    def allocate_sequence(self, ctx, grid, window):
        n, horizon = window.prices.shape
        alloc = np.full((n, horizon), 1.0 / horizon)
        tilt = 0.01 * np.tanh(window.prices[:, 5] / window.prices[:, 4] - 1.0)
        alloc[:, 5] += tilt
        alloc[:, 6] -= tilt
        return np.repeat(alloc[:, :, None], len(grid), axis=2)


class CausalSequence(Strategy):
    """Uses bar j only for bars after j: tilts bar s by the return of bar s−1."""

    name = "causal_sequence"
    mode = "sequence"

    def allocate_sequence(self, ctx, grid, window):
        n, horizon = window.prices.shape
        alloc = np.full((n, horizon), 1.0 / horizon)
        for s in range(2, horizon - 1):
            tilt = 0.01 * np.tanh(window.prices[:, s - 1] / window.prices[:, s - 2] - 1.0)
            alloc[:, s] += tilt
            alloc[:, s + 1] -= tilt
        return np.repeat(alloc[:, :, None], len(grid), axis=2)


def test_own_bar_volume_leak_is_caught_at_step_0(btc):
    bars, split = btc
    report = audit_strategy(cheats.StackPeeker(), bars, horizon=12, split=split, n_orders=4)
    assert not report.passed
    leak = report.first_leak
    assert (leak.step, leak.input, leak.first_bar) == (0, "volumes", 0)
    assert "FAILED at step 0: perturbing volumes" in report.summary()
    prices_checks = [c for c in report.checks if c.input == "prices"]
    assert all(c.passed for c in prices_checks)  # it never looks at prices


def test_a_sequence_model_never_receives_the_bar_it_decides(btc):
    """The framework masks bars >= s for decision s: a model reading bar s's own price gets no signal,
    and its per-bar decisions, which then no longer add up, are refused in one line (audit and run)."""
    bars, split = btc
    with pytest.raises(StrategyError, match="late_leak.*do not sum to 1"):
        audit_strategy(LateLeak(), bars, horizon=12, split=split, n_orders=4)
    windows = eb.build_order_windows(bars, 12, start=split.test_start)
    with pytest.raises(StrategyError, match="late_leak.*do not sum to 1.*later bars"):
        run_strategy(LateLeak(), windows.subset(slice(0, 50)), eb.scenario_grid(12))
    assert audit_strategy(CausalSequence(), bars, horizon=12, split=split, n_orders=4).passed
    alloc = run_strategy(CausalSequence(), windows.subset(slice(0, 50)), eb.scenario_grid(12))
    np.testing.assert_allclose(alloc.sum(axis=1), 1.0)


def test_context_holds_nothing_later_than_the_origin(btc):
    bars, split = btc
    windows = eb.build_order_windows(bars, 12, start=split.test_start, min_history=672)
    batch = windows.subset(slice(0, 40))
    ctx = order_context(batch, 672)
    origins = batch.origin_times()
    assert (ctx.history_times(672) < origins[:, None]).all()
    reachable = {k: getattr(ctx, k) for k in vars(ctx)}
    for name, value in reachable.items():
        if isinstance(value, np.ndarray):
            assert value.base is None and not value.flags.writeable, name
    assert not any(isinstance(v, eb.OrderWindows) for v in reachable.values())
    with pytest.raises(AttributeError):
        ctx.windows  # noqa: B018
    with pytest.raises(StrategyError, match="holds 672 bars of history, 700 were asked for"):
        ctx.history("volumes", 700)
    with pytest.raises(StrategyError, match="context_peeker.*schedule raised AttributeError"):
        run_strategy(cheats.ContextPeeker(), batch, eb.scenario_grid(12))


def test_one_call_never_holds_another_orders_window(btc):
    bars, split = btc
    windows = eb.build_order_windows(bars, 12, start=split.test_start, min_history=400)
    peeker = cheats.CrossOrderPeeker()
    alloc = run_strategy(peeker, windows.subset(slice(0, 600)), eb.scenario_grid(12))
    np.testing.assert_array_equal(alloc, 1.0 / 12)  # it found nothing to read
    batches = eb.independent_batches(windows, 400)
    assert sorted(np.concatenate(batches)) == list(range(len(windows)))
    for rows in batches[:5]:
        times = windows.subset(rows).origin_times()
        assert (np.diff(times) >= np.timedelta64(15 * (400 + 12), "m")).all()
    # the same cheat with every order in one call (what the batches prevent) does find the windows
    peeker.schedule(order_context(windows.subset(slice(0, 40)), 400), eb.scenario_grid(12))
    assert peeker.found > 0


def test_a_perturbed_call_keeps_every_orders_history_so_its_sizes_carry_over(btc):
    """The audit's perturbed markets take the call's order sizes along (``OrderWindows.on_series``): they
    must be what the perturbed bars themselves give, i.e. no perturbation reaches a bar before an origin."""
    bars, split = btc
    windows = eb.build_order_windows(bars, 12, start=split.test_start, min_history=400)
    rng = np.random.default_rng(0)
    for rows in eb.independent_batches(windows, 400)[:3] + [np.arange(3)]:  # whole calls, and one that is not
        call = windows.subset(rows)
        for step in (0, 5, 11):
            for name in ("prices", "volumes"):
                perturbed = perturbed_call(call, 400, step, name, rng)
                assert any(not np.array_equal(getattr(a, name), getattr(b, name))
                           for a, b in zip(call.series, perturbed.series, strict=True))
                fresh = replace(perturbed, series=perturbed.series)  # nothing taken along: derived again
                for kept, derived in zip(perturbed.sizes(), fresh.sizes(), strict=True):
                    np.testing.assert_array_equal(kept, derived)
                np.testing.assert_array_equal(perturbed.history(name, 400), call.history(name, 400))


@pytest.mark.parametrize("cheat", cheats.CAUGHT_BY_AUDIT, ids=lambda c: c.name)
def test_cheats_are_caught_whatever_the_seed(cheat, btc):
    bars, _ = btc
    split = eb.make_split(bars, test_start="2025-10-01", val_start="2025-07-01")
    for seed in range(4):
        report = audit_strategy(cheat(), bars, horizon=12, split=split, seed=seed)
        assert not report.passed, (cheat.name, seed, report.summary())
        assert report.n_orders >= 500 and report.miss_probability(0.01) < 0.01


def test_the_audit_states_its_power_and_refuses_vacuous_audits(btc):
    bars, split = btc
    report = audit_strategy(load_strategy("twap"), bars, horizon=12, split=split)
    assert report.n_orders >= 500 and report.miss_probability(0.01) == pytest.approx(0.99 ** report.n_orders)
    assert "probability of catching: 99." in report.summary()
    record = report.to_dict()
    assert record["orders"] == report.n_orders and record["calls"] == report.n_calls
    for bad in (0, -3, 2.5, True):
        with pytest.raises(eb.DataError, match="n_orders"):
            audit_strategy(load_strategy("twap"), bars, horizon=12, split=split, n_orders=bad)


def test_audit_cli_exit_status(tmp_path, capsys):
    leaky = tmp_path / "leaky.py"
    leaky.write_text(
        "import numpy as np\nfrom execbench import Strategy\n\n"
        "class Leaky(Strategy):\n    name = 'leaky'\n"
        "    def schedule(self, ctx, grid):\n        import inspect\n        f = inspect.currentframe()\n"
        "        while 'windows' not in f.f_locals:\n            f = f.f_back\n"
        "        v = f.f_locals['windows'].window('volumes')\n"
        "        return np.repeat((v / v.sum(axis=1, keepdims=True))[:, :, None], len(grid), axis=2)\n"
    )
    args = ["audit", "--asset", "BTCUSDT", "--test-start", "2026-04-01", "--orders", "4"]
    assert main([*args, "--strategy", str(leaky)]) == 1
    out = capsys.readouterr().out
    assert "FAILED at step 0" in out and "FAIL" in out
    assert main([*args, "--strategy", "dvwap"]) == 0
    assert "passed" in capsys.readouterr().out


@pytest.mark.slow  # make test-slow (CI runs it after make test)
def test_a_strategy_reading_the_data_itself_is_flagged_as_impossible(btc):
    """Outside what a perturbation audit can see (it re-reads the files), so the audit passes; the
    impossible-result check flags the run, and an honest strategy is not flagged."""
    bars, _ = btc
    split = eb.make_split(bars, test_start="2026-04-20", val_start="2026-01-01")
    ev = eb.evaluate(cheats.DiskReader(), bars, split=split, audit_orders=8, option=False)
    assert ev.audit.passed
    assert any("buy-vwap-quantity-match" in w and "below 0.1 x TWAP" in w for w in ev.warnings), ev.warnings
    assert "WARNING: impossible result?" in ev.summary()
    for honest in ("dvwap", "twap", "flex"):  # TWAP "beats" a fixed-notional TWAP benchmark on every order
        assert eb.evaluate(honest, bars, split=split, audit=False, option=False).warnings == (), honest


def test_near_certain_hit_rates_are_flagged_unless_twap_shares_them(btc):
    """Trading at each window's cheapest (buy) or dearest (sell) bar beats the benchmark almost always:
    flagged.  TWAP's own 100 % against a fixed-notional TWAP benchmark (a harmonic mean never exceeds
    the arithmetic one) is the contract, not the future: not flagged."""
    from execbench.analysis.sanity import impossible_results

    bars, _ = btc
    windows = eb.build_order_windows(bars, 12, start="2026-04-01", min_history=1)
    grid = eb.scenario_grid(12)
    prices, volumes = windows.window("prices"), windows.window("volumes")
    n, min_rate = len(windows), grid.arrays()["min_rate"]
    twap = eb.replay(prices, volumes, np.full((n, 12, len(grid)), 1 / 12), grid)
    alloc = np.zeros((n, 12, len(grid)))
    for j, spec in enumerate(grid.specs):
        best = (np.argmin if spec.side == "buy" else np.argmax)(prices, axis=1)
        for i, k in enumerate(best):
            alloc[i, :k, j] = min_rate[j]
            alloc[i, k, j] = 1.0 - k * min_rate[j]
    oracle = eb.replay(prices, volumes, alloc, grid)
    flagged = impossible_results(oracle, twap)
    assert any(w.startswith("impossible result? buy-vwap-quantity-m2: beats its benchmark") for w in flagged), flagged
    assert impossible_results(twap, twap) == ()


def test_a_call_cut_around_its_orders_shows_a_strategy_what_the_whole_series_shows(btc):
    """``around_orders`` (the audit's calls): every context and window is the one on the whole series."""
    bars, split = btc
    windows = eb.build_order_windows(bars, 12, start=split.test_start, min_history=400)
    reach = information_lookback(400)
    for rows in eb.independent_batches(windows, 400)[:2] + [np.arange(5), np.array([len(windows) - 1])]:
        whole, cut = windows.subset(rows), windows.subset(rows).around_orders(reach)
        assert len(cut.series[0].times) < len(whole.series[0].times)
        for lookback in (1, 24, 400, reach):
            a, b = order_context(whole, lookback), order_context(cut, lookback)
            for field in ("history_prices", "history_volumes", "history_open_times", "execution_times", "quantity",
                          "notional"):
                np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
        for name in ("prices", "volumes"):
            np.testing.assert_array_equal(whole.window(name), cut.window(name))
        np.testing.assert_array_equal(eb.independent_batches(whole, 400)[0], eb.independent_batches(cut, 400)[0])


class ThreadedBarPeeker(Strategy):
    """An adaptive strategy whose calls run on threads (``concurrent_calls``, as the LEM's) and whose
    allocation for bar 4 reads bar 4's own price from the framework's windows on its call stack."""

    name = "threaded_bar_peeker"
    mode = "adaptive"
    concurrent_calls = True

    def start(self, ctx, grid):
        return {"n": ctx.n_orders, "scenarios": len(grid), "horizon": ctx.horizon}

    def step(self, state, obs):
        share = np.full((state["n"], state["scenarios"]), 1.0 / state["horizon"])
        if obs.step == 4:
            prices = cheats.caller_windows().window("prices")
            share *= 1.0 + 0.01 * np.tanh(prices[:, 4] / prices[:, 3] - 1.0)[:, None]
        return share


def test_the_audit_on_threads_checks_what_it_checks_one_call_after_another(btc, monkeypatch):
    """The audit maps all its perturbed calls over threads in one stream: the same markets and checks as
    one call after another, and a leak at bar 4 found at step 4."""
    import execbench.pipeline.audit as audit_module
    from execbench.orders import strategy_calls

    bars, split = btc
    strategy = ThreadedBarPeeker()
    windows = eb.build_order_windows(bars, 12, start=split.test_start, end=split.test_end, min_history=1)
    calls = strategy_calls(windows, strategy.lookback)[:3]
    grid = eb.scenario_grid(12, sides=("buy",), benchmarks=("vwap",))
    threaded = audit_module.audit_windows(strategy, windows, grid, calls, seed=3)
    monkeypatch.setattr(audit_module, "calls_map", lambda strategy, ahead=None: map)
    serial = audit_module.audit_windows(strategy, windows, grid, calls, seed=3)
    assert threaded == serial
    failed = [check for check in threaded if not check.passed]
    assert failed and min(check.step for check in failed) == 4
