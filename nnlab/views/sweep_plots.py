"""Figures of a sweep: best so far, every trial's validation curve (pruned ones marked), and Optuna's parallel
coordinates, slice and importance plots in the dashboard's look; no Streamlit here."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from nnlab.core.records import EpochRecord
from nnlab.sweeps.results import Trial
from nnlab.sweeps.space import label_of
from nnlab.views.plots import COLORS, CURVE_HEIGHT

OBJECTIVE_LABELS = {"val_loss": "validation loss", "val_accuracy": "validation accuracy", "val_rmse": "validation RMSE"}
STATE_COLORS = {"finished": COLORS[0], "pruned": "#A855F7", "failed": COLORS[3], "running": COLORS[4]}


def _layout(fig: go.Figure, x: str, y: str, height: int = CURVE_HEIGHT) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 50, "r": 20, "t": 30, "b": 45},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
    )
    fig.update_xaxes(title_text=x)
    fig.update_yaxes(title_text=y)
    return fig


def best_so_far_figure(points: list[tuple[int, float]], trials: list[Trial], objective: str) -> go.Figure:
    """Each finished trial's value (dots) and the best value so far (a step line), over trial numbers."""
    fig = go.Figure()
    done = [t for t in trials if t.value is not None]
    fig.add_trace(
        go.Scatter(
            x=[t.number for t in done],
            y=[t.value for t in done],
            mode="markers",
            name="trial",
            marker={"color": COLORS[0], "size": 8, "opacity": 0.6},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[n for n, _ in points],
            y=[v for _, v in points],
            mode="lines",
            line_shape="hv",
            name="best so far",
            line={"color": COLORS[1], "width": 3},
        )
    )
    return _layout(fig, "trial", OBJECTIVE_LABELS[objective])


def curves_figure(trials: list[Trial], histories: dict[str, list[EpochRecord]], objective: str) -> go.Figure:
    """Every trial's per-epoch objective; pruned trials dashed and ended with a cross where they were cut."""
    fig = go.Figure()
    for t in trials:
        run = t.runs[0]  # the run whose epochs fed the pruner
        history = histories.get(run.run_id, [])
        if not history:
            continue
        ys = [r.val_loss if objective == "val_loss" else r.val_metric for r in history]
        color = STATE_COLORS.get(t.state, COLORS[5])
        pruned = t.state == "pruned"
        fig.add_trace(
            go.Scatter(
                x=[r.epoch for r in history],
                y=ys,
                mode="lines" if len(history) > 2 else "lines+markers",  # one epoch: a dot, not nothing
                name=f"trial {t.number} ({t.state})",
                line={"color": color, "dash": "dot" if pruned else "solid", "width": 1.5},
                opacity=0.55 if pruned else 0.9,
                customdata=[run.run_id] * len(history),
                hovertemplate=f"trial {t.number} · {t.state}<br>epoch %{{x}}: %{{y:.4f}}<extra></extra>",
            )
        )
        if pruned:
            fig.add_trace(
                go.Scatter(
                    x=[history[-1].epoch],
                    y=[ys[-1]],
                    mode="markers",
                    marker={"symbol": "x", "size": 10, "color": color},
                    showlegend=False,
                    hovertemplate=f"trial {t.number} pruned after epoch {history[-1].epoch}<extra></extra>",
                )
            )
    fig.update_layout(showlegend=False)
    return _layout(fig, "epoch", OBJECTIVE_LABELS[objective])


def _restyle(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(height=height, template="plotly_white", margin={"l": 60, "r": 30, "t": 40, "b": 50}, title=None)
    return fig


def parallel_figure(study: Any, objective: str) -> go.Figure:
    """Optuna's parallel coordinates of the params against the objective (finished trials)."""
    from optuna.visualization import plot_parallel_coordinate

    return _restyle(plot_parallel_coordinate(study, target_name=OBJECTIVE_LABELS[objective]), 380)


def slice_figure(study: Any, objective: str) -> go.Figure:
    """Optuna's slice plot: the objective against each param, one panel per param."""
    from optuna.visualization import plot_slice

    return _restyle(plot_slice(study, target_name=OBJECTIVE_LABELS[objective]), 340)


def importance(study: Any) -> dict[str, float]:
    """Each param's importance to the objective (Optuna's default evaluator, fANOVA), seeded; {} when too few."""
    import optuna

    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(finished) < 3:
        return {}
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    return optuna.importance.get_param_importances(study, evaluator=evaluator)


def importance_figure(scores: dict[str, float]) -> go.Figure:
    """Param importances as horizontal bars, most important on top."""
    names = list(scores)[::-1]
    fig = go.Figure(
        go.Bar(
            x=[scores[n] for n in names],
            y=[label_of(n) for n in names],
            orientation="h",
            marker_color=COLORS[0],
            hovertemplate="%{y}: %{x:.2f}<extra></extra>",
        )
    )
    return _layout(fig, "importance (share of the objective's variance)", "", height=max(180, 60 + 40 * len(names)))
