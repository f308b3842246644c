"""The Ray executor on one local Ray instance shared by these tests (started once, about 10 s here)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nnlab.analysis.groups import group_id
from nnlab.core.causes import Cause
from nnlab.core.fitted import fit_to_data
from nnlab.core.placement import Placement
from nnlab.jobs.manager import JobManager
from nnlab.jobs.ray.backend import NAMESPACE, RayExecutor, RayTable, actor_name, driver_alive, driver_paths
from nnlab.jobs.ray.reaper import session_members
from nnlab.store.runs import RunStore
from nnlab.sweeps.driver import open_study
from nnlab.sweeps.store import SweepStore
from tests.helpers import tiny_config, wait_until

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def ray_address():
    """One local Ray instance for the whole test session; nnlab's driver processes connect to it by address."""
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture
def on_ray(ray_address, store):
    """The Ray executor on the shared instance; the drivers this test started are ended after it."""
    yield Placement("ray", ray_address)
    stop_driver(store, ray_address)


@pytest.fixture
def manager(store):
    m = JobManager(store, leave_core=False)
    yield m
    m.shutdown()


def stop_driver(store: RunStore, address: str) -> None:
    """End the driver process of this workspace (it would otherwise wait for more runs for a while)."""
    _, info, _ = driver_paths(store, address)

    def gone() -> bool:
        pid = json.loads(info.read_text()).get("pid") if info.exists() else None
        if pid and driver_alive(store, address):
            os.kill(pid, signal.SIGTERM)
        return not driver_alive(store, address)

    wait_until(gone, "the Ray driver to exit", 20, every=0.2)


def wait_for(predicate, timeout: float = 120, what: str = "the condition"):
    """wait_until with the argument order these tests use."""
    return wait_until(predicate, what, timeout, every=0.2)


def test_a_ray_run_matches_the_same_run_in_a_local_thread(manager, on_ray):
    cfg = tiny_config("mlp", epochs=3, seed=0, threads=1)
    local = manager.wait(manager.submit(cfg), timeout=120)
    remote = manager.wait(manager.submit(cfg, placement=on_ray), timeout=180)
    assert local.status == "finished", local.reason
    assert remote.status == "finished", remote.reason
    assert abs(remote.summary["accuracy"] - local.summary["accuracy"]) <= 0.01
    assert remote.epochs_done == local.epochs_done == 3
    assert "Ray node" in remote.device
    folder = manager.store.run_dir(remote.run_id)
    for name in ("model.pt", "best.pt", "last.pt", "predictions.npz", "report.json", "examples.npz", "info.json"):
        assert (folder / name).is_file(), name
    assert [r.epoch for r in manager.store.metrics(remote.run_id)] == [1, 2, 3]


def long_config(**changes):
    """A run that trains until it is stopped (a few hundred short epochs)."""
    return tiny_config("mlp", epochs=200, early_stopping=False, threads=1, **changes)


def test_progress_arrives_while_a_ray_run_trains_and_stop_ends_it_with_results(manager, on_ray):
    run_id = manager.submit(long_config(), placement=on_ray)
    assert manager.store.get(run_id).status == "queued"
    live = wait_for(
        lambda: (r := manager.store.get(run_id)).status == "running" and r.epochs_done >= 2 and r.progress and r,
        what="progress of the running run",
    )
    assert live.progress.epochs == 200 and live.progress.epoch >= 1
    assert manager.is_active(run_id)
    assert "Ray worker" in manager.stop(run_id)
    rec = manager.wait(run_id, timeout=60)
    assert rec.status == "stopped" and rec.reason == "Stopped by the user."
    assert 2 <= rec.epochs_done < 200 and rec.test_value is not None
    assert (manager.store.run_dir(run_id) / "predictions.npz").is_file()
    assert RayTable(manager.store).get(run_id).state == "done"


def test_kill_9_of_the_ray_worker_leaves_the_run_interrupted_and_resumable(manager, on_ray):
    run_id = manager.submit(long_config(), placement=on_ray)
    wait_for(lambda: manager.store.get(run_id).epochs_done >= 2, what="two epochs")
    os.kill(RayTable(manager.store).get(run_id).worker_pid, signal.SIGKILL)
    rec = wait_for(lambda: (r := manager.store.get(run_id)).status != "running" and r, timeout=60, what="the end")
    assert rec.status == "interrupted", rec.reason
    assert "Ray worker" in rec.reason and "died" in rec.reason and "resume" in rec.reason
    assert (manager.store.run_dir(run_id) / "last.pt").is_file()  # the checkpoint came back with each epoch
    done = rec.epochs_done
    manager.resume(run_id)  # back to Ray, where it trained before
    wait_for(lambda: manager.store.get(run_id).epochs_done > done + 1, what="epochs after the resume")
    assert [r.epoch for r in manager.store.metrics(run_id)][:done] == list(range(1, done + 1))
    manager.stop(run_id)
    assert manager.wait(run_id, timeout=60).status == "stopped"


def test_a_run_wanting_a_gpu_the_cluster_lacks_waits_queued_with_the_reason(manager, on_ray):
    run_id = manager.submit(tiny_config("mlp", device="cuda"), placement=on_ray)
    rec = wait_for(lambda: "GPU" in (r := manager.store.get(run_id)).reason and r, timeout=60, what="the reason")
    assert rec.status == "queued"
    assert rec.reason.startswith("Waiting for a GPU:") and "has none" in rec.reason
    manager.stop(run_id)
    rec = manager.wait(run_id, timeout=30)
    assert rec.status == "stopped" and rec.reason == "Stopped before it started."


DASHBOARD = """
import sys, time
from nnlab.core.placement import Placement
from nnlab.jobs.manager import JobManager
from nnlab.store.runs import RunStore
from nnlab.sweeps.driver import open_study
from nnlab.sweeps.store import SweepStore
from tests.helpers import tiny_config
m = JobManager(RunStore(sys.argv[1]), leave_core=False)
run_id = m.submit(tiny_config("mlp", epochs=100, batch_size=16, early_stopping=False, threads=1), placement=Placement("ray", sys.argv[2]))
print(run_id, flush=True)
time.sleep(600)
"""


def test_a_dashboard_restart_leaves_ray_runs_training_and_the_next_one_reattaches(workspace, on_ray):
    dashboard = subprocess.Popen(
        [sys.executable, "-c", DASHBOARD, str(workspace), on_ray.address], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    run_id = dashboard.stdout.readline().strip()
    store = RunStore(workspace)
    wait_for(lambda: store.get(run_id).epochs_done >= 1, what="the first epoch")
    dashboard.kill()  # kill -9 of the dashboard process
    dashboard.wait()
    seen = store.get(run_id).epochs_done
    wait_for(lambda: store.get(run_id).epochs_done > seen, what="epochs after the dashboard died")
    restarted = JobManager(RunStore(workspace), leave_core=False)  # the new dashboard
    assert restarted.is_active(run_id)
    # the driver dies too: the dashboard starts a new one, which finds the detached actor and carries on
    _, info, _ = driver_paths(store, on_ray.address)
    os.kill(json.loads(info.read_text())["pid"], signal.SIGKILL)
    wait_for(lambda: not driver_alive(store, on_ray.address), what="the driver to die")
    rec = restarted.wait(run_id, timeout=180)
    assert rec.status == "finished", rec.reason
    assert [r.epoch for r in store.metrics(run_id)] == list(range(1, 101))
    assert (store.run_dir(run_id) / "report.json").is_file()


def test_cli_train_on_a_local_ray_instance_the_driver_starts(workspace):
    """No address anywhere: the driver starts a local Ray instance, which lives as long as the driver (started on a
    helper thread, its processes died with that thread and the run failed with 'Lost contact')."""
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "NNLAB_RAY_ADDRESS")}
    cmd = [sys.executable, "-m", "nnlab", "train", "--arch", "mlp", "--dataset", "digits", "--epochs", "3"]
    cmd += ["--threads", "1", "--executor", "ray", "--json"]
    try:
        out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    finally:
        stop_driver(RunStore(workspace), "")
    assert out.returncode == 0, out.stdout[-1000:] + out.stderr[-2000:]
    rec = json.loads(out.stdout.splitlines()[-1])
    assert rec["status"] == "finished" and "Ray node" in rec["device"]


def test_cli_train_with_the_ray_executor_reports_like_a_local_run(workspace, on_ray):
    common = ["--arch", "mlp", "--dataset", "digits", "--epochs", "10", "--seed", "0", "--threads", "1", "--json"]
    cli = [sys.executable, "-m", "nnlab", "train", *common]
    local = subprocess.run(cli, cwd=ROOT, capture_output=True, text=True, timeout=300)
    remote = subprocess.run(
        [*cli, "--executor", "ray", "--ray-address", on_ray.address],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert remote.returncode == 0, remote.stderr[-2000:]
    a, b = json.loads(local.stdout.splitlines()[-1]), json.loads(remote.stdout.splitlines()[-1])
    assert b["status"] == "finished" and abs(a["test_accuracy"] - b["test_accuracy"]) <= 0.01
    assert "epoch 10/10" in remote.stderr
    runs = subprocess.run([sys.executable, "-m", "nnlab", "runs", "--json"], cwd=ROOT, capture_output=True, text=True)
    assert b["run_id"] in {r["run_id"] for r in json.loads(runs.stdout)}


def test_an_observer_on_the_dashboard_side_prunes_a_ray_run(manager, on_ray):
    seen: list[int] = []

    def observer(run_id: str, record) -> bool:
        seen.append(record.epoch)
        return record.epoch >= 2

    run_id = manager.submit(long_config(), observer, placement=on_ray)
    rec = manager.wait(run_id, timeout=120)
    assert rec.status == "pruned" and rec.reason.startswith("Pruned after epoch 2")
    assert seen == list(range(1, rec.epochs_done + 1)) and 2 <= rec.epochs_done < 200  # latency: about a second
    assert rec.test_value is not None  # a pruned trial keeps its curve and results


def test_an_address_where_no_cluster_answers_fails_the_run_with_one_sentence(workspace):
    env = {**os.environ, "NNLAB_RAY_CONNECT_S": "5"}
    cli = [sys.executable, "-m", "nnlab", "train", "--arch", "mlp", "--epochs", "1", "--json"]
    out = subprocess.run(
        [*cli, "--executor", "ray", "--ray-address", "127.0.0.1:9"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 1
    summary = json.loads(out.stdout.splitlines()[-1])
    assert summary["status"] == "failed"
    assert summary["reason"].startswith("Could not connect to the Ray cluster at 127.0.0.1:9 (no answer within 5 s)")
    assert "Traceback" not in out.stderr


def test_a_sweep_of_4_trials_trains_2_at_a_time_on_ray_with_its_pruner_fed_every_epoch(workspace, on_ray):
    cli = [sys.executable, "-m", "nnlab", "sweep", "--arch", "mlp", "--dataset", "digits", "--hidden-sizes", "32"]
    cli += ["--vary", "lr=1e-4:1e-2:log", "--strategy", "random", "--seed", "29", "--trials", "4", "--parallel", "2"]
    cli += [
        "--pruner",
        "median",
        "--epochs",
        "12",
        "--no-early-stopping",
        "--threads",
        "1",
        "--json",
        "--confirm-top",
        "0",
    ]
    out = subprocess.run(
        [*cli, "--executor", "ray", "--ray-address", on_ray.address], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads(out.stdout.splitlines()[-1])
    assert summary["status"] == "finished" and summary["trials"] == 4
    assert summary["finished"] + summary["pruned"] == 4 and summary["failed"] == 0
    store = RunStore(workspace)
    runs = store.list(sweep_id=summary["sweep_id"])
    assert len(runs) == 4 and all("Ray node" in r.device for r in runs)
    # the sweep's pruner (on this side) was told every epoch of every trial as it came back from its Ray worker
    study = open_study(SweepStore(store), SweepStore(store).get(summary["sweep_id"]))
    for trial in study.trials:
        run = next(r for r in runs if r.trial == trial.number)
        assert sorted(trial.intermediate_values) == list(range(1, run.epochs_done + 1))
        if run.status == "pruned":  # (whether one is depends on timing: the median pruner waits for 3 trials)
            assert run.reason.startswith("Pruned after epoch") and trial.state.name == "PRUNED"
    starts = sorted((r.created, r.updated) for r in runs)  # two trials trained side by side
    assert any(b[0] < a[1] for a, b in zip(starts, starts[1:], strict=False))


def test_cli_train_seeds_on_ray_trains_one_group_of_runs_there(workspace, on_ray):
    cli = [sys.executable, "-m", "nnlab", "train", "--arch", "mlp", "--dataset", "digits", "--hidden-sizes", "32"]
    cli += ["--epochs", "2", "--seed", "3", "--seeds", "2", "--threads", "1", "--json"]
    out = subprocess.run(
        [*cli, "--executor", "ray", "--ray-address", on_ray.address], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    group = json.loads(out.stdout.splitlines()[-1])
    assert group["seeds"] == [3, 4] and group["statuses"] == ["finished", "finished"] and len(group["scores"]) == 2
    runs = RunStore(workspace).list()
    assert sorted(r.run_id for r in runs) == sorted(group["runs"])
    assert all("Ray node" in r.device for r in runs)
    assert {group_id(r.config) for r in runs} == {group["group"]}  # one group: they differ only in the seed


def test_auto_epochs_on_ray_reach_the_record_and_the_cli_lines_as_fitted_to_the_data(workspace, on_ray):
    cli = [sys.executable, "-m", "nnlab", "train", "--arch", "mlp", "--dataset", "digits", "--hidden-sizes", "32"]
    cli += ["--epochs", "0", "--threads", "1", "--json", "--executor", "ray", "--ray-address", on_ray.address]
    out = subprocess.run(cli, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    rec = RunStore(workspace).get(json.loads(out.stdout.splitlines()[-1])["run_id"])
    fitted = fit_to_data(rec.config, rec.summary["train_size"]).epochs
    assert rec.config.epochs == 0 and rec.epochs_planned == fitted > 0  # the config keeps what the user gave
    lines = [line for line in out.stderr.splitlines() if line.startswith("epoch ")]
    assert len(lines) == rec.epochs_done >= 1
    assert all(line.startswith(f"epoch {i}/{fitted} ") for i, line in enumerate(lines, 1)), lines[:2]


def test_cli_resume_of_a_run_placed_on_ray_goes_back_to_ray(workspace, manager, on_ray):
    run_id = manager.submit(long_config(), placement=on_ray)
    wait_for(lambda: manager.store.get(run_id).epochs_done >= 2, what="two epochs on Ray")
    manager.stop(run_id)
    done = manager.wait(run_id, timeout=60).epochs_done
    cmd = [sys.executable, "-m", "nnlab", "resume", run_id, "--json", "--store", str(workspace)]
    resumed = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: manager.store.get(run_id).epochs_done > done + 1, what="epochs after the resume")
        assert RayTable(manager.store).get(run_id).resume and "Ray node" in manager.store.get(run_id).device
    finally:
        resumed.send_signal(signal.SIGINT)  # Ctrl-C: the user's stop reaches the Ray worker
        out, err = resumed.communicate(timeout=120)
    assert f"It resumes on the Ray cluster at {on_ray.address}, where it trained." in err
    rec = json.loads(out.splitlines()[-1])
    assert rec["status"] == "stopped" and rec["cause"] == "user" and rec["executor"] == "ray"


def test_a_driver_and_a_worker_of_different_nnlab_versions_refuse_each_other_in_one_sentence(store, on_ray):
    """An upgraded nnlab's driver finds the actors an earlier one left (Ray pickles by module path, and every module
    moved): it asks their version in plain strings and refuses them with a sentence, never an obscure unpickling
    error; the run is interrupted, to resume on a worker of this version."""
    import ray

    class OtherNnlab:  # an actor of another nnlab version
        def hello(self, driver_version: str) -> dict[str, str]:
            return {"version": "0.0.9+elsewhere", "refusal": "", "pid": "1", "node": "x"}

    class OlderNnlab:  # an actor of an nnlab from before the versions were compared
        def poll(self, cursor: int, known: dict) -> dict:
            return {}

    table, runs = RayTable(store), {}
    for cls, words in ((OtherNnlab, "runs 0.0.9+elsewhere"), (OlderNnlab, "runs an older nnlab")):
        run_id = store.create(tiny_config("mlp"))
        store.update(run_id, status="running", placement=on_ray)
        options = {"name": actor_name(run_id), "namespace": NAMESPACE, "lifetime": "detached", "num_cpus": 0}
        ray.remote(cls).options(**options).remote()
        table.add(run_id, on_ray, resume=False)
        table.set(run_id, state="active")
        runs[run_id] = words
    RayExecutor(store).reattach()  # what a restarted dashboard does: the driver adopts the actors it finds
    for run_id, words in runs.items():
        rec = wait_for(lambda r=run_id: (x := store.get(r)).status == "interrupted" and x, what="the refusal")
        assert words in rec.reason and "cannot pass runs to each other" in rec.reason and rec.cause == Cause.LOST
        assert "\n" not in rec.reason and "Error" not in rec.reason
        wait_for(lambda r=run_id: not _actor_alive(ray, r), what="the refused actor to end")


def _actor_alive(ray, run_id: str) -> bool:
    try:
        ray.get_actor(actor_name(run_id), namespace=NAMESPACE)
    except ValueError:
        return False
    return True


def test_a_killed_driver_of_a_local_instance_takes_its_runs_along_and_leaves_no_process_behind(
    workspace, manager, monkeypatch
):
    """No address: the local instance lives in its driver. A kill -9 of the driver ends the instance and the run
    (interrupted, resumable, said in one sentence) and, within seconds, every process of the instance: Ray's
    agents used to run on for minutes."""
    for name in ("RAY_ADDRESS", "NNLAB_RAY_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    store, local = manager.store, Placement("ray", "")
    run_id = manager.submit(long_config(), placement=local)
    wait_for(lambda: store.get(run_id).epochs_done >= 1, timeout=300, what="the first epoch on the local instance")
    _, info, _ = driver_paths(store, "")
    driver = json.loads(info.read_text())["pid"]
    assert len(session_members(driver)) >= 3  # the driver, its GCS, its raylet, the worker...
    os.kill(driver, signal.SIGKILL)
    wait_for(lambda: not session_members(driver), timeout=30, what="every process of the local instance to end")
    rec = manager.wait(run_id, timeout=60)
    assert (rec.status, rec.cause) == ("interrupted", Cause.LOST) and "local Ray instance" in rec.reason
    done = rec.epochs_done
    assert "It resumes on a local Ray instance, where it trained." in manager.resume(run_id)
    wait_for(lambda: store.get(run_id).epochs_done > done, timeout=300, what="an epoch on a new local instance")
    second = json.loads(info.read_text())["pid"]
    stop_driver(store, "")  # a driver told to end takes its instance and its runs along too, and no process stays
    wait_for(lambda: not session_members(second), timeout=30, what="the second instance to end")
    rec = manager.wait(run_id, timeout=60)
    assert (rec.status, rec.cause) == ("interrupted", Cause.SHUTDOWN) and "told to end" in rec.reason
