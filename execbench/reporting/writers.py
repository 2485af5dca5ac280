"""Writing tables as CSV, Markdown and LaTeX, and how numbers are shown in printed tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def format_number(value) -> str:
    """How numbers are shown in printed and Markdown tables: 2 decimals, 3 significant digits below 0.1."""
    if value is pd.NA:
        return ""
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        return f"{value:.3g}" if 0 < abs(value) < 0.1 else f"{value:.2f}"
    return str(value)


def write_table(frame: pd.DataFrame, out_dir: Path, stem: str, *, caption: str, index: bool = False) -> list[Path]:
    """Write ``frame`` as ``stem.csv``, ``stem.md`` and ``stem.tex`` in ``out_dir``; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.csv", out_dir / f"{stem}.md", out_dir / f"{stem}.tex"]
    frame.to_csv(paths[0], index=index, float_format="%.6g")
    shown = frame.apply(lambda column: column.map(format_number) if column.dtype.kind in "fiu" else column)
    align = (["left"] if index else []) + ["right" if frame[c].dtype.kind in "fiu" else "left" for c in frame.columns]
    paths[1].write_text(f"{caption}\n\n" + shown.to_markdown(index=index, disable_numparse=True, colalign=align) + "\n")
    styler = frame.style.format(precision=2, na_rep="")
    if not index:
        styler = styler.hide(axis="index")
    paths[2].write_text(styler.to_latex(caption=caption, hrules=True, position_float="centering") )
    return paths
