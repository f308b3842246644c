"""Plotly figures of comparisons: the clickable A−B confusion difference, seed groups as mean curves with
95% bands, and where along a series one forecaster's error is lower. No Streamlit here."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nnlab.analysis.stats import seed_band
from nnlab.core.records import EpochRecord
from nnlab.views.plots import (
    COLORS,
    CURVE_HEIGHT,
    axis_labels,
    cell_markers,
    class_ticks,
    plotly_text,
    val_metric_label,
)


def _labels(classes: Sequence[str]) -> list[str]:
    return [plotly_text(c) for c in classes]


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def flip_matrix_figure(
    conf_a: Sequence[Sequence[int]], conf_b: Sequence[Sequence[int]], classes: Sequence[str], clickable: bool = True
) -> go.Figure:
    """Counts of B minus A per (true, predicted) cell, blue where B is better (more on the diagonal, fewer off it).

    Like the Results matrix, a Scatter square marker per cell carries customdata=[true, pred], so a click
    selects a cell (a Heatmap emits no selection in Streamlit); the figure depends only on its arguments.
    """
    a, b = np.asarray(conf_a, dtype=np.int64), np.asarray(conf_b, dtype=np.int64)
    diff, n, labels = b - a, len(a), _labels(classes)
    better = np.where(np.eye(n, dtype=bool), diff, -diff)
    lim = max(int(np.abs(diff).max()), 1)
    t, p = np.divmod(np.arange(n * n), n)
    cell = max(18, min(64, 480 // max(n, 1)))
    heat = go.Heatmap(
        z=better,
        x=labels,
        y=labels,
        zmid=0,
        zmin=-lim,
        zmax=lim,
        colorscale="RdBu",
        text=[[f"{v:+d}" if v else "0" for v in row] for row in diff],
        texttemplate="%{text}" if n <= 20 else None,
        hoverinfo="skip",
        xgap=1,
        ygap=1,
        colorbar=dict(title="B vs A", tickvals=[-lim, 0, lim], ticktext=["worse", "same", "better"], thickness=12),
    )
    hover = [
        f"true {labels[i]}, predicted {labels[j]}<br>A {a[i, j]} → B {b[i, j]} test example(s)"
        + ("<br>click to see them" if clickable else "")
        for i, j in zip(t, p, strict=True)
    ]
    cells = cell_markers(labels, t, p, hover, cell, "#111827")
    fig = go.Figure([heat, cells])
    axis = dict(type="category", categoryorder="array", categoryarray=labels, showgrid=False, zeroline=False)
    axis |= class_ticks(classes)
    fig.update_xaxes(title_text="predicted class", side="top", constrain="domain", **axis)
    fig.update_yaxes(title_text="true class", autorange="reversed", scaleanchor="x", constrain="domain", **axis)
    fig.update_layout(
        height=cell * n + 110,
        width=cell * n + 200,
        margin=dict(l=10, r=10, t=60, b=10),
        plot_bgcolor="white",
        dragmode=False,
        hovermode="closest",
        hoverdistance=-1,
        clickmode="event+select",
    )
    return fig


def _curves(histories: Sequence[Sequence[EpochRecord]], attr: str) -> tuple[np.ndarray, np.ndarray]:
    """(epochs, (K, T) values with NaN where a run stopped earlier)."""
    last = max((r.epoch for h in histories for r in h), default=0)
    out = np.full((len(histories), last), np.nan)
    for k, h in enumerate(histories):
        for r in h:
            out[k, r.epoch - 1] = getattr(r, attr)
    return np.arange(1, last + 1), out


def group_curves_figure(groups: dict[str, Sequence[Sequence[EpochRecord]]], task: str) -> go.Figure:
    """Validation loss and metric per epoch: one mean line per group with its 95% bootstrap band over seeds
    (a single run is a group of one: a line without a band)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("val loss", val_metric_label(task)), horizontal_spacing=0.1)
    for k, (name, histories) in enumerate(groups.items()):
        color = COLORS[k % len(COLORS)]
        seeds = len(histories)
        label = f"{name} (mean of {seeds} seeds)" if seeds > 1 else name
        for col, attr in ((1, "val_loss"), (2, "val_metric")):
            epochs, values = _curves(histories, attr)
            mean, lo, hi = seed_band(values)
            if seeds > 1:
                fig.add_trace(
                    go.Scatter(
                        x=np.concatenate([epochs, epochs[::-1]]),
                        y=np.concatenate([hi, lo[::-1]]),
                        fill="toself",
                        mode="lines",  # the band's outline only: no markers at its corners
                        fillcolor=_rgba(color, 0.18),
                        line=dict(width=0),
                        hoverinfo="skip",
                        legendgroup=name,
                        showlegend=False,
                        name=f"{name} 95% band",
                    ),
                    1,
                    col,
                )
            fig.add_trace(
                go.Scatter(
                    x=epochs,
                    y=mean,
                    name=label,
                    legendgroup=name,
                    showlegend=col == 1,
                    mode="lines+markers" if len(epochs) < 40 else "lines",
                    line_color=color,
                ),
                1,
                col,
            )
    fig.update_xaxes(title_text="epoch", rangemode="tozero")
    fig.update_layout(height=CURVE_HEIGHT, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
    return fig


def error_gap_figure(t: np.ndarray, gap: np.ndarray) -> go.Figure:
    """|error of B| − |error of A| at each test step: bars below zero where B is closer, above where A is."""
    gap = np.asarray(gap, dtype=np.float64)
    fig = go.Figure(
        go.Bar(
            x=np.asarray(t),
            y=gap,
            marker_color=np.where(gap < 0, "#10B981", "#EF4444").tolist(),
            hovertemplate="time step %{x}: %{y:+.4g}<extra></extra>",
        )
    )
    fig.add_hline(y=0, line=dict(color="#6B7280", width=1))
    fig.update_layout(
        height=CURVE_HEIGHT,
        margin=dict(l=10, r=10, t=50, b=10),
        title="Where B's error is lower (green, below 0) or higher (red) than A's",
        xaxis_title="time step",
        yaxis_title="|error B| − |error A|",
        bargap=0,
    )
    return fig


def f1_change_figure(f1_a: dict[str, float], f1_b: dict[str, float], name_a: str, name_b: str) -> go.Figure:
    """Per-class F1 of run B minus run A: green where B is better, red where it is worse."""
    classes = [c for c in f1_a if c in f1_b]
    delta = np.array([f1_b[c] - f1_a[c] for c in classes])
    fig = go.Figure(
        go.Bar(
            x=axis_labels(classes),
            y=delta,
            marker_color=np.where(delta >= 0, "#10B981", "#EF4444").tolist(),
            customdata=np.stack([[f1_a[c] for c in classes], [f1_b[c] for c in classes]], axis=1),
            hovertemplate="%{x}: %{customdata[0]:.3f} → %{customdata[1]:.3f} (%{y:+.3f})<extra></extra>",
        )
    )
    fig.add_hline(y=0, line=dict(color="#6B7280", width=1))
    fig.update_xaxes(type="category", title_text="class", **class_ticks(classes))
    fig.update_layout(
        height=320,
        margin=dict(l=10, r=10, t=50, b=10),
        yaxis_title="F1 change",
        title=f"F1 per class: {plotly_text(name_b)} minus {plotly_text(name_a)}",
    )
    return fig
