"""Plotly figures of the user's data before training (the Train form's look at an upload); no Streamlit here."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from nnlab.plots import COLORS, MARGIN


def series_figure(values: np.ndarray, name: str, bounds: tuple[int, int], height: int = 260) -> go.Figure:
    """The series over its time steps, with the validation and test parts shaded (they begin at bounds)."""
    label = html.escape(str(name))  # Plotly reads tags as markup; a column named "<b>" shows as typed
    fig = go.Figure(go.Scatter(y=values, mode="lines", line_color=COLORS[0], name=label))
    val_start, test_start = bounds
    for start, end, part in ((val_start, test_start, "validation"), (test_start, len(values), "test")):
        if end > start:
            fig.add_vrect(
                x0=start - 0.5, x1=end - 0.5, fillcolor="#9CA3AF", opacity=0.15 if part == "test" else 0.08,
                line_width=0, annotation_text=part, annotation_position="top left",
            )  # fmt: skip
    fig.update_layout(height=height, margin=MARGIN, showlegend=False, xaxis_title="time step", yaxis_title=label)
    return fig
