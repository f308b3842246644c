"""Hyperparameters against the score over many runs: parallel coordinates, for Compare and sweeps (the curves of
many runs are comparison_plots.group_curves_figure)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from nnlab.views.plots import (
    plotly_text,
    short_label,
)


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
                    ticktext=[plotly_text(short_label(c)) for c in cats],
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
    fig.update_layout(height=380, margin=dict(l=_left_room(dims[0]) if dims else 60, r=40, t=50, b=20))
    return fig


def _left_room(first: dict) -> int:
    """The left margin: the first axis writes its category names to its left ('1, 2, 4, 5, 35, 60, 6…', the rows a
    retrained run left out, was cut to '5,35,60,61,…' by a fixed 60 px)."""
    names = first.get("ticktext") or []
    return max(60, 12 + 7 * max((len(n) for n in names), default=0))  # about 7 px a character at plotly's 12 px
