"""A run's name and note: uploads name runs by their file, users rename runs and note them in the dashboard or
on the command line, the store keeps both (older stores gain the columns), and tables, pickers and the report
show them as typed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nnlab.analysis.naming import default_name, run_name
from nnlab.cli.main import main
from nnlab.data.registry import make_config
from nnlab.store.runs import RunStore
from nnlab.views.report import build_report
from tests.helpers import tiny_config
from tests.trained import open_page

NAME, NOTE = "Iris <b>baseline</b> *v1*", "first try: lr 1e-3\nnext: more dropout"


def test_runs_on_uploaded_data_are_named_by_the_file_as_uploaded(store):
    saved = "/ws/uploads/0f1e2d3c4b5a/wine.csv"  # the dashboard keeps the uploaded name under a hash folder
    assert default_name(make_config("mlp", dataset="csv", data_path=saved)) == "MLP on wine.csv"
    older = "/ws/uploads/1ad203a93aba-wine.csv"  # as earlier dashboards saved uploads
    assert default_name(make_config("mlp", dataset="csv", data_path=older)) == "MLP on wine.csv"
    assert default_name(make_config("mlp", dataset="digits")) == "MLP on Handwritten digits (scikit-learn)"
    run_id = store.create(make_config("lstm", dataset="text-csv", data_path="/d/reviews.csv"))
    assert run_name(store.get(run_id)) == "LSTM (text) on reviews.csv"
    store.rename(run_id, "  Reviews, short  ", " a note ")
    assert run_name(store.get(run_id)) == "Reviews, short" and store.get(run_id).note == "a note"


def test_a_store_written_before_names_and_notes_keeps_its_runs_and_takes_them(workspace):
    store = RunStore(workspace)
    run_id = store.create(tiny_config())
    store.close()
    db = sqlite3.connect(workspace / "nnlab.db")
    db.execute("ALTER TABLE runs DROP COLUMN name")  # the store as an nnlab before names wrote it
    db.execute("ALTER TABLE runs DROP COLUMN note")
    db.commit()
    db.close()
    store = RunStore(workspace)
    rec = store.get(run_id)
    assert (rec.name, rec.note, rec.config) == ("", "", tiny_config())
    store.rename(run_id, NAME, NOTE)
    assert (store.get(run_id).name, RunStore(workspace).get(run_id).note) == (NAME, NOTE)


def test_the_command_line_names_and_notes_a_run_and_lists_them(workspace, capsys):
    args = ["train", "--arch", "mlp", "--dataset", "digits", "--hidden-sizes", "32", "--epochs", "1"]
    assert main([*args, "--name", "digits  quick", "--note", "one epoch only", "--json"]) == 0
    capsys.readouterr()
    assert main(["runs", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["name"], listed["note"]) == ("digits quick", "one epoch only")
    assert main(["runs"]) == 0
    assert capsys.readouterr().out.splitlines()[1].endswith("digits quick")


def test_the_report_carries_the_name_and_the_note_escaped(trained, workspace):
    store = RunStore(workspace)
    run_id = trained["iris"]
    html = build_report(store.get(run_id), store.folder(run_id).read_results(), [])
    assert "<h1>MLP on iris.csv</h1>" in html  # the uploaded file's name by default
    store.rename(run_id, NAME, NOTE)
    html = build_report(store.get(run_id), store.folder(run_id).read_results(), [])
    assert "<h1>Iris &lt;b&gt;baseline&lt;/b&gt; *v1*</h1>" in html and "<b>baseline" not in html
    assert "<p class='note'>first try: lr 1e-3\nnext: more dropout</p>" in html


def _save(at: AppTest, run_id: str, name: str, note: str) -> AppTest:
    at.text_input(key=f"run_name_{run_id}").input(name)
    at.text_area(key=f"run_note_{run_id}").input(note)
    at.button(key=f"run_save_{run_id}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.slow
@pytest.mark.usefixtures("fresh_caches")
def test_rename_and_note_on_the_results_page_show_in_the_tables_and_pickers(trained, workspace):
    run_id = trained["iris"]
    at = open_page("../pages/2_Results.py", run_id)
    assert at.subheader[0].value == "MLP on iris.csv"  # markdown-escaped by md(): a dot needs no escape
    at = _save(at, run_id, NAME, NOTE)
    rec = RunStore(workspace).get(run_id)
    assert (rec.name, rec.note) == (NAME, NOTE)
    at = open_page("../pages/2_Results.py", run_id)  # a fresh session: it comes from the store
    assert at.subheader[0].value == "Iris \\<b\\>baseline\\</b\\> \\*v1\\*"  # as typed, never markdown
    assert "first try\\: lr 1e-3  \nnext\\: more dropout" in [c.value for c in at.caption]
    assert any(o.startswith(f"{NAME} · {run_id} · finished") for o in at.selectbox(key="run_picker").options)

    home = open_page("")
    table = home.dataframe[0].value.set_index("run")
    assert (table.loc[run_id, "name"], table.loc[run_id, "note"]) == (NAME, NOTE)
    compare = open_page("../pages/3_Compare.py").dataframe[0].value.set_index("run")
    assert (compare.loc[run_id, "name"], compare.loc[run_id, "note"]) == (NAME, NOTE)
    assert compare.loc[trained["shapes"], "name"] == "CNN on shapes"  # the folder the images came from

    at = _save(open_page("../pages/2_Results.py", run_id), run_id, "", "")  # emptied: the default name again
    assert run_name(RunStore(workspace).get(run_id)) == "MLP on iris.csv"


@pytest.mark.slow
@pytest.mark.usefixtures("fresh_caches")
def test_a_run_is_renamed_from_its_live_view_and_from_compare(trained, workspace):
    run_id = trained["digits"]
    at = _save(open_page("../pages/1_Train.py", run_id), run_id, "digits small", "")
    assert at.subheader[0].value == "digits small"
    at = open_page("../pages/3_Compare.py")
    at.session_state["compare_table"] = {"selection": {"rows": [_row(at, run_id)], "columns": [], "cells": []}}
    at = _save(at.run(), run_id, "digits small", "kept for the talk")
    assert RunStore(workspace).get(run_id).note == "kept for the talk"


def _row(at: AppTest, run_id: str) -> int:
    return at.dataframe[0].value["run"].tolist().index(run_id)


def test_an_unknown_run_cannot_be_renamed(store):
    with pytest.raises(Exception, match="not in the store"):
        store.rename("20200101-000000-abcd", "x", "")
    assert not Path(store.root / "runs" / "20200101-000000-abcd").exists()


@pytest.mark.slow
def test_the_train_form_names_and_notes_the_run_it_starts(workspace, fresh_caches):
    """Issue 21: a newcomer looked for a name and a note on the Train form; only the run's page had them."""
    at = open_page("pages/1_Train.py")
    assert at.text_input("tr_run_name").placeholder == "MLP on Handwritten digits (scikit-learn)"
    at.text_input("tr_mlp_hidden_sizes").set_value("32")
    at.number_input("tr_epochs").set_value(1)
    at.text_input("tr_run_name").set_value(NAME)
    at.text_input("tr_run_note").set_value("first try").run()
    at.button("tr_start").click().run()
    assert not at.exception
    rec = RunStore(workspace).list()[0]
    assert (rec.name, rec.note) == (NAME, "first try")
    assert at.subheader[0].value.replace("\\", "").startswith(NAME)
    from nnlab.ui import lab

    lab().jobs.wait(rec.run_id, timeout=120)


def test_runs_on_two_csv_files_are_listed_by_their_files(workspace, capsys):
    """`runs` and `runs --groups` listed every CSV run as 'csv' ([mlp on csv]): runs on two files looked alike."""
    from nnlab.cli.groups import records_label

    store = RunStore(workspace)
    ids = [store.create(make_config("mlp", dataset="csv", data_path=f"/data/{f}")) for f in ("wine.csv", "iris.csv")]
    ids.append(store.create(tiny_config()))
    assert main(["runs"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert sorted(line.split()[3] for line in listed[1:]) == ["digits", "iris.csv", "wine.csv"]
    assert records_label(store.list(), ids[0]) == "mlp on wine.csv"


def test_the_dashboard_names_runs_and_sweeps_on_two_csv_files_by_their_files(workspace):
    """The Compare page's runs table and its Dataset filter listed every upload as 'csv', its parallel coordinates
    put runs on animals.csv and fraud.csv on one score axis ('14 runs on csv'), and the Sweep page read 'Sweep of
    lstm on text-csv'."""
    from nnlab.analysis.runs_table import runs_table
    from nnlab.sweeps.space import parse_dim
    from nnlab.sweeps.store import SweepSpec

    store = RunStore(workspace)
    for f in ("animals.csv", "fraud.csv"):
        store.create(make_config("mlp", dataset="csv", data_path=f"/data/{f}"))
    store.create(tiny_config())
    assert sorted(runs_table(store.list())["dataset"]) == ["animals.csv", "digits", "fraud.csv"]
    base = make_config("lstm", dataset="text-csv", data_path="/data/reviews.csv", text_column="review")
    spec = SweepSpec(base=base, dims=(parse_dim("lr", "0.001:0.01:log"),), trials=4)
    assert spec.title == "Sweep of LSTM (text) on reviews.csv"
    assert SweepSpec(base=base, dims=spec.dims, trials=4, name="my sweep").title == "my sweep"


def test_a_group_of_one_scored_run_is_not_said_to_be_a_mean_and_sd():
    """`runs --groups` wrote 'test accuracy 0.9667 (mean ± sd over seeds)' for a group of one run."""
    from nnlab.cli.groups import group_line

    one = {"group": "g-1", "runs": ["r"], "seeds": [0], "test_metric": "accuracy", "mean": 0.9667, "sd": None}
    one["scores"] = [0.9667]
    assert group_line(one) == "group g-1: 1 run (seed 0), test accuracy 0.9667"
    three = one | {"runs": ["r", "s", "t"], "seeds": [0, 1, 2], "sd": 0.0096, "scores": [0.96, 0.97, 0.97]}
    assert group_line(three).endswith("test accuracy 0.9667 ± 0.0096 (mean ± sd over seeds)")
