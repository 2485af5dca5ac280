"""Build and execute ``examples/compare_strategies.ipynb`` (the example of the Python API).

    .venv/bin/python examples/build_notebook.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

CELLS = [
    ("md", "# Comparing execution strategies with the execbench Python API\n\n"
           "DataFrames in, DataFrames and figures out. Everything here runs on the bundled BTCUSDT 15m bars; "
           "the test period is kept to one month so the notebook runs in well under a minute."),
    ("code", "import execbench as eb\n"
             "from execbench.reporting import figures\n\n"
             "bars = eb.load_bars(\"BTCUSDT\", \"15m\")\n"
             "split = eb.make_split(bars, test_start=\"2026-03-01\", test_end=\"2026-04-01\")\n"
             "bars.tail(3)"),
    ("md", "Fit, audit and evaluate four strategies on exactly the same orders (every 15-minute bar of March 2026 "
           "is an order origin; T = 12 bars; all 104 contract scenarios). Every strategy passes the look-ahead "
           "audit first; the result carries each report."),
    ("code", "comparison = eb.compare([\"twap\", \"vwap\", \"dvwap\", \"flex\"], bars, horizon=12, split=split)\n"
             "comparison"),
    ("code", "comparison.table().round(2)"),
    ("code", "print(comparison[\"flex\"].summary())"),
    ("md", "Every (order, scenario) is a row of a tidy DataFrame; `perf_bps` is side-adjusted (positive = better)."),
    ("code", "frame = comparison[\"flex\"].result.to_frame()\n"
             "frame[frame[\"benchmark_type\"] == \"vwap\"].groupby([\"side\", \"min_period\"])[\"perf_bps\"]"
             ".mean().unstack(0).round(2).head(6)"),
    ("md", "Is the flexible-horizon heuristic's edge real? CIs resample blocks of dates (all assets together) "
           "with a block length chosen from the data; the p-value is a HAC test of the same mean difference; "
           "Holm adjusts for the several comparisons."),
    ("code", "runs = {name: ev.run_data() for name, ev in comparison.items()}\n"
             "eb.paired_table(runs, periods=[1, \"match\"], reps=200).round(4)"),
    ("md", "How much of the edge is the option of choosing the window? `optstop` (optimal stopping with no "
           "information about prices) is replayed on the same orders: `Option` is what it earns, `Rest` the part of "
           "each strategy's edge beyond it, with paired CIs; the edge against the full window and against arrival "
           "is shown beside it."),
    ("code", "comparison.edges(periods=[1, 6]).round(2)"),
    ("code", "comparison[\"flex\"].table(\"ci\", reps=200, periods=[1, 3, 6, 12, \"match\"]).round(2)"),
    ("code", "figures.mean_by_period(eb.ci_table(runs[\"flex\"], reps=200), \"flex\");"),
    ("code", "figures.execution_curves(runs[\"flex\"], [1, 6, \"match\"]);"),
    ("code", "figures.strategies_density(runs, 1, \"buy\");"),
]


def main() -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
                      for kind, src in CELLS]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    here = Path(__file__).resolve().parent
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(here)}}).execute()
    path = here / "compare_strategies.ipynb"
    nbformat.write(notebook, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
