"""Plotly figures built from arrays and records; no Streamlit here."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nnlab.train import EpochRecord

CURVE_HEIGHT = 340
COLORS = ("#4F46E5", "#F59E0B", "#10B981", "#EF4444", "#06B6D4", "#8B5CF6", "#84CC16", "#EC4899")


def score_name(task: str) -> str:
    """What val_score means for a task."""
    return "val RMSE" if task == "regression" else "val accuracy"


def curves_figure(history: Sequence[EpochRecord], task: str = "classification") -> go.Figure:
    """Train and validation loss (left) and the validation score (right) per epoch, fixed height."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", score_name(task)), horizontal_spacing=0.1)
    epochs = [r.epoch for r in history]
    fig.add_trace(go.Scatter(x=epochs, y=[r.train_loss for r in history], name="train loss",
                             mode="lines+markers", line_color=COLORS[0]), 1, 1)
    fig.add_trace(go.Scatter(x=epochs, y=[r.val_loss for r in history], name="val loss",
                             mode="lines+markers", line_color=COLORS[1]), 1, 1)
    fig.add_trace(go.Scatter(x=epochs, y=[r.val_score for r in history], name=score_name(task),
                             mode="lines+markers", line_color=COLORS[2]), 1, 2)
    fig.update_xaxes(title_text="epoch", rangemode="tozero")
    fig.update_layout(height=CURVE_HEIGHT, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", y=-0.2), uirevision="curves")
    return fig


def lr_figure(lrs: Sequence[float], schedule: str) -> go.Figure:
    """The learning rate per epoch a schedule will give (plateau: drops only when validation stalls)."""
    fig = go.Figure(go.Scatter(x=list(range(1, len(lrs) + 1)), y=list(lrs), mode="lines",
                               line_shape="hv", line_color=COLORS[0]))
    title = "learning rate per epoch" + (" (drops ×0.1 when validation stalls)" if schedule == "plateau" else "")
    fig.update_layout(height=220, margin=dict(l=10, r=10, t=40, b=10), title=title,
                      xaxis_title="epoch", yaxis_type="log")
    return fig
