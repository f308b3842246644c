"""Figures built from arrays: the clickable confusion matrix, comparisons, forecasts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nnlab.core.records import EpochRecord
from nnlab.views.comparison_plots import f1_change_figure
from nnlab.views.plots import confusion_figure, f1_figure, probability_figure
from nnlab.views.runs_plots import parallel_figure
from nnlab.views.series_plots import forecast_figure, forecast_vs_actual_figure, residuals_figure

CONF = [[5, 1, 0], [2, 3, 0], [0, 0, 0]]
CLASSES = ["cat", "dog", "<b>bird</b>"]


def _cells(fig: go.Figure) -> go.Scatter:
    return next(t for t in fig.data if isinstance(t, go.Scatter))


def test_confusion_cells_are_clickable_scatter_points_with_true_and_predicted():
    fig = confusion_figure(CONF, CLASSES)
    cells = _cells(fig)
    assert cells.marker.symbol.startswith("square")
    assert len(cells.customdata) == 9
    assert [list(c) for c in cells.customdata[:4]] == [[0, 0], [0, 1], [0, 2], [1, 0]]
    assert "2 test examples" in cells.hovertext[3] and "40.0% of true dog" in cells.hovertext[3]
    assert "66.7% of predicted cat" in cells.hovertext[0] or "71.4% of predicted cat" in cells.hovertext[0]
    assert fig.layout.clickmode == "event+select"


def test_confusion_figure_is_identical_across_reruns_and_escapes_labels():
    assert confusion_figure(CONF, CLASSES).to_json() == confusion_figure(CONF, CLASSES).to_json()
    fig = confusion_figure(CONF, CLASSES, normalized=True)
    heat = next(t for t in fig.data if isinstance(t, go.Heatmap))
    np.testing.assert_allclose(np.asarray(heat.z).sum(axis=1), [1, 1, 0])  # an empty class stays 0
    assert "&lt;b&gt;bird&lt;/b&gt;" in heat.x and "<b>bird</b>" not in heat.x
    assert heat.text[0][0] == "83%"


def test_class_names_show_as_typed_and_a_long_one_leaves_the_matrix_its_room():
    """Issue 21 item 9: '&quot;' showed in the axes; a 60-character class name shrank the matrix to a dot."""
    long = "versicolor with a name that runs on and on for sixty chars.."
    classes = ['setosa "the quoted one"', long, "<b>x</b>"]
    fig = confusion_figure(CONF, classes)
    short = confusion_figure(CONF, ["a", "b", "c"])
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        assert axis.ticktext[0] == 'setosa "the quote…' and axis.ticktext[2] == "&lt;b&gt;x&lt;/b&gt;"
        assert max(len(t) for t in axis.ticktext) <= 20 and list(axis.tickvals)[1].startswith("versicolor with a name")
    assert '"the quoted one"' in _cells(fig).hovertext[0] and "&quot;" not in "".join(_cells(fig).hovertext)
    assert long in _cells(fig).hovertext[4]  # the hover names the class whole
    assert fig.layout.width > short.layout.width  # room for the labels beside cells of the same size
    bars = f1_figure({'a "b"': 0.5, long: 1.0})
    assert bars.layout.xaxis.ticktext[0] == 'a "b"' and len(bars.layout.xaxis.ticktext[1]) <= 18


def test_f1_and_probability_bars():
    fig = f1_figure({"a": 0.5, "b": 1.0})
    assert list(fig.data[0].y) == [0.5, 1.0]
    probs = probability_figure([0.1, 0.7, 0.2], ["x", "y", "z"])
    assert list(probs.data[0].y) == ["y", "z", "x"]  # most likely first


def test_f1_change_and_confusion_difference_signs():
    fig = f1_change_figure({"a": 0.5, "b": 0.9}, {"a": 0.7, "b": 0.8}, "A", "B")
    np.testing.assert_allclose(fig.data[0].y, [0.2, -0.1])
    assert list(fig.data[0].marker.color) == ["#10B981", "#EF4444"]


def test_parallel_coordinates_numeric_and_categorical_axes():
    table = pd.DataFrame({"lr": [1e-3, 3e-3], "optimizer": ["adam", "sgd"], "test_value": [0.9, 0.8]})
    fig = parallel_figure(table, "test_value", "test accuracy")
    dims = fig.data[0].dimensions
    assert [d.label for d in dims] == ["lr", "optimizer", "test accuracy"]
    assert list(dims[1].ticktext) == ["adam", "sgd"]


def test_forecast_figures():
    t = np.arange(10, 20)
    y = np.arange(10, dtype=float)[:, None]
    fig = forecast_vs_actual_figure(t, y, y + 0.5, y - 1, series=np.arange(20.0))
    assert [d.name for d in fig.data] == ["before the test part", "actual", "model", "naive (last value)"]
    res = residuals_figure(t, y, y + 0.5, y - 1)
    np.testing.assert_allclose(res.data[0].y, 0.5)
    fc = forecast_figure(np.arange(5.0), np.array([5.0, 6.0]))
    assert list(fc.data[1].x) == [4, 5, 6]


def test_curves_legend_names_the_losses_and_epochs_are_whole_numbers():
    from nnlab.views.plots import curves_figure

    hist = [EpochRecord(e, 1.5 / e, 1.6 / e, 0.5 + e / 10, 1e-3, 1.0, 100.0) for e in (1, 2)]
    fig = curves_figure(hist, "classification")
    assert [t.name for t in fig.data if t.showlegend is not False] == ["train loss", "val loss"]
    for axis in (fig.layout.xaxis, fig.layout.xaxis2):
        assert (axis.tick0, axis.dtick) == (1, 1) and tuple(axis.range) == (0.5, 2.5)  # no 0.5, no epoch 0
    assert fig.layout.yaxis2.autorangeoptions.clipmin == 0 and fig.layout.yaxis2.autorangeoptions.clipmax == 1
    assert curves_figure(hist, "regression").layout.yaxis2.autorangeoptions.clipmax is None
    assert tuple(curves_figure(hist, last=20).layout.xaxis.range) == (0.5, 20.5)  # the live view's full axis


def test_parallel_coordinates_print_scores_with_three_decimals():
    table = pd.DataFrame({"lr": [1e-3, 3e-4], "test_score": [0.9703703, 0.9444444]})
    dims = parallel_figure(table, "test_score", "test accuracy").data[0].dimensions
    assert dims[1].tickformat == ".3f" and dims[0].tickformat == ".4~g"


def test_parallel_coordinates_leave_room_for_the_first_axis_names():
    """Compare's parallel coordinates of a run and its retrain without 14 doubtful rows cut the first axis's
    '1,2,4,5,35,60,61,…' to '5,35,60,61,…' at the figure's left edge."""
    table = pd.DataFrame({"exclude_rows": ["", "1,2,4,5,35,60,61,62"], "test_value": [0.81, 0.82]})
    fig = parallel_figure(table, "test_value", "test accuracy")
    longest = max(len(t) for t in fig.data[0].dimensions[0].ticktext)
    assert fig.layout.margin.l >= 7 * longest
    assert parallel_figure(table[["test_value"]].assign(lr=[1e-3, 1e-2]), "test_value", "x").layout.margin.l == 60


def test_a_seed_bands_outline_has_no_markers():
    from nnlab.views.comparison_plots import group_curves_figure

    def run(shift: float) -> list[EpochRecord]:
        return [EpochRecord(e, 1.0, 1.0 - e / 10 + shift, 0.5 + e / 10, 1e-3, 1.0, 100.0) for e in (1, 2, 3)]

    fig = group_curves_figure({"g-a": [run(0), run(0.1)], "g-b": [run(0.2), run(0.3)]}, "classification")
    bands = [t for t in fig.data if t.fill == "toself"]
    assert len(bands) == 4 and all(t.mode == "lines" for t in bands)  # markers showed at the band's corners
