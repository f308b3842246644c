"""Plotly figures of the user's data before training (the Train form's look at an upload); no Streamlit here."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from nnlab.views.plots import COLORS, MARGIN, plotly_text


def series_figure(values: np.ndarray, name: str, bounds: tuple[int, int], height: int = 260) -> go.Figure:
    """The series over its time steps, with the validation (light) and test (darker) parts shaded; bounds: the
    steps where they begin."""
    label = plotly_text(name)  # a column named "<b>" shows as typed
    fig = go.Figure(go.Scatter(y=values, mode="lines", line_color=COLORS[0], name=label))
    val_start, test_start = bounds
    for start, end, shade in ((val_start, test_start, 0.1), (test_start, len(values), 0.22)):
        if end > start:  # validation lightly shaded, test darker (the caption beside the chart says so)
            fig.add_vrect(x0=start - 0.5, x1=end - 0.5, fillcolor="#6B7280", opacity=shade, line_width=0)
    fig.update_layout(height=height, margin=MARGIN, showlegend=False, xaxis_title="time step", yaxis_title=label)
    return fig.update_xaxes(range=[-0.5, len(values) - 0.5])  # the labels of narrow bands never widen the axis
