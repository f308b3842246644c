"""AppTest of the Results page on tiny real runs: report, confusion-matrix cell selection, examples, forecasts."""

from __future__ import annotations

import html
import re

import pytest
from streamlit.testing.v1 import AppTest

from nnlab.engine.metrics import cell_examples
from nnlab.store.runs import RunStore
from tests.trained import TABULAR_CLASSES, open_page

PAGE = "../pages/2_Results.py"
pytestmark = pytest.mark.usefixtures("fresh_caches")


def _open(run_id: str | None = None) -> AppTest:
    return open_page(PAGE, run_id)


def _subheaders(at: AppTest) -> list[str]:
    return [s.value for s in at.subheader]


def _examples_header(at: AppTest) -> str | None:
    return next((s for s in _subheaders(at) if s.startswith("Test examples: true ")), None)


def _select_cell(at: AppTest, run_id: str, true: int, pred: int, n: int) -> AppTest:
    """What a click on a cell sends: the chart's selection with that cell's customdata."""
    i = true * n + pred
    at.session_state[f"results_cm_chart_{run_id}_0"] = {
        "selection": {
            "points": [{"customdata": [true, pred], "point_index": i}],
            "point_indices": [i],
            "box": [],
            "lasso": [],
        }
    }
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_no_runs_says_where_to_start():
    at = _open()
    assert "Train page" in at.info[0].value


def test_classification_report_and_headline(trained):
    at = _open(trained["digits"])
    assert _subheaders(at)[:3] == [
        "MLP on Handwritten digits \\(scikit-learn\\)",
        "Confusion matrix",
        "Classification report",
    ]
    assert [m.label for m in at.metric][:3] == ["test accuracy", "balanced accuracy", "macro F1"]
    table = at.dataframe[0].value
    assert list(table["class"]) == [str(d) for d in range(10)] + ["accuracy", "macro avg", "weighted avg"]
    assert list(table.columns) == ["class", "precision", "recall", "F1", "support"]
    assert _examples_header(at) is None  # nothing chosen yet
    assert {d.label for d in at.get("download_button")} == {
        "⬇️ Weights (model.pt state dict)",
        "⬇️ HTML report",
        "⬇️ Code (train.py folder, zip)",
        "⬇️ TorchScript model (zip)",
        "⬇️ torch.export model (zip)",
    }


def test_clicking_a_cell_shows_its_image_examples_most_confident_first(trained, workspace):
    run_id = trained["digits"]
    res = RunStore(workspace).folder(run_id).read_results()
    at = _select_cell(_open(run_id), run_id, 3, 3, 10)
    assert _examples_header(at) == "Test examples: true 3, predicted 3"
    body = " ".join(h.proto.body for h in at.get("html"))
    n = int(((res.predictions.y_true == 3) & (res.predictions.y_pred == 3)).sum())
    cards = re.findall(r"<img[^>]*><figcaption>[^<]* · p=\d+%", body)  # a thumbnail over its caption, in cards
    assert len(cards) == min(n, 24)  # that wrap (the label errors' gallery has no p=)
    assert at.selectbox(key=f"results_cell_true_{run_id}").value == 3  # the picker follows the click
    captions = [c.value for c in at.caption]
    assert any(c.startswith(f"{n} test example{'' if n == 1 else 's'},") for c in captions)


def test_cell_picker_and_biggest_mistake_for_keyboard_users(trained):
    run_id = trained["reviews"]
    at = _open(run_id)
    at.selectbox(key=f"results_cell_true_{run_id}").set_value(1)
    at.selectbox(key=f"results_cell_pred_{run_id}").set_value(0).run()
    assert _examples_header(at) == "Test examples: true positive, predicted negative"
    at.button[0].click().run()  # "Biggest mistake"
    header = _examples_header(at)
    assert header is not None and header.split(", ")[0] != header.split("predicted ")[1]
    t, p = at.selectbox(key=f"results_cell_true_{run_id}").value, at.selectbox(key=f"results_cell_pred_{run_id}").value
    res = RunStore().folder(run_id).read_results()
    pr = res.predictions
    shown = cell_examples(pr.y_true, pr.y_pred, pr.probs, t, p)[:24]
    body = " ".join(h.proto.body for h in at.get("html"))
    assert len(shown) and not any("review" in d.value.columns for d in at.dataframe)  # no clipped table cells
    places = [body.index(f"<b>row {pr.index[i]} · P({res.classes[p]})") for i in shown]  # its row in the data
    assert places == sorted(places)  # most confident first
    for i in shown:  # each review whole, wrapped by the page, not cut at a cell's edge
        assert html.escape(str(res.examples.texts[i]), quote=True) in body


def test_feature_rows_and_escaped_class_names(trained):
    run_id = trained["iris"]
    at = _open(run_id)
    classes = sorted(TABULAR_CLASSES)  # the CSV loader orders labels
    assert list(at.dataframe[0].value["class"][:3]) == classes
    t = classes.index("<b>versi</b>color")
    at = _select_cell(at, run_id, t, t, 3)
    # markdown source with the tags escaped, so the page shows "<b>versi</b>color" as typed, not bold
    shown = r"\<b\>versi\</b\>color"
    assert _examples_header(at) == f"Test examples: true {shown}, predicted {shown}"
    rows = at.dataframe[-1].value
    assert "petal length" in rows.columns


def test_regression_shows_forecast_residuals_and_naive(trained):
    at = _open(trained["series"])
    assert _subheaders(at)[:3] == ["LSTM \\(time series\\) on series.csv", "Forecast against actual", "Residuals"]
    labels = [m.label for m in at.metric]
    assert labels[:2] == ["test RMSE", "naive RMSE"] and "R²" in labels
    assert len(at.get("plotly_chart")) >= 2


def test_failed_run_shows_its_reason_and_running_run_links_to_live_view(trained):
    at = _open(trained["failed"])
    assert at.error[0].value.replace("\\", "") == "Training diverged in epoch 3: lower the learning rate."
    at = _open(trained["running"])
    assert "results appear here when it ends" in at.info[0].value
    assert any("live view" in m.value for m in at.markdown) or at.get("page_link")


def test_switching_counts_to_shares_keeps_the_chosen_cell(trained):
    run_id = trained["shapes"]
    at = _select_cell(_open(run_id), run_id, 0, 1, 4)
    header = _examples_header(at)
    at.radio(key="results_cm_mode").set_value("share of true class").run()
    assert _examples_header(at) == header


def test_a_link_to_a_run_not_in_the_store_says_so_and_shows_no_other_run(trained):
    """Issue 21: /Results?run=<unknown> showed the newest run as if it were the one asked for."""
    at = _open("20990101-000000-dead")
    assert "not in the store" in at.warning[0].value and "dead" not in at.warning[0].value
    assert at.selectbox(key="run_picker").value is None
    assert not at.subheader and not at.get("plotly_chart") and not at.dataframe
    at.selectbox(key="run_picker").set_value(trained["digits"]).run()
    assert not at.warning and at.query_params["run"] in (trained["digits"], [trained["digits"]])
