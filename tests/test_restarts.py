"""Restarts lose nothing and leave nothing stuck: the dashboard as PID 1 of a fresh PID namespace (a container's
case) killed mid-run and restarted the same way, a CLI run killed while the dashboard is up, a queued run that
outlives its server, and a kill -9 in epoch 2 that resumes to exactly the uninterrupted run's result."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnlab.core.causes import SHUTDOWN_REASON, Cause
from nnlab.core.liveness import LEASE_S
from nnlab.data.registry import make_config
from nnlab.jobs.manager import JobManager
from nnlab.jobs.process import SERVER_GONE_REASON
from nnlab.store.runs import LOST_REASON, RunStore
from nnlab.ui.keys import KEY_RESUME_ALL
from tests.helpers import app_at, wait_until
from tests.test_browser import IDLE, free_port, page, wait_healthy  # noqa: F401  (page is a fixture)

ROOT = Path(__file__).resolve().parents[1]
LONG = {"dataset": "digits", "epochs": 200, "early_stopping": False, "hidden_sizes": (32,), "threads": 1}


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def _unshare_or_skip() -> list[str]:
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True)
    if shutil.which("unshare") is None or probe.returncode != 0:
        pytest.skip("unshare --pid needs root (or user namespaces) on this machine")
    return ["unshare", "--pid", "--fork", "--mount-proc"]


def _dashboard_as_pid_1(workspace: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` as PID 1 of a new PID namespace; the unshare process and the URL."""
    port = free_port()
    cmd = [*_unshare_or_skip(), sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
    cmd += ["--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none"]
    env = {**os.environ, "NNLAB_HOME": str(workspace)}
    with open(log, "a") as out:
        proc = subprocess.Popen(
            cmd + ["--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc, log)
    return proc, url


def _kill_namespace(proc: subprocess.Popen) -> None:
    """kill -9 the namespace's PID 1 (the kernel then ends the namespace); unshare exits with it."""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    os.kill(int(children[0]), signal.SIGKILL)
    proc.wait(30)


@pytest.mark.slow
@pytest.mark.browser
def test_the_dashboard_as_pid_1_killed_and_restarted_leaves_the_run_interrupted_and_resumable(workspace, page):  # noqa: F811
    store = RunStore(workspace)
    run_id = store.create(make_config("mlp", **LONG))  # queued by a server that is gone: the next one starts it
    store.update(run_id, pid=_dead_pid())
    first, url = _dashboard_as_pid_1(workspace, workspace.parent / "first.log")
    try:
        page.goto(url)
        page.wait_for_selector(IDLE)
        wait_until(lambda: store.folder(run_id).has_checkpoint(), "the adopted queued run's checkpoint", timeout=120)
        assert store.get(run_id).status == "running" and store.get(run_id).pid == 1
    finally:
        _kill_namespace(first)
    second, url = _dashboard_as_pid_1(workspace, workspace.parent / "second.log")
    try:
        page.goto(url)  # the new server is PID 1 too: the same id as the owner that died
        page.wait_for_selector(IDLE)
        wait_until(lambda: store.get(run_id).status == "interrupted", "the lost run marked", timeout=LEASE_S + 30)
        rec = store.get(run_id)
        # who marks it races: the next server finding the owner dead, or (on a loaded machine) the training process
        # itself, which saw the server's pipe close before the kernel ended the namespace
        assert rec.cause == Cause.LOST and rec.reason in (LOST_REASON, SERVER_GONE_REASON)
        assert store.folder(run_id).has_checkpoint()
        page.goto(f"{url}/Train?run={run_id}")
        page.wait_for_selector(IDLE)
        page.get_by_role("button", name="Resume", exact=True).click()
        wait_until(lambda: store.get(run_id).epochs_done > rec.epochs_done, "a resumed epoch", timeout=120)
        assert store.get(run_id).status == "running" and store.get(run_id).pid == 1
        epochs = [m.epoch for m in store.metrics(run_id)]
        assert epochs == list(range(1, len(epochs) + 1))  # it continued from its checkpoint
    finally:
        _kill_namespace(second)


def _cli_train(workspace: Path, *flags: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "nnlab", "train", "--store", str(workspace), "--json", *flags]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


@pytest.mark.slow
def test_a_cli_run_killed_while_a_dashboard_runs_is_marked_interrupted_without_a_restart(workspace):
    dashboard = JobManager(RunStore(workspace))  # what the dashboard's manager does (nnlab.ui._manager)
    dashboard.take_over()
    proc = _cli_train(workspace, "--arch", "mlp", "--epochs", "200", "--no-early-stopping", "--hidden-sizes", "32")
    store = RunStore(workspace)
    try:
        wait_until(lambda: bool(store.list()) and store.list()[0].epochs_done >= 1, "the CLI run's first epoch")
    finally:
        proc.kill()
        proc.wait()
    run_id = store.list()[0].run_id
    wait_until(lambda: dashboard.store.get(run_id).status == "interrupted", "the dashboard's heartbeat", timeout=20)
    dashboard.shutdown()


def _as_another_process(store, sql: str, *args) -> None:
    """What another process holding the run writes (through SQLite itself, not the store's private helpers)."""
    with sqlite3.connect(store.db_path) as db:
        db.execute(sql, args)


def test_a_pid_reused_by_another_process_does_not_keep_a_run_running(store):
    run_id = store.create(make_config("mlp"))
    store.claim_queued(run_id)
    with sqlite3.connect(store.db_path) as db:  # the owner as this process wrote it: host/namespace/pid/start
        owner = db.execute("SELECT owner FROM runs WHERE run_id=?", (run_id,)).fetchone()[0]
    fake = f"{owner.rsplit('/', 1)[0]}/1"  # our pid, born at tick 1
    _as_another_process(store, "UPDATE runs SET owner=? WHERE run_id=?", fake, run_id)
    assert store.recover() == [run_id] and store.get(run_id).status == "interrupted"


def test_an_owner_elsewhere_is_trusted_while_its_heartbeat_is_fresh(store):
    run_id = store.create(make_config("mlp"))
    store.claim_queued(run_id)
    beat = time.time()
    _as_another_process(store, "UPDATE runs SET owner='other-host/ns/1/99', beat=? WHERE run_id=?", beat, run_id)
    assert store.recover() == []
    _as_another_process(store, "UPDATE runs SET beat=? WHERE run_id=?", beat - LEASE_S - 1, run_id)
    assert store.recover() == [run_id]


def test_queued_runs_stay_queued_and_the_next_server_starts_them(store):
    first, second = store.create(make_config("mlp", epochs=1)), store.create(make_config("mlp", epochs=1))
    for run_id in (first, second):
        store.update(run_id, pid=_dead_pid())
    RunStore(store.root)  # opening the store (the CLI, another page) leaves them queued
    assert [store.get(r).status for r in (first, second)] == ["queued", "queued"]
    jobs = JobManager(RunStore(store.root))
    assert jobs.take_over() == [first, second]
    try:
        assert jobs.wait(second, 120).status == "finished" and store.get(first).status == "finished"
    finally:
        jobs.shutdown()


@pytest.mark.slow
def test_queued_runs_start_with_the_server_before_anyone_opens_a_page_and_end_with_it(workspace):
    """Before, the lab (and its job manager) started with the first page run: after a restart, queued runs waited
    until someone opened a page. Now `streamlit run app.py` starts it (st.App's lifespan, nnlab.ui.server)."""
    store = RunStore(workspace)
    run_id = store.create(make_config("mlp", **LONG))
    store.update(run_id, pid=_dead_pid())  # queued by a server that is gone
    port, log = free_port(), workspace.parent / "server.log"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.address"]
    cmd += ["127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none"]
    env = {**os.environ, "NNLAB_HOME": str(workspace)}
    with open(log, "w") as out:
        server = subprocess.Popen(
            [*cmd, "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", server, log)
        wait_until(lambda: store.get(run_id).epochs_done >= 1, "the queued run to train with no page opened", 240)
        assert store.get(run_id).status == "running"
    finally:
        server.send_signal(signal.SIGTERM)  # the server's end: the run is interrupted, resumable
        server.wait(60)
    rec = store.get(run_id)
    assert (rec.status, rec.cause) == ("interrupted", Cause.SHUTDOWN), rec.reason
    assert "missing ScriptRunContext" not in log.read_text()  # nothing of Streamlit ran outside a script run


def test_a_clean_shutdown_interrupts_the_run_and_keeps_the_queue(store):
    jobs = JobManager(store)
    running = jobs.submit(make_config("mlp", **LONG))
    waiting = jobs.submit(make_config("mlp", epochs=1))
    wait_until(lambda: store.get(running).epochs_done >= 1, "the first epoch")
    jobs.shutdown()
    rec = store.get(running)
    assert (rec.status, rec.cause, rec.reason) == ("interrupted", Cause.SHUTDOWN, SHUTDOWN_REASON)
    assert store.get(waiting).status == "queued"


def test_resume_all_queues_every_interrupted_run(store):
    ids = [store.create(make_config("mlp", epochs=1)) for _ in range(2)]
    for run_id in ids:
        store.update(run_id, status="interrupted")
    jobs = JobManager(store)
    try:
        assert jobs.resume_all() == ids
        assert all(jobs.wait(r, 120).status == "finished" for r in ids)
    finally:
        jobs.shutdown()


@pytest.mark.slow
def test_resume_all_on_the_command_line(workspace):
    store = RunStore(workspace)
    ids = [store.create(make_config("mlp", epochs=1)) for _ in range(2)]
    for run_id in ids:
        store.update(run_id, status="interrupted")
    cmd = [sys.executable, "-m", "nnlab", "resume", "--all", "--json", "--store", str(workspace)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["status"] for line in done.stdout.strip().splitlines()] == ["finished", "finished"]


def test_home_offers_resume_all_for_interrupted_runs(workspace):
    store = RunStore(workspace)
    ids = [store.create(make_config("mlp", dataset="digits", epochs=1)) for _ in range(2)]
    for run_id in ids:
        store.update(run_id, status="interrupted")
    at = app_at().run()
    at.button(key=KEY_RESUME_ALL).click().run()
    assert not at.exception
    assert all(store.get(r).status in ("queued", "running", "finished") for r in ids)
    assert "2 runs queued to continue" in " ".join(s.value for s in at.success)


FAITHFUL = ["--arch", "mlp", "--dataset", "digits", "--epochs", "30", "--dropout", "0.3", "--seed", "3"]
FAITHFUL += ["--no-early-stopping", "--hidden-sizes", "64", "--threads", "1"]


@pytest.mark.slow
def test_kill_9_mid_run_then_resume_ends_exactly_where_the_uninterrupted_run_does(workspace):
    whole = _cli_train(workspace, *FAITHFUL)
    whole_out = json.loads(whole.communicate(timeout=300)[0].strip().splitlines()[-1])
    store = RunStore(workspace)
    killed = _cli_train(workspace, *FAITHFUL)
    try:

        def past_epoch_2() -> bool:  # 30 epochs leave a wide window to land the kill in, however fast the CPU
            runs = [r for r in store.list() if r.run_id != whole_out["run_id"]]
            progress = runs[0].progress if runs else None
            return progress is not None and progress.epoch >= 2 and store.folder(runs[0].run_id).has_checkpoint()

        wait_until(past_epoch_2, "epoch 2 of the second run", every=0.02)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    run_id = store.list()[0].run_id
    store.recover()  # what opening the store or the dashboard's heartbeat does
    assert store.get(run_id).status == "interrupted" and store.get(run_id).epochs_done < 30  # killed, not finished
    cmd = [sys.executable, "-m", "nnlab", "resume", run_id, "--json", "--store", str(workspace)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    resumed = json.loads(done.stdout.strip().splitlines()[-1])
    assert resumed["status"] == "finished"
    for key in ("test_accuracy", "test_macro_f1"):
        assert resumed[key] == whole_out[key], key
    curve = [(m.train_loss, m.val_loss, m.val_metric) for m in store.metrics(run_id)]
    assert curve == [(m.train_loss, m.val_loss, m.val_metric) for m in store.metrics(whole_out["run_id"])]
