"""`nnlab delete` and `nnlab rename`: the dashboard's Delete and Name-and-note on the command line, through the Lab."""

from __future__ import annotations

import io

import pytest

from nnlab.analysis.naming import run_name
from nnlab.cli.main import main
from nnlab.store.runs import RunStore
from tests.helpers import tiny_config


def _finished(store: RunStore, name: str = "") -> str:
    run_id = store.create(tiny_config(), name=name)
    store.update(run_id, status="finished")
    store.run_dir(run_id).mkdir(parents=True, exist_ok=True)
    (store.run_dir(run_id) / "last.pt").write_bytes(b"checkpoint")
    return run_id


def _runs(capsys) -> str:
    capsys.readouterr()
    assert main(["runs"]) == 0
    return capsys.readouterr().out


def test_delete_yes_removes_the_runs_folder_and_row(store, capsys):
    keep, gone = _finished(store), _finished(store)
    assert main(["delete", gone, "--yes"]) == 0
    assert capsys.readouterr().out.strip() == "Deleted 1 run."
    assert not store.run_dir(gone).exists() and store.find(gone) is None
    listed = _runs(capsys)
    assert gone not in listed and keep in listed


def test_delete_asks_on_a_terminal_and_deletes_nothing_without_a_yes(store, capsys, monkeypatch):
    run_id = _finished(store)
    answer = io.StringIO("n\n")
    answer.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr("sys.stdin", answer)
    assert main(["delete", run_id]) == 1
    err = capsys.readouterr().err
    assert f"Delete 1 run with its checkpoints and results: {run_id}" in err and "Nothing was deleted" in err
    assert store.find(run_id) is not None
    answer = io.StringIO("y\n")
    answer.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr("sys.stdin", answer)
    assert main(["delete", run_id]) == 0
    assert store.find(run_id) is None


def test_delete_without_a_terminal_or_yes_is_refused_in_one_line(store, capsys, monkeypatch):
    run_id = _finished(store)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["delete", run_id]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--yes" in err
    assert store.find(run_id) is not None


def test_a_running_run_is_refused_with_exit_2_and_one_line(store, capsys):
    running = store.create(tiny_config(), status="running")  # owned by this (live) process
    assert main(["delete", running, "--yes"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{running} is running" in err and "stop it" in err
    assert store.find(running) is not None


def test_a_running_run_among_others_is_left_alone_and_named(store, capsys):
    running, done = store.create(tiny_config(), status="running"), _finished(store)
    assert main(["delete", running, done, "--yes"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Deleted 1 run;") and running in out
    assert store.find(running) is not None and store.find(done) is None


@pytest.mark.parametrize("verb", [["delete", "--yes"], ["rename", "--name", "x"]])
def test_an_unknown_run_id_is_refused_in_one_line_and_nothing_is_deleted(store, capsys, verb):
    run_id = _finished(store, name="kept")
    args = [verb[0], run_id, "20990101-000000-dead", *verb[1:]] if verb[0] == "delete" else [verb[0], "nope", *verb[1:]]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not in the store" in err
    assert store.get(run_id).name == "kept"


def test_rename_changes_what_runs_and_the_results_title_show_and_keeps_what_is_not_given(store, capsys):
    run_id = _finished(store)
    store.rename(run_id, "", "first note")
    assert main(["rename", run_id, "--name", "plants, first try"]) == 0
    assert capsys.readouterr().out.strip() == f"Saved the name and note of run {run_id}."
    assert "plants, first try" in _runs(capsys)
    rec = RunStore(store.root).get(run_id)
    assert run_name(rec) == "plants, first try" and rec.note == "first note"  # the Results page's heading
    assert main(["rename", run_id, "--note", "two epochs"]) == 0
    rec = RunStore(store.root).get(run_id)
    assert (rec.name, rec.note) == ("plants, first try", "two epochs")
    assert main(["rename", run_id, "--name", ""]) == 0  # '' gives the default name back
    assert run_name(RunStore(store.root).get(run_id)) == "MLP on Handwritten digits (scikit-learn)"


def test_rename_with_nothing_to_change_is_refused(store, capsys):
    assert main(["rename", _finished(store)]) == 2
    assert "--name" in capsys.readouterr().err


def test_a_diverged_runs_plain_summary_prints_no_none(store, capsys):
    from nnlab.cli.main import report

    run_id = store.create(tiny_config())
    store.update(run_id, status="diverged", reason="Training diverged in epoch 1: lower the learning rate.")
    assert report(store.get(run_id), as_json=False) == 1
    line = capsys.readouterr().out
    assert "None" not in line and "samples_per_s" not in line and "status=diverged" in line


def test_plain_summary_names_the_users_file_as_runs_does(store, capsys, tmp_path):
    from nnlab.cli.main import report

    run_id = store.create(tiny_config(dataset="csv", data_path=str(tmp_path / "plants.csv")))
    store.update(run_id, status="finished")
    report(store.get(run_id), as_json=False)
    assert "dataset=plants.csv" in capsys.readouterr().out
    report(store.get(run_id), as_json=True)
    assert '"dataset": "csv"' in capsys.readouterr().out  # the JSON keeps the dataset's key
