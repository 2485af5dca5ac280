"""The example notebook runs from top to bottom against the current API."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.slow  # make test-slow (CI runs it after make test)
def test_example_notebook_executes(monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel draws inline (importing streamlit sets Agg)
    notebook = nbformat.read(EXAMPLES / "compare_strategies.ipynb", as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    images = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 3
