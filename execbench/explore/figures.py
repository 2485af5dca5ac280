"""Interactive Plotly figures of saved results (the dashboard's, and ``execbench ask --plot``).  Plotly is
imported when a figure is built, so reading results never needs it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from execbench.analysis.stats import binned_kde

DENSITY_POINTS = 400
PERF_AXIS = "perf_bps (positive = better)"


def density_figure(samples: dict[str, np.ndarray], title: str):
    """Overlaid slippage densities (KDE of perf_bps), one line per strategy; hovering a point shows the
    value, the density and the share of orders below it (the percentile)."""
    import plotly.graph_objects as go

    finite = {name: v[np.isfinite(v)] for name, v in samples.items()}
    pooled = np.concatenate([v for v in finite.values() if v.size]) if finite else np.zeros(0)
    fig = go.Figure()
    if pooled.size:
        low, high = np.percentile(pooled, [0.5, 99.5])
        grid = np.linspace(low, high, DENSITY_POINTS)
        for name, values in finite.items():
            if values.size < 2 or np.ptp(values) == 0:
                continue
            density = binned_kde(values, grid)
            below = np.searchsorted(np.sort(values), grid) / values.size * 100
            fig.add_trace(go.Scatter(x=grid, y=density, mode="lines", name=f"{name} (mean {values.mean():+.2f})",
                                     customdata=below, hovertemplate=f"{name}<br>perf_bps %{{x:.2f}}<br>density "
                                     "%{y:.4f}<br>percentile %{customdata:.1f} %<extra></extra>"))
        fig.add_vline(x=0, line_width=1, line_color="grey")
    fig.update_layout(title=title, xaxis_title=PERF_AXIS, yaxis_title="density", hovermode="closest",
                      legend_title="strategy", margin=dict(t=60, b=40))
    return fig


def fan_figure(fans: dict[str, pd.DataFrame], title: str, min_period: int | None):
    """Cumulative fraction executed by bar: each strategy's median with its 10–90 % band, TWAP's line and
    the minimum period."""
    import plotly.colors
    import plotly.graph_objects as go

    fig = go.Figure()
    colours = plotly.colors.qualitative.Plotly
    horizon = 1
    for k, (name, fan) in enumerate(fans.items()):
        colour = colours[k % len(colours)]
        horizon = int(fan["bar"].max())
        fig.add_trace(go.Scatter(x=np.r_[fan["bar"], fan["bar"][::-1]], y=np.r_[fan["q90"], fan["q10"][::-1]],
                                 fill="toself", fillcolor=colour, opacity=0.15, line=dict(width=0), hoverinfo="skip",
                                 name=f"{name} 10–90 %", legendgroup=name, showlegend=False))
        fig.add_trace(go.Scatter(x=fan["bar"], y=fan["q50"], mode="lines+markers", line=dict(color=colour),
                                 name=name, legendgroup=name,
                                 hovertemplate=f"{name}<br>bar %{{x}}<br>median executed %{{y:.1%}}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[0, horizon], y=[0, 1], mode="lines", line=dict(color="grey", dash="dash"), name="TWAP"))
    if min_period is not None:
        fig.add_vline(x=min_period, line_dash="dot", line_color="firebrick", annotation_text="minimum period")
    fig.update_layout(title=title, xaxis_title="bar", yaxis_title="fraction executed", yaxis_tickformat=".0%",
                      margin=dict(t=60, b=40))
    return fig


def min_period_figure(table: pd.DataFrame, title: str):
    """Mean perf_bps against the minimum period, one series per strategy, with 95 % CIs where given."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, part in table.groupby("strategy", sort=False):
        has_ci = part[["ci_lo", "ci_hi"]].notna().all(axis=1).any() if "ci_lo" in part else False
        error = dict(type="data", symmetric=False, array=part["ci_hi"] - part["perf_bps"],
                     arrayminus=part["perf_bps"] - part["ci_lo"]) if has_ci else None
        fig.add_trace(go.Scatter(x=part["period"].astype(str), y=part["perf_bps"], mode="lines+markers", name=name,
                                 error_y=error, hovertemplate=f"{name}<br>m=%{{x}}<br>mean perf_bps %{{y:.2f}}<extra></extra>"))
    fig.add_hline(y=0, line_width=1, line_color="grey")
    fig.update_xaxes(type="category")  # 1..T and "match"
    fig.update_layout(title=title, xaxis_title="minimum period (bars; match = no flexibility)",
                      yaxis_title="mean perf_bps (positive = better)", margin=dict(t=60, b=40))
    return fig


def heatmap_figure(rows: pd.DataFrame, value: str, x: str, y: str, title: str):
    """A grid of ``value`` (mean over the rows of each cell) by ``x`` × ``y``, annotated."""
    import plotly.express as px

    grid = rows.pivot_table(index=y, columns=x, values=value, aggfunc="mean", sort=False)
    fig = px.imshow(grid, text_auto=".2f", aspect="auto", color_continuous_scale="RdBu",
                    color_continuous_midpoint=0 if value.startswith(("perf", "bps_Mean")) else None)
    fig.update_layout(title=title, margin=dict(t=60, b=40))
    return fig


def bar_figure(table: pd.DataFrame, x: str, y: str, colour: str | None, title: str):
    """Bars of ``y`` by ``x`` (grouped by ``colour``): the chart of an ``ask`` answer."""
    import plotly.express as px

    fig = px.bar(table, x=x, y=y, color=colour, barmode="group", title=title, text_auto=".3g")
    fig.update_layout(margin=dict(t=60, b=40))
    return fig
