"""The console script loads execbench's cached kernels without Numba's registry refresh
(``execbench.numba_loading``): same results, the lowering library left unimported, other functions and
other Numba versions untouched."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numba
import pytest

from execbench import numba_loading
from execbench.engine.replay.kernel import replay_rows

ROOT = Path(__file__).resolve().parents[1]

# replays a small book twice with the kernel: once to compile it into NUMBA_CACHE_DIR (a fresh process
# that compiles), once loading it from there with the change made; prints what the second one saw
REPLAY = """
import sys
import numpy as np
if sys.argv[1] == "direct":
    from execbench.numba_loading import load_own_kernels_directly
    assert load_own_kernels_directly()
from execbench.contracts import scenario_grid
from execbench.engine import replay
from execbench.engine.replay.kernel import replay_rows
rng = np.random.default_rng(3)
grid = scenario_grid(4)
prices = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, (50, 4)), axis=1))
volumes = rng.gamma(2.0, 1.0, (50, 4))
alloc = rng.random((50, 4, len(grid)))
alloc /= alloc.sum(axis=1, keepdims=True)
fast = replay(prices, volumes, alloc, grid)
slow = replay(prices, volumes, alloc, grid, backend="numpy")
assert np.allclose(fast.bps, slow.bps, rtol=1e-10, atol=1e-9), "kernel and twin disagree"
print(sum(replay_rows.stats.cache_hits.values()), "numba.np.arraymath" in sys.modules)
"""


# drives each built-in policy kernel on a day of orders; prints whether Numba's array-math library was imported
POLICIES = """
import sys
import pandas as pd
import execbench as eb
from execbench.numba_loading import load_own_kernels_directly
from execbench.strategy import fit_strategy, run_strategy
from execbench.strategy.registry import load_strategy
assert load_own_kernels_directly()
bars = eb.load_bars("BTCUSDT")
train = eb.training_bars(bars, "2026-01-01")
start = pd.Timestamp("2026-01-05", tz="UTC")
for name in ("dvwap", "pov", "flex", "optstop"):
    strategy = fit_strategy(load_strategy(name, **({"paths": 256} if name == "optstop" else {})), train)
    windows = eb.build_order_windows(bars, 8, start=start, end=start + pd.Timedelta(hours=6),
                                     min_history=strategy.lookback)
    run_strategy(strategy, windows, eb.scenario_grid(8))
print("numba.np.arraymath" in sys.modules)
"""


def in_a_fresh_process(script: str, mode: str, cache_dir: Path) -> list[str]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    done = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def replay_in_a_fresh_process(mode: str, cache_dir: Path) -> tuple[int, bool]:
    hits, refreshed = in_a_fresh_process(REPLAY, mode, cache_dir)
    return int(hits), refreshed == "True"


def test_a_cached_kernel_loads_without_the_refresh_and_replays_the_same(tmp_path):
    replay_in_a_fresh_process("numba", tmp_path)  # compiles and writes the cache
    assert replay_in_a_fresh_process("numba", tmp_path) == (1, True)  # Numba's way: loaded, after the refresh
    assert replay_in_a_fresh_process("direct", tmp_path) == (1, False)  # loaded, lowering library not imported


def test_the_policy_kernels_load_without_numbas_array_math_library(tmp_path):
    """A kernel that calls one of Numba's array-math overloads (``np.finfo``, say) imports that library,
    and SciPy's linalg with it, when its cached code is loaded: 0.25 s of a command."""
    in_a_fresh_process(POLICIES, "compile", tmp_path)
    assert in_a_fresh_process(POLICIES, "load", tmp_path) == ["False"]


def test_only_execbenchs_own_functions_count_as_its_kernels():
    assert numba_loading.is_own(replay_rows.py_func)
    from execbench.strategies.twap import TWAP

    assert numba_loading.is_own(TWAP)
    assert not numba_loading.is_own(test_only_execbenchs_own_functions_count_as_its_kernels)
    assert not numba_loading.is_own(None)


def test_it_acts_only_on_the_numba_version_it_was_checked_against(monkeypatch):
    pinned = re.search(r'"numba==([^"]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    assert numba_loading.CHECKED_NUMBA == pinned
    monkeypatch.setattr(numba, "__version__", "0.0.0")
    assert numba_loading.load_own_kernels_directly() is False


@pytest.mark.parametrize("folder", ["execbench", "strategies"])
def test_own_kernels_are_nopython_without_object_mode(folder):
    """The refresh matters for object-mode code; execbench's kernels have none (all ``njit``)."""
    for path in (ROOT / folder).rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"objmode|forceobj|looplift|@(nb\.|numba\.)?jit\b", text), path


PLUG_IN = """
import numpy as np
from numba import njit
from execbench import Strategy


@njit(cache=True)
def even(n, k):
    return np.full((n, k), 1.0 / n)


class Even(Strategy):
    name = "even"

    def schedule(self, ctx, grid):
        return np.repeat(even(ctx.horizon, len(grid))[None], ctx.n_orders, axis=0)
"""

# loads a strategy file twice in one process (one module per file) and calls its cached kernel
LOAD_PLUG_IN = """
import sys
from execbench.numba_loading import load_own_kernels_directly
from execbench.strategy.registry import load_strategy
load_own_kernels_directly()
first, again = load_strategy(sys.argv[2]), load_strategy(sys.argv[2])
even = type(first).schedule.__globals__["even"]
print(even(4, 2).sum(), sum(even.stats.cache_hits.values()))
"""


def test_a_plug_in_files_cached_kernel_loads_again_in_a_later_process(tmp_path):
    """A strategy file is a module of its own name in ``sys.modules``: Numba's cache of a kernel it defines
    finds that module again in the next process (it failed with ``No module named '<dynamic>'``)."""
    plug_in = tmp_path / "even.py"
    plug_in.write_text(PLUG_IN)
    cache = tmp_path / "numba"
    run = [sys.executable, "-c", LOAD_PLUG_IN, "x", str(plug_in)]
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    outputs = [subprocess.run(run, capture_output=True, text=True, env=env, cwd=tmp_path) for _ in range(2)]
    assert all(done.returncode == 0 for done in outputs), outputs[-1].stderr[-2000:]
    assert [done.stdout.split() for done in outputs] == [["2.0", "0"], ["2.0", "1"]]  # compiled, then loaded
