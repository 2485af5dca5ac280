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


LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
                 "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped, to be set as text."""
    return "".join(LATEX_SPECIAL.get(c, c) for c in text)


def _is_number(column: pd.Series) -> bool:
    """Whether a table column holds numbers (formatted by ``format_number``, right-aligned)."""
    return column.dtype.kind in "fiu"


def _latex_cell(value) -> str:
    return "" if value is None else latex_escape(format_number(value))


def latex_table(frame: pd.DataFrame, caption: str, *, index: bool = False) -> str:
    """``frame`` as a LaTeX ``table`` (booktabs rules, centred, captioned): numbers as in Markdown
    (``format_number``), text escaped, numeric columns right-aligned; with ``index``, the index first and
    its name on a row of its own under the header."""
    columns = [frame[c] for c in frame.columns]
    align = ("l" if index else "") + "".join("r" if _is_number(c) else "l" for c in columns)
    cells = [[_latex_cell(v) for v in c.tolist()] for c in columns]
    if index:
        cells.insert(0, [_latex_cell(v) for v in frame.index.tolist()])
    header = ([""] if index else []) + [latex_escape(str(c)) for c in frame.columns]
    lines = [r"\begin{table}", r"\centering", rf"\caption{{{latex_escape(caption)}}}", rf"\begin{{tabular}}{{{align}}}",
             r"\toprule", " & ".join(header) + r" \\"]
    if index:
        lines.append(" & ".join([latex_escape(str(frame.index.name or ""))] + [""] * len(columns)) + r" \\")
    lines.append(r"\midrule")
    lines += [" & ".join(row) + r" \\" for row in zip(*cells, strict=True)]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)


def write_table(frame: pd.DataFrame, out_dir: Path, stem: str, *, caption: str, index: bool = False) -> list[Path]:
    """Write ``frame`` as ``stem.csv``, ``stem.md`` and ``stem.tex`` in ``out_dir``; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.csv", out_dir / f"{stem}.md", out_dir / f"{stem}.tex"]
    frame.to_csv(paths[0], index=index, float_format="%.6g")
    shown = frame.apply(lambda column: column.map(format_number) if _is_number(column) else column)
    align = (["left"] if index else []) + ["right" if _is_number(frame[c]) else "left" for c in frame.columns]
    paths[1].write_text(f"{caption}\n\n" + shown.to_markdown(index=index, disable_numparse=True, colalign=align) + "\n")
    paths[2].write_text(latex_table(frame, caption, index=index))
    return paths
