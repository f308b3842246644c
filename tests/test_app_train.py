"""AppTest of the Train page: the form, its validation and preview, starting a run, and the live view."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from nnlab.core.records import ACTIVE
from nnlab.data import DATASETS, load_dataset
from nnlab.jobs.manager import JobManager
from nnlab.models import build_model, count_parameters
from nnlab.store.runs import RunStore
from tests.helpers import app_at, tiny_config, visible, wait_until

TRAIN_PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "1_Train.py")


@pytest.fixture(autouse=True)
def fresh_caches():
    """AppTest shares st.cache_resource across instances in one process: a new job manager per test."""
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def train_page(run_id: str | None = None) -> AppTest:
    return app_at(TRAIN_PAGE, run_id).run()


def texts(elements) -> list[str]:
    """What each element shows (its markdown's escapes resolved)."""
    return [visible(e.value) for e in elements]


def wait_for(at: AppTest, run_id: str, statuses: tuple[str, ...], timeout: float = 120) -> str:
    """Rerun the page (AppTest ignores run_every) until the run reaches one of statuses; returns it."""
    store = RunStore()
    wait_until(lambda: at.run() and store.get(run_id).status in statuses, f"one of {statuses}", timeout, every=0.3)
    status = store.get(run_id).status
    at.run()
    store.close()
    return status


def test_form_offers_fitting_architectures_and_previews_parameters():
    at = train_page()
    assert not at.exception
    assert at.selectbox("tr_dataset").value == "digits"
    assert at.radio("tr_arch").options == ["MLP", "CNN", "ResNet-18 (transfer)"]
    cfg = tiny_config("mlp", hidden_sizes=(256, 128, 64), epochs=20)
    expected = count_parameters(build_model(cfg, load_dataset(cfg).facts))
    assert {m.label: m.value for m in at.metric}["Parameters"] == f"{expected:,}"
    assert not at.button("tr_start").disabled

    at.selectbox("tr_dataset").set_value("reviews").run()
    assert at.radio("tr_arch").options == ["LSTM (text)"]
    assert not at.exception


@pytest.mark.slow
def test_the_architecture_follows_the_dataset_visibly_and_comes_back_where_it_fits():
    at = train_page()
    at.radio("tr_arch").set_value("cnn").run()
    at.selectbox("tr_dataset").set_value("reviews").run()
    assert at.radio("tr_arch").value == "lstm" and at.radio("tr_arch").options == ["LSTM (text)"]
    moved = " ".join(i.value for i in at.info if "does not fit" in i.value)
    assert moved.startswith("CNN does not fit the dataset Movie reviews") and "LSTM (text) is selected" in moved
    assert not at.button("tr_start").disabled  # the form holds a config that trains

    at.selectbox("tr_dataset").set_value("shapes").run()  # CNN fits again: the user's choice is back
    assert at.radio("tr_arch").value == "cnn"
    assert not any("does not fit" in i.value for i in at.info)
    assert not at.exception


def test_every_registered_dataset_renders_its_own_fields():
    at = train_page()
    for name, spec in DATASETS.items():
        at.selectbox("tr_dataset").set_value(name).run()
        assert not at.exception, name
        if spec.needs == "data_path":  # nothing uploaded yet: a hint, and no start
            assert any("Upload" in t for t in texts(at.info)), name
            assert at.button("tr_start").disabled, name
        for option in spec.options:
            widgets = [*at.text_input, *at.number_input, *at.select_slider, *at.selectbox, *at.toggle]
            assert any(option in w.key for w in widgets), (name, option)


def test_uploaded_csv_is_saved_in_the_workspace_and_previewed(workspace):
    rows = ["a,b,label"] + [f"{i % 7},{(i * 3) % 5},{'yes' if i % 2 else 'no'}" for i in range(60)]
    at = train_page()
    at.selectbox("tr_dataset").set_value("csv").run()
    at.file_uploader[0].upload("my table.csv", "\n".join(rows).encode(), "text/csv").run()
    assert not at.exception
    assert not at.error and all("fitted to the data" in i.value for i in at.info)  # the data notes only
    saved = list((workspace / "uploads").glob("*/my table.csv"))
    assert len(saved) == 1
    assert {m.label for m in at.metric} == {"Parameters", "Steps per epoch"}
    assert not at.button("tr_start").disabled

    at.radio("tr_source_csv").set_value("path").run()  # or a path on this machine
    at.text_input("tr_csv_data_path").set_value(str(workspace / "missing.csv")).run()
    assert "does not exist" in at.error[0].value
    at.text_input("tr_csv_data_path").set_value(str(saved[0])).run()
    assert not at.error and not at.button("tr_start").disabled


def test_a_series_of_two_columns_opens_on_one_to_forecast_not_on_a_false_automatic(workspace):
    """date,sales,temp: 'Column to forecast' offered 'Automatic (the only column of numbers besides time)', false for
    this file, and the form opened on the error it caused. The form now picks its first column to forecast, offers
    only the two, and keeps the automatic choice for a file with one (year,value)."""
    from datetime import date, timedelta

    from nnlab.ui.fields import field_key

    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(150)]
    rows = ["date,sales,temp"] + [f"{d},{100 + i % 7 * 3},{10 + i % 5}" for i, d in enumerate(days)]
    at = train_page()
    at.selectbox("tr_dataset").set_value("series-csv").run()
    at.file_uploader[0].upload("sales.csv", "\n".join(rows).encode(), "text/csv").run()
    target = at.selectbox(field_key("target", "ts-lstm", "series-csv"))
    assert target.value == "sales" and target.options == ["sales", "temp"]
    assert not at.error and not at.exception and not at.button("tr_start").disabled, [e.value for e in at.error]
    at.file_uploader[0].upload(
        "yearly.csv", "\n".join(["year,value"] + [f"{1900 + i},{i % 9}" for i in range(80)]).encode(), "text/csv"
    ).run()
    target = at.selectbox(field_key("target", "ts-lstm", "series-csv"))
    assert target.value == "" and not at.error


def test_out_of_range_value_names_the_field_and_expert_mode_widens():
    at = train_page()
    at.text_input("tr_mlp_hidden_sizes").set_value("5000,64").run()
    errors = texts(at.error)
    assert errors == [
        'Hidden layer size 5000 is outside 32 to 1024; pick a value in range or turn on "Expert mode: wider ranges".'
    ]
    assert at.button("tr_start").disabled

    at.toggle("tr_expert").set_value(True).run()
    assert not at.error
    assert not at.button("tr_start").disabled

    at.text_input("tr_mlp_hidden_sizes").set_value("64").run()
    at.select_slider("tr_lr").set_value(1e-5).run()  # expert-only, then expert mode off: kept, and refused
    at.toggle("tr_expert").set_value(False).run()
    assert texts(at.error) == [
        'Learning rate 1e-05 is outside 0.0001 to 0.01; pick a value in range or turn on "Expert mode: wider ranges".'
    ]
    assert at.select_slider("tr_lr").value == 1e-5
    at.select_slider("tr_lr").set_value(1e-3).run()

    at.text_input("tr_mlp_hidden_sizes").set_value("64,lots").run()
    assert texts(at.error) == ["Hidden layer sizes must be whole numbers separated by commas, like 256,128,64."]


@pytest.mark.slow
def test_start_a_tiny_run_and_watch_it_finish():
    at = train_page()
    at.text_input("tr_mlp_hidden_sizes").set_value("32").run()
    at.number_input("tr_epochs").set_value(2).run()
    at.button("tr_start").click().run()
    assert not at.exception
    run_id = at.query_params["run"][0] if isinstance(at.query_params["run"], list) else at.query_params["run"]
    assert any(run_id in s.value for s in at.success)  # the action confirms itself

    assert wait_for(at, run_id, ("finished",)) == "finished"
    rec = RunStore().get(run_id)
    assert rec.config.hidden_sizes == (32,) and rec.config.epochs == 2 and rec.epochs_done == 2
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test accuracy"].endswith("%") and metrics["Epochs"] == "2"
    assert at.get("plotly_chart")  # the curves


def test_live_view_of_a_finished_run_and_train_again(workspace):
    jobs = JobManager(RunStore(workspace))
    run_id = jobs.submit(tiny_config("mlp", hidden_sizes=(48,)))
    assert jobs.wait(run_id).status == "finished"
    jobs.shutdown()

    at = train_page(run_id)
    assert not at.exception
    assert "MLP on Handwritten digits" in at.subheader[0].value
    assert [b.label for b in at.button if b.key == "tr_stop"] == []
    at.button("tr_again").click().run()  # back to the form, holding this run's settings
    assert "run" not in at.query_params
    assert at.text_input("tr_mlp_hidden_sizes").value == "48"
    assert at.number_input("tr_epochs").value == 2
    assert any(run_id in i.value for i in at.info)


@pytest.mark.slow
def test_stop_resume_and_delete_a_run():
    at = train_page()
    at.text_input("tr_mlp_hidden_sizes").set_value("32").run()
    at.number_input("tr_epochs").set_value(200).run()
    at.button("tr_start").click().run()
    run_id = at.query_params["run"]
    run_id = run_id[0] if isinstance(run_id, list) else run_id
    assert wait_for(at, run_id, ("running",)) == "running"

    at.button("tr_stop").click().run()
    assert any("will stop" in t.value or "removed" in t.value for t in at.toast)
    assert wait_for(at, run_id, ("stopped",)) == "stopped"
    assert not at.exception

    at.button("tr_resume").click().run()
    assert any("resumed" in s.value for s in at.success)
    assert RunStore().get(run_id).status in ACTIVE
    at.button("tr_stop").click().run()
    assert wait_for(at, run_id, ("stopped",)) == "stopped"

    at.button("tr_delete_confirm").click().run()
    assert RunStore().find(run_id) is None
    assert any("deleted" in s.value for s in at.success)
    assert "run" not in at.query_params


def test_unknown_run_in_the_url_says_so():
    at = train_page("20000101-000000-dead")
    assert not at.exception
    assert "not in the store" in at.warning[0].value


@pytest.mark.slow
def test_live_view_of_a_finished_regressor(workspace):
    jobs = JobManager(RunStore(workspace))
    run_id = jobs.submit(tiny_config("ts-lstm"))
    assert jobs.wait(run_id).status == "finished"
    jobs.shutdown()

    at = train_page(run_id)
    assert not at.exception
    assert float({m.label: m.value for m in at.metric}["Test RMSE"]) > 0


def test_fields_that_depend_on_another_appear_when_it_applies():
    at = train_page()
    labels = {n.label for n in at.number_input}
    assert "LR patience" in labels and "Momentum" not in labels and "Step size" not in labels
    at.selectbox(key="tr_optimizer").set_value("sgd").run()
    at.selectbox(key="tr_schedule").set_value("step").run()
    labels = {n.label for n in at.number_input}
    assert {"Momentum", "Step size", "Gamma"} <= labels and "LR patience" not in labels
    assert not at.exception


@pytest.mark.slow
def test_seeds_start_one_group_of_runs_with_consecutive_seeds():
    from nnlab.analysis.groups import group_id

    at = train_page()
    at.text_input("tr_mlp_hidden_sizes").set_value("32").run()
    at.number_input("tr_epochs").set_value(1).run()
    at.number_input("tr_seeds").set_value(3).run()
    assert at.button("tr_start").label == "Start 3 runs"
    at.button("tr_start").click().run()
    assert not at.exception
    store = RunStore()
    runs = sorted(store.list(), key=lambda r: r.config.seed)
    assert [r.config.seed for r in runs] == [0, 1, 2] and len({group_id(r.config) for r in runs}) == 1
    assert any("3 runs queued" in s.value and group_id(runs[0].config) in s.value for s in at.success)
    for rec in runs:  # let the background jobs end before the workspace goes away
        assert wait_for(at, rec.run_id, ("finished",)) == "finished"
