"""Plotly figures of one run built from arrays and records (curves, the learning rate, the confusion matrix, F1,
probabilities), and the axes and colours every figure shares; no Streamlit here. Series figures are in
series_plots, figures over many runs in runs_plots and comparison_plots."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nnlab.core.records import EpochRecord
from nnlab.core.text import plural
from nnlab.engine.metrics import normalize_confusion

CURVE_HEIGHT = 340
# room for tick labels such as "0.0001" or "1,950" beside and under the axes, in the dashboard and in the
# offline report alike (automargin only widens it)
MARGIN = dict(l=60, r=20, t=40, b=40)
COLORS = ("#4F46E5", "#F59E0B", "#10B981", "#EF4444", "#06B6D4", "#8B5CF6", "#84CC16", "#EC4899")


def val_metric_label(task: str) -> str:
    """What an epoch record's val_metric is for a task."""
    return "val RMSE" if task == "regression" else "val accuracy"


def epoch_axis(fig: go.Figure, last: int) -> go.Figure:
    """Epochs 1..last on every x axis: whole-number ticks only, no epoch 0 or 0.5."""
    whole = dict(tick0=1, dtick=1) if last <= 10 else dict(tickformat="d")
    return fig.update_xaxes(title_text="epoch", range=[0.5, max(last, 1) + 0.5], **whole)


def score_axis(fig: go.Figure, task: str, col: int) -> None:
    """Accuracy stays within 0 to 1 and RMSE at or above 0, however few the points."""
    bounds = dict(clipmin=0) if task == "regression" else dict(clipmin=0, clipmax=1)
    fig.update_yaxes(autorangeoptions=bounds, row=1, col=col)


def curves_figure(history: Sequence[EpochRecord], task: str = "classification", last: int | None = None) -> go.Figure:
    """Train and validation loss (left) and the validation metric (right) per epoch over epochs 1..last.

    The legend names the two losses; the right panel's title names its one curve.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", val_metric_label(task)), horizontal_spacing=0.1)
    epochs = [r.epoch for r in history]
    for name, values, color in (
        ("train loss", [r.train_loss for r in history], COLORS[0]),
        ("val loss", [r.val_loss for r in history], COLORS[1]),
    ):
        fig.add_trace(go.Scatter(x=epochs, y=values, name=name, mode="lines+markers", line_color=color), 1, 1)
    fig.add_trace(
        go.Scatter(
            x=epochs,
            y=[r.val_metric for r in history],
            name=val_metric_label(task),
            mode="lines+markers",
            line_color=COLORS[2],
            showlegend=False,
        ),
        1,
        2,
    )
    epoch_axis(fig, last if last is not None else len(history))
    fig.update_yaxes(autorangeoptions=dict(clipmin=0), row=1, col=1)
    score_axis(fig, task, 2)
    fig.update_layout(
        height=CURVE_HEIGHT,
        margin=MARGIN,
        legend=dict(orientation="h", y=-0.2),
        uirevision="curves",
    )
    return fig


def lr_figure(lrs: Sequence[float], schedule: str) -> go.Figure:
    """The learning rate per epoch a schedule will give (plateau: drops only when validation stalls)."""
    fig = go.Figure(
        go.Scatter(x=list(range(1, len(lrs) + 1)), y=list(lrs), mode="lines", line_shape="hv", line_color=COLORS[0])
    )
    title = "learning rate per epoch" + (" (drops ×0.1 when validation stalls)" if schedule == "plateau" else "")
    fig.update_layout(height=220, margin=MARGIN, title=title, xaxis_title="epoch", yaxis_type="log")
    return fig


# -- results ------------------------------------------------------------------------------------------
LABEL_CHARS = 18  # an axis shows a class name cut to this many characters (its hover shows it whole)


def plotly_text(value: object) -> str:
    """User text inside a Plotly figure, shown as typed: Plotly reads tags as markup, so they are escaped, and
    it decodes only &lt; &gt; &amp; and numeric entities, so quotes are left alone ('&quot;' showed literally)."""
    return html.escape(str(value), quote=False)


def axis_labels(classes: Sequence[str]) -> list[str]:
    return [plotly_text(c) for c in classes]


def short_label(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1].rstrip() + "…"


def class_ticks(classes: Sequence[str]) -> dict:
    """A category axis's settings that label its classes cut to LABEL_CHARS characters: a 60-character class name
    took the whole figure's room and left the confusion matrix a dot. Categories stay whole (and distinct)."""
    return dict(
        tickmode="array", tickvals=axis_labels(classes), ticktext=[plotly_text(short_label(str(c))) for c in classes]
    )


CONFUSION_FRAME = 140  # pixels of axis titles and labels around the confusion matrix's cells


def confusion_side(n: int) -> int:
    """A confusion-matrix cell's side in pixels: up to 20 classes fit 480 px, a window of 800 with the sidebar."""
    return max(16, min(90, 340 // max(n, 1)))


def confusion_frame(classes: Sequence[str]) -> int:
    """Pixels of titles and class labels beside (and above) the cells: more for longer names (up to LABEL_CHARS),
    so the labels never take the cells' room."""
    longest = max((len(short_label(str(c))) for c in classes), default=1)
    return CONFUSION_FRAME + 7 * max(0, longest - 6)


def confusion_figure(confusion: Sequence[Sequence[int]], classes: Sequence[str], normalized: bool = False) -> go.Figure:
    """The confusion matrix: a Heatmap for the colours under one Scatter square marker per cell.

    A Heatmap emits no click selection in Streamlit, a Scatter does: the markers carry
    customdata=[true, pred], and with no hover cut-off a click anywhere in a cell selects its marker.
    Unselected markers are invisible; the selected one marks its cell. The figure depends only on its
    arguments, so it is identical across reruns and Streamlit keeps the user's selection.
    """
    counts = np.asarray(confusion, dtype=np.int64)  # (true, pred)
    n, labels = len(counts), axis_labels(classes)
    rates = normalize_confusion(counts)
    col_tot = counts.sum(axis=0)
    values = rates if normalized else counts
    t, p = np.divmod(np.arange(n * n), n)  # row-major: true class, then predicted class
    cell = confusion_side(n)
    text = [[f"{v:.0%}" for v in row] for row in rates] if normalized else counts.astype(str).tolist()
    hover = [
        f"true {labels[i]}, predicted {labels[j]}<br>{plural(int(counts[i, j]), 'test example')}"
        f"<br>{rates[i, j]:.1%} of true {labels[i]}"
        f"<br>{counts[i, j] / col_tot[j] if col_tot[j] else 0:.1%} of predicted {labels[j]}"
        for i, j in zip(t, p, strict=True)
    ]
    heat = go.Heatmap(
        z=values,
        x=labels,
        y=labels,
        colorscale="Blues",
        zmin=0,
        zmax=max(float(values.max()), 1e-9),
        text=text,
        texttemplate="%{text}" if n <= 20 else None,
        textfont=dict(size=12 if n <= 10 else 10),
        hoverinfo="skip",
        showscale=False,
        xgap=1,
        ygap=1,
    )
    cells = cell_markers(labels, t, p, hover, cell, "#DC2626")
    fig = go.Figure([heat, cells])
    side = cell * n
    axis = dict(type="category", categoryorder="array", categoryarray=labels, showgrid=False, zeroline=False)
    axis |= class_ticks(classes)
    fig.update_xaxes(title_text="predicted class", side="top", constrain="domain", **axis)
    fig.update_yaxes(title_text="true class", autorange="reversed", scaleanchor="x", constrain="domain", **axis)
    frame = confusion_frame(classes)
    fig.update_layout(
        height=side + frame - 30,
        width=side + frame,
        margin=dict(l=10, r=10, t=60, b=10),
        plot_bgcolor="white",
        dragmode=False,
        hovermode="closest",
        hoverdistance=-1,
        clickmode="event+select",
    )
    return fig


def f1_figure(f1: dict[str, float]) -> go.Figure:
    """F1 per class as bars."""
    fig = go.Figure(
        go.Bar(
            x=axis_labels(f1),
            y=list(f1.values()),
            marker_color=COLORS[0],
            hovertemplate="%{x}: F1 %{y:.3f}<extra></extra>",
        )
    )
    fig.update_xaxes(type="category", title_text="class", **class_ticks(list(f1)))
    fig.update_layout(height=300, margin=MARGIN, title="F1 per class", yaxis=dict(range=[0, 1.02], title="F1"))
    return fig


def probability_figure(probs: Sequence[float], classes: Sequence[str], top: int = 10) -> go.Figure:
    """Class probabilities as horizontal bars, most likely on top, the top choice highlighted."""
    probs = np.asarray(probs, dtype=np.float64)
    order = np.argsort(-probs, kind="stable")[:top]
    labels = axis_labels(classes)
    fig = go.Figure(
        go.Bar(
            x=probs[order],
            y=[labels[i] for i in order],
            orientation="h",
            text=[f"{probs[i]:.1%}" for i in order],
            textposition="auto",
            marker_color=[COLORS[0] if k == 0 else "#A5B4FC" for k in range(len(order))],
            hovertemplate="%{y}: %{x:.2%}<extra></extra>",
        )
    )
    fig.update_yaxes(type="category", autorange="reversed", **class_ticks([classes[i] for i in order]))
    fig.update_layout(
        height=60 + 34 * len(order),
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis=dict(range=[0, 1], tickformat=".0%"),
        title="class probabilities",
    )
    return fig


def cell_markers(labels: list[str], t: np.ndarray, p: np.ndarray, hover: list[str], cell: float, color: str):
    """A clickable invisible square per cell (heatmaps return no click; customdata is [true, predicted])."""
    return go.Scatter(
        x=[labels[j] for j in p],
        y=[labels[i] for i in t],
        mode="markers",
        name="cells",
        showlegend=False,
        customdata=np.stack([t, p], axis=1).tolist(),
        hovertext=hover,
        hovertemplate="%{hovertext}<extra></extra>",
        marker=dict(symbol="square-open", size=cell - 6, color=color, line=dict(width=3), opacity=0),
        selected=dict(marker=dict(opacity=1)),
        unselected=dict(marker=dict(opacity=0)),
    )
