import json
import os
import sqlite3
import subprocess
import sys

import pytest

from nnlab.core.errors import NNLabError
from nnlab.core.records import EpochRecord, Progress, higher_is_better
from nnlab.engine.runner import execute
from nnlab.store.runs import RunStore
from tests.helpers import tiny_config


def test_store_round_trip_of_record_and_metrics(store):
    cfg = tiny_config("mlp", lr=0.002)
    run_id = store.create(cfg)
    rec = store.get(run_id)
    assert rec.status == "queued" and rec.config == cfg and rec.arch == "mlp"
    store.add_epoch(run_id, EpochRecord(1, 0.9, 0.8, 0.7, 1e-3, 1.5, 1000.0), best=(0.8, 0.7, 1))
    store.add_epoch(run_id, EpochRecord(2, 0.5, 0.6, 0.8, 1e-3, 1.5, 1100.0), best=None)
    assert [m.epoch for m in store.metrics(run_id)] == [1, 2]
    assert [m.epoch for m in store.metrics(run_id, after_epoch=1)] == [2]
    rec = store.get(run_id)
    assert (rec.epochs_done, rec.best_val_loss, rec.best_epoch, rec.seconds) == (2, 0.8, 1, 3.0)
    assert store.metrics_many([run_id])[run_id][1].val_metric == 0.8


def test_store_uses_wal_and_a_folder_per_run(store):
    run_id = store.create(tiny_config())
    assert store.run_dir(run_id).is_dir()
    assert json.loads((store.run_dir(run_id) / "config.json").read_text())["arch"] == "mlp"
    mode = sqlite3.connect(store.db_path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_workspace_follows_nnlab_home(workspace):
    assert RunStore().root == workspace


def test_runs_of_a_dead_process_become_interrupted_on_open(store):
    run_id = store.create(tiny_config())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    store.update(run_id, status="running", pid=int(dead.stdout))
    other = store.create(tiny_config())
    RunStore(store.root)
    assert store.get(run_id).status == "interrupted"
    assert store.get(other).status == "queued"  # its owner (this process) is alive


def test_delete_removes_the_record_and_its_files(store):
    run_id = store.create(tiny_config())
    store.update(run_id, status="finished")
    store.delete(run_id)
    assert store.find(run_id) is None and not store.run_dir(run_id).exists()
    with pytest.raises(NNLabError):
        store.get(run_id)


@pytest.mark.slow
def test_a_run_writes_checkpoints_predictions_and_report(store):
    run_id = store.create(tiny_config("mlp", epochs=2))
    store.claim_queued(run_id)
    rec = execute(store, run_id)
    folder = store.run_dir(run_id)
    assert rec.status == "finished" and rec.test_metric == "accuracy" and rec.test_value > 0.5
    for name in ("last.pt", "best.pt", "model.pt", "predictions.npz", "examples.npz", "report.json", "info.json"):
        assert (folder / name).is_file(), name
    state = store.folder(run_id).load_checkpoint()
    assert len(state["history"]) == 2
    report = json.loads((folder / "report.json").read_text())
    assert report["accuracy"] == rec.test_value and len(report["confusion"]) == 10


@pytest.mark.slow
def test_regressor_run_reports_rmse_beside_the_naive_forecast(store):
    run_id = store.create(tiny_config("ts-lstm", epochs=1))
    store.claim_queued(run_id)
    rec = execute(store, run_id)
    assert rec.status == "finished" and rec.test_metric == "rmse"
    assert {"rmse", "mae", "r2", "naive_rmse"} <= set(rec.summary)


def test_a_failing_run_keeps_one_sentence_and_the_traceback_in_a_log(store, monkeypatch):
    import nnlab.engine.runner

    def broken(cfg):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(nnlab.engine.runner, "load_dataset", broken)
    run_id = store.create(tiny_config())
    store.claim_queued(run_id)
    rec = execute(store, run_id)
    assert rec.status == "failed" and "disk on fire" in rec.reason and "\n" not in rec.reason
    assert "Traceback" in (store.run_dir(run_id) / "log.txt").read_text()


def test_runs_are_invisible_to_other_working_directories(tmp_path, monkeypatch):
    monkeypatch.delenv("NNLAB_HOME")
    monkeypatch.chdir(tmp_path)
    assert RunStore().root.resolve() == (tmp_path / "nnlab-workspace").resolve()
    assert os.path.isdir(tmp_path / "nnlab-workspace" / "runs")


def test_progress_is_a_typed_record_from_store_to_reader(store):
    run_id = store.create(tiny_config())
    assert store.get(run_id).progress is None
    progress = Progress(2, 5, 0.25, 1234.5, 60.0, 0.42, lr=1e-3, time=1.0)
    store.set_progress(run_id, progress)
    assert store.get(run_id).progress == progress
    store.update(run_id, progress=None)
    assert store.get(run_id).progress is None


def test_each_metric_says_which_way_is_better(store):
    assert higher_is_better("accuracy") and not higher_is_better("rmse")
    run_id = store.create(tiny_config("ts-lstm"))
    assert store.get(run_id).higher_is_better is None  # no test metric yet
    store.update(run_id, status="finished", test_metric="rmse", test_value=0.3)
    rec = store.get(run_id)
    assert rec.higher_is_better is False and rec.to_json_dict()["test_rmse"] == 0.3


_OLD_SCHEMA = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, created REAL NOT NULL, updated REAL NOT NULL, status TEXT NOT NULL,
    arch TEXT NOT NULL, dataset TEXT NOT NULL, config TEXT NOT NULL, reason TEXT DEFAULT '',
    epochs_done INTEGER DEFAULT 0, best_val_loss REAL, best_val_score REAL, best_epoch INTEGER,
    test_metric TEXT, test_score REAL, seconds REAL DEFAULT 0, samples_per_s REAL, device TEXT DEFAULT '',
    pid INTEGER, progress TEXT DEFAULT '{}', summary TEXT DEFAULT '{}'
);
CREATE TABLE metrics (
    run_id TEXT NOT NULL, epoch INTEGER NOT NULL, train_loss REAL, val_loss REAL, val_score REAL,
    lr REAL, seconds REAL, samples_per_s REAL, PRIMARY KEY (run_id, epoch)
) WITHOUT ROWID;
"""


def test_a_store_written_with_the_old_score_columns_still_opens(workspace):
    workspace.mkdir(parents=True)
    db = sqlite3.connect(workspace / "nnlab.db")
    db.executescript(_OLD_SCHEMA)
    progress = '{"epoch": 1, "epochs": 2, "fraction": 0.5, "samples_per_s": 10.0, "eta_s": 3.0, "train_loss": 0.5}'
    db.execute(
        "INSERT INTO runs (run_id, created, updated, status, arch, dataset, config, best_val_score, test_metric, "
        "test_score, progress) VALUES ('r1', 1, 1, 'finished', 'mlp', 'digits', ?, 0.9, 'accuracy', 0.88, ?)",
        (tiny_config().to_json(), progress),
    )
    db.execute("INSERT INTO metrics VALUES ('r1', 1, 0.5, 0.4, 0.9, 0.001, 1.0, 100.0)")
    db.commit()
    db.close()
    store = RunStore(workspace)
    rec = store.get("r1")
    assert (rec.best_val_metric, rec.test_metric, rec.test_value) == (0.9, "accuracy", 0.88)
    assert rec.progress == Progress(1, 2, 0.5, 10.0, 3.0, 0.5)
    assert store.metrics("r1")[0].val_metric == 0.9
    RunStore(workspace)  # a second open finds the new names and changes nothing
