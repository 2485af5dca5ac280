"""Third-party strategies are discovered exactly like the built-ins, and run end to end."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap

import pandas as pd

from execbench.cli import main
from execbench.strategy.registry import available_strategies, load_strategy

PLUGIN = textwrap.dedent('''
    import numpy as np
    from execbench import Strategy

    class BackLoaded(Strategy):
        """Trades twice as much in the second half of the window."""

        name = "backloaded"
        description = "Throw-away test plug-in: twice the pace in the second half."
        mode = "static"

        def __init__(self, tilt: float = 2.0):
            self.tilt = float(tilt)

        def schedule(self, ctx, grid):
            weights = np.where(np.arange(ctx.horizon) < ctx.horizon // 2, 1.0, self.tilt)
            alloc = weights / weights.sum()
            return np.broadcast_to(alloc[None, :, None], (ctx.n_orders, ctx.horizon, len(grid))).copy()
''')


def install_throwaway_plugin(root):
    """A minimal installed distribution: a module plus dist-info with an entry point."""
    (root / "throwaway_plugin.py").write_text(PLUGIN)
    info = root / "throwaway_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: throwaway-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[execbench.strategies]\nbackloaded = throwaway_plugin:BackLoaded\n")


def test_entry_point_plugin_runs_end_to_end(tmp_path, monkeypatch, capsys):
    install_throwaway_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    try:
        assert "backloaded" in available_strategies()
        assert load_strategy("backloaded", tilt=3.0).tilt == 3.0
        assert main(["strategies"]) == 0
        assert "backloaded" in capsys.readouterr().out
        out = tmp_path / "run"
        code = main(["run", "--strategy", "backloaded", "--param", "tilt=3", "--asset", "ETHUSDT",
                     "--test-start", "2026-04-25", "--out", str(out)])
        assert code == 0
        record = json.loads((out / "run.json").read_text())
        assert record["strategy"] == "backloaded" and record["strategy_params"] == {"tilt": 3.0}
        assert record["audit"]["passed"] is True
        paper = pd.read_csv(out / "paper_table.csv")
        assert paper["Order"].str.startswith("BACKLOADED").sum() == 26
    finally:
        sys.modules.pop("throwaway_plugin", None)
