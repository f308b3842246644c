"""Plotly figures of a forecaster: its forecasts against the actual values over the test part, the residuals,
and a forecast from a given history (the Playground)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nnlab.views.plots import COLORS, CURVE_HEIGHT, MARGIN


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
