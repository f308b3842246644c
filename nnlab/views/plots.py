"""Plotly figures built from arrays and records; no Streamlit here."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd
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


def _score_axis(fig: go.Figure, task: str, col: int) -> None:
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
    _score_axis(fig, task, 2)
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


def _labels(classes: Sequence[str]) -> list[str]:
    return [plotly_text(c) for c in classes]


def _short(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1].rstrip() + "…"


def class_ticks(classes: Sequence[str]) -> dict:
    """A category axis's settings that label its classes cut to LABEL_CHARS characters: a 60-character class name
    took the whole figure's room and left the confusion matrix a dot. Categories stay whole (and distinct)."""
    return dict(tickmode="array", tickvals=_labels(classes), ticktext=[plotly_text(_short(str(c))) for c in classes])


CONFUSION_FRAME = 140  # pixels of axis titles and labels around the confusion matrix's cells


def confusion_side(n: int) -> int:
    """A confusion-matrix cell's side in pixels: up to 20 classes fit 480 px, a window of 800 with the sidebar."""
    return max(16, min(90, 340 // max(n, 1)))


def confusion_frame(classes: Sequence[str]) -> int:
    """Pixels of titles and class labels beside (and above) the cells: more for longer names (up to LABEL_CHARS),
    so the labels never take the cells' room."""
    longest = max((len(_short(str(c))) for c in classes), default=1)
    return CONFUSION_FRAME + 7 * max(0, longest - 6)


def confusion_figure(confusion: Sequence[Sequence[int]], classes: Sequence[str], normalized: bool = False) -> go.Figure:
    """The confusion matrix: a Heatmap for the colours under one Scatter square marker per cell.

    A Heatmap emits no click selection in Streamlit, a Scatter does: the markers carry
    customdata=[true, pred], and with no hover cut-off a click anywhere in a cell selects its marker.
    Unselected markers are invisible; the selected one marks its cell. The figure depends only on its
    arguments, so it is identical across reruns and Streamlit keeps the user's selection.
    """
    counts = np.asarray(confusion, dtype=np.int64)  # (true, pred)
    n, labels = len(counts), _labels(classes)
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
            x=_labels(f1), y=list(f1.values()), marker_color=COLORS[0], hovertemplate="%{x}: F1 %{y:.3f}<extra></extra>"
        )
    )
    fig.update_xaxes(type="category", title_text="class", **class_ticks(list(f1)))
    fig.update_layout(height=300, margin=MARGIN, title="F1 per class", yaxis=dict(range=[0, 1.02], title="F1"))
    return fig


def probability_figure(probs: Sequence[float], classes: Sequence[str], top: int = 10) -> go.Figure:
    """Class probabilities as horizontal bars, most likely on top, the top choice highlighted."""
    probs = np.asarray(probs, dtype=np.float64)
    order = np.argsort(-probs, kind="stable")[:top]
    labels = _labels(classes)
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


def forecast_vs_actual_figure(
    t: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    naive: np.ndarray,
    series: np.ndarray | None = None,
    step: int = 0,
) -> go.Figure:
    """The model's and the naive (last value) forecasts against the actual test values over time."""
    fig = go.Figure()
    if series is not None and len(series):
        start = max(0, int(t[0]) - 3 * len(t) // 10)
        fig.add_trace(
            go.Scatter(
                x=np.arange(start, int(t[0])),
                y=series[start : int(t[0])],
                name="before the test part",
                mode="lines",
                line=dict(color="#9CA3AF", width=1),
            )
        )
    x = np.asarray(t) + step
    for y, name, color, dash in (
        (y_true, "actual", "#111827", None),
        (y_pred, "model", COLORS[0], None),
        (naive, "naive (last value)", COLORS[1], "dot"),
    ):
        fig.add_trace(
            go.Scatter(
                x=x, y=np.asarray(y)[:, step], name=name, mode="lines", line=dict(color=color, width=1.5, dash=dash)
            )
        )
    _time_layout(fig, "test part: forecast vs actual")
    fig.update_layout(hovermode="x unified")
    return fig


def residuals_figure(
    t: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, naive: np.ndarray | None = None
) -> go.Figure:
    """Residuals (model minus actual) over time, and their histogram beside the naive forecast's."""
    res = (np.asarray(y_pred) - np.asarray(y_true)).ravel()
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.65, 0.35],
        horizontal_spacing=0.08,
        subplot_titles=("residual over time", "distribution"),
    )
    fig.add_trace(
        go.Scatter(
            x=np.repeat(t, np.asarray(y_true).shape[1] if np.ndim(y_true) > 1 else 1),
            y=res,
            mode="markers",
            marker=dict(size=4, color=COLORS[0]),
            name="model",
        ),
        1,
        1,
    )
    fig.add_hline(y=0, line=dict(color="#6B7280", width=1), row=1, col=1)
    fig.add_trace(go.Histogram(x=res, name="model", marker_color=COLORS[0], opacity=0.7, showlegend=False), 1, 2)
    if naive is not None:
        fig.add_trace(
            go.Histogram(
                x=(np.asarray(naive) - np.asarray(y_true)).ravel(), name="naive", marker_color=COLORS[1], opacity=0.5
            ),
            1,
            2,
        )
    fig.update_layout(height=300, margin=MARGIN, barmode="overlay", legend=dict(orientation="h", y=-0.25))
    fig.update_xaxes(title_text="time step", row=1, col=1)
    fig.update_xaxes(title_text="forecast − actual", row=1, col=2)
    return fig


def forecast_figure(history: np.ndarray, forecast: np.ndarray) -> go.Figure:
    """A series' given values and the model's forecast after them."""
    h = np.asarray(history, dtype=np.float64).ravel()
    steps = np.arange(len(h), len(h) + len(forecast))
    fig = go.Figure(
        [
            go.Scatter(x=np.arange(len(h)), y=h, name="given", mode="lines+markers", line_color="#111827"),
            go.Scatter(
                x=np.concatenate([[len(h) - 1], steps]),
                y=np.concatenate([[h[-1]], forecast]),
                name="forecast",
                mode="lines+markers",
                line=dict(color=COLORS[0], dash="dash"),
            ),
        ]
    )
    _time_layout(fig, "forecast")
    return fig


def _time_layout(fig: go.Figure, title: str) -> None:
    """The layout of a plot over time steps, at the curves' fixed height."""
    fig.update_layout(
        height=CURVE_HEIGHT,
        margin=MARGIN,
        title=title,
        xaxis_title="time step",
        legend=dict(orientation="h", y=-0.2),
    )


# -- comparing runs -----------------------------------------------------------------------------------
def compare_curves_figure(histories: dict[str, Sequence[EpochRecord]], task: str = "classification") -> go.Figure:
    """Validation loss (left) and validation metric (right) per epoch, one colour per run."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("val loss", val_metric_label(task)), horizontal_spacing=0.1)
    for k, (name, hist) in enumerate(histories.items()):
        color, epochs = COLORS[k % len(COLORS)], [r.epoch for r in hist]
        fig.add_trace(
            go.Scatter(
                x=epochs,
                y=[r.val_loss for r in hist],
                name=name,
                legendgroup=name,
                mode="lines+markers",
                line_color=color,
            ),
            1,
            1,
        )
        fig.add_trace(
            go.Scatter(
                x=epochs,
                y=[r.val_metric for r in hist],
                name=name,
                legendgroup=name,
                showlegend=False,
                mode="lines+markers",
                line_color=color,
            ),
            1,
            2,
        )
    epoch_axis(fig, max((len(h) for h in histories.values()), default=1))
    fig.update_yaxes(autorangeoptions=dict(clipmin=0), row=1, col=1)
    _score_axis(fig, task, 2)
    fig.update_layout(height=CURVE_HEIGHT, margin=MARGIN, legend=dict(orientation="h", y=-0.25))
    return fig


def parallel_figure(table: pd.DataFrame, score: str, score_label: str) -> go.Figure:
    """Parallel coordinates: one axis per column of table (text columns as categories), coloured by score."""
    dims = []
    for col in table.columns:
        values = table[col]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            fmt = ".3f" if col == score else ".4~g"  # 0.970, not 0.97037; 0.0003 and 1024 as typed
            dims.append(dict(label=col if col != score else score_label, values=values.astype(float), tickformat=fmt))
        else:
            cats = sorted(values.astype(str).unique())
            codes = values.astype(str).map({c: i for i, c in enumerate(cats)})
            dims.append(
                dict(
                    label=col,
                    values=codes,
                    tickvals=list(range(len(cats))),
                    ticktext=[plotly_text(_short(c)) for c in cats],
                )
            )
    fig = go.Figure(
        go.Parcoords(
            dimensions=dims,
            line=dict(
                color=table[score].astype(float),
                colorscale="Viridis",
                showscale=True,
                colorbar=dict(title=score_label, thickness=12),
            ),
        )
    )
    fig.update_layout(height=380, margin=dict(l=60, r=40, t=50, b=20))
    return fig


def f1_change_figure(f1_a: dict[str, float], f1_b: dict[str, float], name_a: str, name_b: str) -> go.Figure:
    """Per-class F1 of run B minus run A: green where B is better, red where it is worse."""
    classes = [c for c in f1_a if c in f1_b]
    delta = np.array([f1_b[c] - f1_a[c] for c in classes])
    fig = go.Figure(
        go.Bar(
            x=_labels(classes),
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


def confusion_diff_figure(
    conf_a: Sequence[Sequence[int]], conf_b: Sequence[Sequence[int]], classes: Sequence[str], name_a: str, name_b: str
) -> go.Figure:
    """Row-normalised confusion of B minus A, coloured by improvement: blue where B is better, red where worse.

    On the diagonal more is better; off it, less is better; the cell text gives the raw change.
    """
    na, nb = normalize_confusion(conf_a), normalize_confusion(conf_b)
    diff = nb - na  # (true, pred)
    better = np.where(np.eye(len(diff), dtype=bool), diff, -diff)
    labels = _labels(classes)
    lim = max(float(np.abs(diff).max()), 0.01)
    fig = go.Figure(
        go.Heatmap(
            z=better,
            x=labels,
            y=labels,
            zmid=0,
            zmin=-lim,
            zmax=lim,
            colorscale="RdBu",
            customdata=np.stack([na, nb], axis=-1),
            text=[[f"{v:+.0%}" for v in row] for row in diff],
            texttemplate="%{text}" if len(labels) <= 20 else None,
            xgap=1,
            ygap=1,
            hovertemplate="true %{y}, predicted %{x}<br>%{customdata[0]:.1%} → %{customdata[1]:.1%} of true %{y}"
            "<extra></extra>",
            colorbar=dict(title="B vs A", tickvals=[-lim, 0, lim], ticktext=["worse", "same", "better"], thickness=12),
        )
    )
    side = max(18, min(56, 480 // max(len(labels), 1))) * len(labels)
    fig.update_xaxes(type="category", title_text="predicted class", side="top", **class_ticks(classes))
    fig.update_yaxes(
        type="category", title_text="true class", autorange="reversed", scaleanchor="x", **class_ticks(classes)
    )
    title = f"Change in share of each true class, B ({plotly_text(name_b)}) minus A ({plotly_text(name_a)})"
    fig.update_layout(
        height=side + 170,
        width=side + 300,
        margin=dict(l=10, r=10, t=120, b=10),
        title=dict(text=title, y=0.98, yanchor="top"),
        plot_bgcolor="white",
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
