"""The look-ahead audit: built-ins pass, leaky strategies fail at the right step."""

from __future__ import annotations

import numpy as np
import pytest

import execbench as eb
from execbench.pipeline.audit import audit_strategy
from execbench.cli import main
from execbench.strategy.registry import available_strategies, load_strategy
from execbench.strategy import Strategy


@pytest.fixture(scope="module")
def btc():
    bars = eb.load_bars("BTCUSDT")
    return bars, eb.make_split(bars, test_start="2026-04-01", val_start="2026-01-01")


# the LEM is audited with its bundled checkpoint (its tests audit a freshly trained tiny one too)
AUDIT_PARAMS: dict[str, dict] = {"lem-upstream": {"lookback": 8, "hidden": 8, "mlp_hidden": 8}}
# registered for comparison only, with upstream's one-bar look-ahead: the audit must catch it
KNOWN_LEAKY = {"lem-upstream"}


@pytest.mark.parametrize("name", sorted(available_strategies()))
def test_every_registered_strategy_passes(name, btc):
    bars, split = btc
    if name == "lem-upstream":
        pytest.importorskip("lems", reason="the optional upstream extra is not installed")
    strategy = load_strategy(name, **AUDIT_PARAMS.get(name, {}))
    report = audit_strategy(strategy, bars, horizon=12, split=split, n_orders=8)
    assert len(report.checks) == 12 * 2
    if name in KNOWN_LEAKY:
        assert not report.passed and report.first_leak.step == 0, report.summary()
    else:
        assert report.passed, report.summary()


class OwnBarVolume(Strategy):
    """Leaky: sizes bar t by bar t's own volume (read from the order windows)."""

    name = "own_bar_volume"

    def schedule(self, ctx, grid):
        volumes = ctx.windows.window("volumes")
        alloc = volumes / volumes.sum(axis=1, keepdims=True)
        return np.repeat(alloc[:, :, None], len(grid), axis=2)


class LateLeak(Strategy):
    """Causal up to bar 5, whose allocation peeks at bar 5's own price (the upstream formatter's trap)."""

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
    report = audit_strategy(OwnBarVolume(), bars, horizon=12, split=split, n_orders=4)
    assert not report.passed
    leak = report.first_leak
    assert (leak.step, leak.input, leak.first_bar) == (0, "volumes", 0)
    assert "FAILED at step 0: perturbing volumes" in report.summary()
    prices_checks = [c for c in report.checks if c.input == "prices"]
    assert all(c.passed for c in prices_checks)  # it never looks at prices


def test_late_leak_is_named_with_its_step(btc):
    bars, split = btc
    report = audit_strategy(LateLeak(), bars, horizon=12, split=split, n_orders=4)
    leak = report.first_leak
    assert (leak.step, leak.input, leak.first_bar) == (5, "prices", 5)
    assert all(c.passed for c in report.checks if c.step < 5)
    assert "FAILED at step 5" in report.summary()
    assert audit_strategy(CausalSequence(), bars, horizon=12, split=split, n_orders=4).passed


def test_audit_cli_exit_status(tmp_path, capsys):
    leaky = tmp_path / "leaky.py"
    leaky.write_text(
        "import numpy as np\nfrom execbench import Strategy\n\n"
        "class Leaky(Strategy):\n    name = 'leaky'\n"
        "    def schedule(self, ctx, grid):\n        v = ctx.windows.window('volumes')\n"
        "        return np.repeat((v / v.sum(axis=1, keepdims=True))[:, :, None], len(grid), axis=2)\n"
    )
    args = ["audit", "--asset", "BTCUSDT", "--test-start", "2026-04-01", "--orders", "4"]
    assert main([*args, "--strategy", str(leaky)]) == 1
    out = capsys.readouterr().out
    assert "FAILED at step 0" in out and "FAIL" in out
    assert main([*args, "--strategy", "dvwap"]) == 0
    assert "passed" in capsys.readouterr().out
