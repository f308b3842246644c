import pytest

from nnlab.core.causes import Cause
from nnlab.core.errors import ConfigError, NNLabError
from nnlab.jobs.manager import JobManager
from nnlab.store.runs import RunStore
from tests.helpers import tiny_config, wait_until


@pytest.fixture(params=["thread", pytest.param("process", marks=pytest.mark.slow)])
def manager(store, request):
    """The job manager training in its own threads, and (as the dashboard does) in child processes."""
    m = JobManager(store, leave_core=False, local=request.param)
    yield m
    m.shutdown()


def test_jobs_run_in_the_background_in_fifo_order(manager):
    first = manager.submit(tiny_config("mlp", epochs=2))
    second = manager.submit(tiny_config("mlp", epochs=1, seed=1))
    assert manager.store.get(second).status == "queued"
    assert manager.wait(first).status == "finished"
    assert manager.wait(second).status == "finished"
    assert manager.store.get(first).updated <= manager.store.get(second).updated


def test_invalid_config_is_refused_before_it_is_queued(manager):
    with pytest.raises(ConfigError, match="Learning rate"):
        manager.submit(tiny_config(lr=3.0))
    assert manager.store.list() == []


def test_stopping_a_queued_run_removes_it_and_a_running_one_stops_at_a_batch(manager):
    running = manager.submit(tiny_config("mlp", epochs=200, early_stopping=False))
    queued = manager.submit(tiny_config("mlp", epochs=1))
    assert "removed from the queue" in manager.stop(queued)
    assert manager.store.get(queued).status == "stopped"
    wait_until(lambda: manager.store.get(running).epochs_done >= 1, "the first epoch")
    assert "will stop" in manager.stop(running)
    rec = manager.wait(running)
    assert rec.status == "stopped" and rec.epochs_done < 200 and rec.test_value is not None


def test_an_exception_in_a_job_fails_that_run_only(manager, monkeypatch):
    import nnlab.engine.runner

    if manager.local == "process":
        pytest.skip("a monkeypatch does not reach the child process; see test_a_killed_training_process_*")

    real = nnlab.engine.runner.load_dataset
    calls = []

    def flaky(cfg):
        calls.append(cfg.seed)
        if cfg.seed == 13:
            raise ValueError("bad luck")
        return real(cfg)

    monkeypatch.setattr(nnlab.engine.runner, "load_dataset", flaky)
    bad = manager.submit(tiny_config(seed=13))
    good = manager.submit(tiny_config(seed=14))
    assert manager.wait(bad).status == "failed"
    assert manager.wait(good).status == "finished"


def test_stopped_run_resumes_from_its_checkpoint(manager):
    # 40 epochs: a stop reaches a run in a child process within about 0.1 s, and tiny epochs take milliseconds
    run_id = manager.submit(tiny_config("mlp", epochs=40, early_stopping=False))
    wait_until(lambda: manager.store.get(run_id).epochs_done >= 1, "the first epoch", every=0.02)
    manager.stop(run_id)
    stopped = manager.wait(run_id)
    assert stopped.status == "stopped" and stopped.epochs_done < 40
    manager.resume(run_id)
    done = manager.wait(run_id)
    assert done.status == "finished" and done.epochs_done == 40
    assert [m.epoch for m in manager.store.metrics(run_id)] == list(range(1, 41))


def test_only_interrupted_or_stopped_runs_resume(manager):
    run_id = manager.submit(tiny_config())
    manager.wait(run_id)
    with pytest.raises(NNLabError, match="only interrupted, stopped or failed"):
        manager.resume(run_id)


def test_an_observer_sees_every_epoch_on_the_driver_and_can_prune_the_run(manager):
    seen = []

    def observer(run_id, record):
        seen.append((run_id, record.epoch, manager.store.get(run_id).epochs_done))
        return record.epoch == 2

    run_id = manager.submit(tiny_config("mlp", epochs=6, early_stopping=False), observer=observer)
    rec = manager.wait(run_id)
    assert rec.status == "pruned" and "Pruned after epoch 2" in rec.reason
    assert seen == [(run_id, 1, 1), (run_id, 2, 2)]  # called after the store has the epoch, never after pruning
    assert [m.epoch for m in manager.store.metrics(run_id)] == [1, 2]  # the curve is kept
    assert rec.test_value is not None  # and the results of the weights it had


def test_a_queued_run_can_be_stopped_as_pruned(manager):
    running = manager.submit(tiny_config("mlp", epochs=3))
    queued = manager.submit(tiny_config("mlp", epochs=1, seed=2))
    manager.stop(queued, Cause.PRUNED, "Pruned before it started.")
    assert (manager.store.get(queued).status, manager.store.get(queued).cause) == ("pruned", Cause.PRUNED)
    assert manager.wait(running).status == "finished"


@pytest.mark.slow
def test_a_killed_training_process_leaves_its_run_interrupted_and_resumable(store):
    import multiprocessing
    import os
    import signal

    manager = JobManager(store, leave_core=False, local="process")
    try:
        run_id = manager.submit(tiny_config("mlp", epochs=200, early_stopping=False))
        wait_until(lambda: store.get(run_id).epochs_done >= 1, "the first epoch")
        child = next(p for p in multiprocessing.active_children() if p.name == f"nnlab-run-{run_id}")
        assert child.pid != os.getpid()
        os.kill(child.pid, signal.SIGKILL)
        rec = manager.wait(run_id, timeout=60)
        assert rec.status == "interrupted" and "ended unexpectedly (signal 9)" in rec.reason
        manager.resume(run_id)
        wait_until(lambda: store.get(run_id).epochs_done >= 2, "an epoch after the resume")
        manager.stop(run_id)
        assert manager.wait(run_id).status == "stopped"
    finally:
        manager.shutdown()


@pytest.mark.slow
def test_a_training_process_does_not_run_the_page_script_installed_as_main(tmp_path, monkeypatch):
    """Issue 21: Streamlit installs the running page as __main__; each training child ran it again (232 "missing
    ScriptRunContext" lines in 90 minutes of a server's log, and a lab of its own in every run's process)."""
    import sys
    import types

    from nnlab.engine.runner import StopFlag
    from nnlab.jobs.process import run_isolated

    marker = tmp_path / "the page ran in the child"
    page = tmp_path / "page.py"
    page.write_text(f"open({str(marker)!r}, 'w').close()\n")
    fake = types.ModuleType("__main__")
    fake.__file__ = str(page)  # what Streamlit's script runner leaves in sys.modules while a page runs
    monkeypatch.setitem(sys.modules, "__main__", fake)
    store = RunStore(tmp_path / "workspace")
    run_id = store.create(tiny_config("mlp", epochs=1))
    store.claim_queued(run_id)
    run_isolated(str(store.root), run_id, StopFlag(), None, False, False)
    assert store.get(run_id).status == "finished"
    assert not marker.exists()
    assert sys.modules["__main__"] is fake  # the parent's main is back
