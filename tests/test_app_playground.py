"""Playground page (AppTest, tiny real runs): each kind of model answers a new input."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from nnlab.store.runs import RunStore
from tests.trained import open_page

PAGE = "../pages/4_Playground.py"
pytestmark = pytest.mark.usefixtures("fresh_caches")


def _open(run_id: str | None = None) -> AppTest:
    return open_page(PAGE, run_id)


def test_no_model_yet():
    assert "No trained model yet" in _open().info[0].value


def test_only_finished_models_are_offered(trained):
    options = _open().selectbox(key="playground_run").options
    assert len(options) == 6 and not any(trained[k] in o for o in options for k in ("failed", "running"))


def test_test_image_gets_the_same_class_as_in_the_report(trained, workspace):
    run_id = trained["digits"]
    res = RunStore(workspace).folder(run_id).read_results()
    at = _open(run_id)
    at.number_input(key="playground_test_index").set_value(5).run()
    assert at.metric[0].label == "Prediction"
    assert at.metric[0].value == res.classes[int(res.predictions.y_pred[5])]
    assert f"true class {res.classes[int(res.predictions.y_true[5])]}" in at.get("image")[0].proto.imgs[0].caption


def test_a_typed_review_gets_class_probabilities(trained):
    at = _open(trained["reviews"])
    at.text_area(key="playground_text").input("the plot was not bad but the acting was zzzunknown").run()
    assert at.metric[0].value in ("negative", "positive")
    assert any("1 of 10 words are not in the model's vocabulary" in c.value for c in at.caption)
    assert at.get("plotly_chart")
    at.text_area(key="playground_text").input("").run()
    assert not at.metric


def test_feature_rows_are_classified(trained):
    at = _open(trained["iris"])
    assert list(at.dataframe[0].value.columns) == ["sepal length", "sepal width", "petal length", "petal width"]
    table = at.dataframe[-1].value  # the first is the editable input
    assert list(table.columns[:2]) == ["row", "prediction"] and len(table) == 3
    shown = at.metric[0].value.replace("\\", "")  # escaped markdown: a tag in a class name shows as typed
    assert at.metric[0].label == "Prediction for row 1" and shown == table["prediction"].iloc[0]
    assert any(c.value.startswith("This table is yours to edit") for c in at.caption)  # issue 21: say so


def test_the_headline_prediction_names_its_row_and_follows_the_selected_one(trained):
    at = _open(trained["iris"])
    table = at.dataframe[-1].value
    at.session_state["playground_rows_pick"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    shown = at.metric[0].value.replace("\\", "")
    assert at.metric[0].label == "Prediction for row 3" and shown == table["prediction"].iloc[2]
    assert any("every row" in c.value for c in at.caption)


def test_series_forecast_length_follows_the_slider(trained):
    at = _open(trained["series"])
    at.slider(key="playground_steps").set_value(5).run()
    assert len(at.dataframe[0].value) == 8  # the editable window
    assert len(at.dataframe[-1].value) == 5
    assert at.get("plotly_chart")
    assert not at.error


def test_uploaded_image_and_a_file_that_is_not_one(trained):
    at = _open(trained["shapes"])
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buf, format="PNG")
    at.get("file_uploader")[0].upload("red.png", buf.getvalue(), "image/png").run()
    assert not at.exception and at.metric[0].value in ("circle", "square", "triangle", "cross")
    at.get("file_uploader")[0].upload("fake.png", b"not a png", "image/png").run()
    assert "not an image" in at.error[0].value


def test_a_link_to_a_run_without_a_model_says_so_and_shows_no_other_model(trained):
    """Issue 21: a ?run= the Playground cannot try (a failed run, a deleted one) showed another model instead."""
    for run_id in (trained["failed"], "20990101-000000-dead"):
        at = open_page(PAGE, run_id)
        assert "no trained model" in at.warning[0].value and run_id not in at.warning[0].value
        assert at.selectbox(key="playground_run").value is None and not at.get("plotly_chart")


@pytest.mark.slow
def test_a_blended_series_run_fits_its_classical_forecaster_on_the_whole_series_before_the_window(workspace):
    """The editable window is 8 values: a classical forecaster fit on those alone finds no season and forecasts
    far from the run's saved forecasts; the Playground fits it on the run's series before the window and on it."""

    from nnlab.data.registry import make_config
    from nnlab.engine.predict import Predictor
    from nnlab.engine.runner import execute

    store = RunStore(workspace)
    cfg = make_config("ts-lstm", window=8, hidden=32, epochs=2, threads=1)  # blends by default
    run_id = store.create(cfg)
    store.claim_queued(run_id)
    assert execute(store, run_id).status == "finished"
    res = store.folder(run_id).read_results()
    assert res.report["blend"]["weight"] < 1
    at = _open(run_id)
    at.slider(key="playground_steps").set_value(1).run()
    assert not at.error and not at.exception
    assert any("fit on the run's" in c.value for c in at.caption)
    shown = at.dataframe[-1].value["forecast"].iloc[0]
    predictor = Predictor.from_run(store.folder(run_id), cfg)
    series = res.examples.series
    assert shown == pytest.approx(predictor.predict_window(series)[0], rel=1e-9)
    assert shown != pytest.approx(predictor.predict_window(series[-8:])[0], rel=1e-6)  # not the window alone

    downloads = AppTest.from_function(_downloads, args=(run_id,), default_timeout=60).run()  # on its Results page
    buttons = {b.key: b for b in downloads.get("download_button")}
    assert not buttons["dl_export_torch-export"].disabled and not buttons["dl_export_torchscript"].disabled
    code = buttons["dl_export_script"]  # the training script trains the network alone: said in the form's words
    assert code.disabled and '"Classical forecaster" set to "None: network alone"' in code.help
    assert "--" not in code.help


def _downloads(run_id: str) -> None:
    """The Results page's export downloads of one run, alone (an AppTest script)."""
    from nnlab.ui import store
    from nnlab.ui.downloads import export_downloads

    export_downloads(store().get(run_id))


@pytest.mark.slow
def test_a_series_of_several_columns_asks_for_the_other_columns_instead_of_an_error(workspace, tmp_path):
    """Only the target's recent values are kept with a run: the Playground opened on an error ("empty values")
    before the user could type anything; it now says which columns to fill, or to upload the CSV."""
    import numpy as np
    import pandas as pd

    from nnlab.data.registry import make_config
    from nnlab.engine.runner import execute

    rng, t = np.random.default_rng(0), np.arange(300)
    temp = 10 + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.5, 300)
    sales = 50 + 0.1 * t + 0.5 * temp + rng.normal(0, 1, 300)
    pd.DataFrame({"temp": temp, "sales": sales}).to_csv(tmp_path / "two.csv", index=False)
    store = RunStore(workspace)
    cfg = make_config("ts-lstm", dataset="series-csv", data_path=str(tmp_path / "two.csv"), target="sales")
    run_id = store.create(cfg.replace(window=8, hidden=32, epochs=1, threads=1))
    store.claim_queued(run_id)
    assert execute(store, run_id).status == "finished"
    at = _open(run_id)
    assert not at.error
    assert any("also reads temp" in i.value and "upload the series" in i.value for i in at.info)


def test_a_series_of_several_columns_forecasts_its_horizon_without_a_slider_it_cannot_follow(workspace, tmp_path):
    """Sales with a temperature column: the Playground showed 'Steps to forecast' at 12, greyed out, above a
    forecast of 1 step; with a horizon of 3 it still showed 1. It now says the model forecasts its horizon, and
    shows all of it."""
    import numpy as np
    import pandas as pd

    from nnlab.data.registry import make_config
    from nnlab.engine.runner import execute

    rng, t = np.random.default_rng(0), np.arange(200)
    frame = pd.DataFrame({"sales": 50 + 0.1 * t + rng.normal(0, 1, 200), "temp": 10 + rng.normal(0, 1, 200)})
    frame.to_csv(tmp_path / "two.csv", index=False)
    store = RunStore(workspace)
    cfg = make_config("ts-lstm", dataset="series-csv", data_path=str(tmp_path / "two.csv"), target="sales")
    run_id = store.create(cfg.replace(window=8, horizon=3, hidden=32, epochs=1, threads=1, classical="none"))
    store.claim_queued(run_id)
    assert execute(store, run_id).status == "finished"
    at = _open(run_id)
    at.get("file_uploader")[0].upload("two.csv", (tmp_path / "two.csv").read_bytes(), "text/csv").run()
    assert not at.error and not at.exception, [e.value for e in at.error]
    assert not [s for s in at.slider if s.label == "Steps to forecast"]
    assert any("forecasts its horizon: the next 3 steps" in c.value for c in at.caption)
    assert len(at.dataframe[-1].value) == 3


def test_a_series_csv_is_read_as_the_run_read_its_data(trained, workspace, tmp_path):
    """The series CSV a run trained on, saved the European way (`;`, decimal commas) with its rows newest first,
    was refused on upload ('lacks the column(s) value the model was trained on'): pandas read it with commas. It is
    read as training reads a file, and forecasts as the run's own values do."""
    import numpy as np
    import pandas as pd

    from nnlab.engine.predict import Predictor

    rec = RunStore(workspace).get(trained["series"])
    values = pd.read_csv(rec.config.data_path)["value"].to_numpy()
    lines = [f"{i};{v:.6f}".replace(".", ",") for i, v in enumerate(values)]
    text = "\n".join(["day;value", *reversed(lines)]) + "\n"
    at = _open(rec.run_id)
    at.get("file_uploader")[0].upload("european.csv", text.encode(), "text/csv").run()
    assert not at.error and not at.exception, [e.value for e in at.error]
    shown = at.dataframe[-1].value["forecast"].to_numpy()
    predictor = Predictor.from_run(RunStore(workspace).folder(rec.run_id), rec.config)
    np.testing.assert_allclose(shown, predictor.forecast(np.round(values, 6), len(shown)), rtol=1e-6)


def test_a_tiff_scan_can_be_tried_as_the_run_could_train_on_one(trained):
    """A folder of TIFF scans trains (the loader reads what PIL reads), but the Playground's uploader took only
    png, jpg, jpeg, bmp, gif and webp: a user could not try one of their own scans, while predict.py took it."""
    import numpy as np

    at = _open(trained["shapes"])
    buf = io.BytesIO()
    Image.fromarray(np.linspace(0, 65535, 40 * 40).reshape(40, 40).astype(np.uint16)).save(buf, format="TIFF")
    at.get("file_uploader")[0].upload("scan.TIF", buf.getvalue(), "image/tiff").run()
    assert not at.exception and not at.error
    assert at.metric[0].value in ("circle", "square", "triangle", "cross")
