import json
import os
import sqlite3
import subprocess
import sys

import pytest

from nnlab.errors import NNLabError
from nnlab.runner import execute, load_checkpoint
from nnlab.runs import RunStore
from nnlab.train import EpochRecord
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
    assert store.metrics_many([run_id])[run_id][1].val_score == 0.8


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


def test_a_run_writes_checkpoints_predictions_and_report(store):
    run_id = store.create(tiny_config("mlp", epochs=2))
    store.claim_queued(run_id)
    rec = execute(store, run_id)
    folder = store.run_dir(run_id)
    assert rec.status == "finished" and rec.test_metric == "accuracy" and rec.test_score > 0.5
    for name in ("last.pt", "best.pt", "model.pt", "predictions.npz", "examples.npz", "report.json", "info.json"):
        assert (folder / name).is_file(), name
    state = load_checkpoint(folder / "last.pt")
    assert len(state["history"]) == 2
    report = json.loads((folder / "report.json").read_text())
    assert report["accuracy"] == rec.test_score and len(report["confusion"]) == 10


def test_regressor_run_reports_rmse_beside_the_naive_forecast(store):
    run_id = store.create(tiny_config("ts-lstm", epochs=1))
    store.claim_queued(run_id)
    rec = execute(store, run_id)
    assert rec.status == "finished" and rec.test_metric == "rmse"
    assert {"rmse", "mae", "r2", "naive_rmse"} <= set(rec.summary)


def test_a_failing_run_keeps_one_sentence_and_the_traceback_in_a_log(store, monkeypatch):
    import nnlab.runner

    def broken(cfg):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(nnlab.runner, "load_dataset", broken)
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
