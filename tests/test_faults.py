"""Faults during a run: each ends in a clear status and loses nothing that was saved."""

import threading

import pytest
import torch

import nnlab.engine.runner
from nnlab.core.causes import Cause
from nnlab.engine.runner import execute
from nnlab.jobs.manager import JobManager
from nnlab.store.runfolder import CHECKPOINT_LAST
from tests.helpers import tiny_config, wait_until


def _run(store, cfg):
    run_id = store.create(cfg)
    store.claim_queued(run_id)
    return execute(store, run_id)


@pytest.mark.slow
def test_a_disk_error_while_checkpointing_fails_clearly_and_keeps_the_previous_checkpoint(store, monkeypatch):
    real_save, calls = torch.save, []

    def flaky_save(obj, f, *a, **k):
        if str(store.root) in str(f):  # the run's files (its pre-flight times a checkpoint write elsewhere)
            calls.append(f)
        if len(calls) > 2:  # epoch 1 wrote best.pt and last.pt; then the disk fills up
            with open(f, "wb") as fh:
                fh.write(b"half")
            raise OSError(28, "No space left on device")
        return real_save(obj, f, *a, **k)

    monkeypatch.setattr(nnlab.engine.runner.torch, "save", flaky_save)
    rec = _run(store, tiny_config("mlp", epochs=4, early_stopping=False))
    assert rec.status == "failed"
    assert "No space left on device" in rec.reason and "resume" in rec.reason
    state = store.folder(rec.run_id).load_checkpoint()
    assert len(state["history"]) == 1  # the epoch-1 checkpoint is whole and loadable
    assert not list(store.run_dir(rec.run_id).glob(".*.tmp"))

    monkeypatch.setattr(nnlab.engine.runner.torch, "save", real_save)  # space freed: the run resumes
    manager = JobManager(store, leave_core=False)
    manager.resume(rec.run_id)
    done = manager.wait(rec.run_id)
    manager.shutdown()
    assert done.status == "finished" and done.epochs_done == 4


def test_gpu_out_of_memory_fails_the_run_with_advice(store, monkeypatch):
    def oom(self, *a, **k):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(nnlab.engine.runner.Trainer, "train_one_epoch", oom)
    rec = _run(store, tiny_config())
    assert rec.status == "failed" and "lower the batch size" in rec.reason
    assert "Traceback" in (store.run_dir(rec.run_id) / "log.txt").read_text()


def _poisoned(fn, after: int):
    """fn, whose output turns NaN from its (after + 1)-th call on: a loss that explodes mid-run."""
    calls = []

    def poisoned(*a, **k):
        calls.append(1)
        out = fn(*a, **k)
        return out * float("nan") if len(calls) > after else out

    return poisoned


@pytest.mark.slow
@pytest.mark.parametrize("batchnorm", [False, True], ids=["fast-mlp-step", "autograd"])
def test_a_nan_loss_is_recorded_as_diverged_with_advice_and_no_report(store, monkeypatch, batchnorm):
    # the MLP's fast CPU step takes log_softmax itself (autograd's loss never calls it); with batch norm the step
    # is autograd's, through the loss module: each path gets its own poison, so each must catch the NaN itself
    if batchnorm:
        monkeypatch.setattr(torch.nn.CrossEntropyLoss, "forward", _poisoned(torch.nn.CrossEntropyLoss.forward, 30))
    else:
        monkeypatch.setattr(torch, "log_softmax", _poisoned(torch.log_softmax, 30))
    rec = _run(store, tiny_config("mlp", epochs=3, batchnorm=batchnorm))
    assert rec.status == "diverged" and "lower the learning rate" in rec.reason
    assert rec.test_value is None


def test_two_sessions_starting_runs_at_once_both_queue_and_both_finish(store):
    manager = JobManager(store, leave_core=False)
    ids, barrier = [], threading.Barrier(2)

    def session(seed):
        barrier.wait()
        ids.append(manager.submit(tiny_config("mlp", epochs=1, seed=seed)))

    threads = [threading.Thread(target=session, args=(s,)) for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 2
    assert [manager.wait(i).status for i in ids] == ["finished", "finished"]
    manager.shutdown()


def test_shutdown_stops_the_running_job_at_a_batch_and_keeps_it_resumable(store):
    manager = JobManager(store, leave_core=False)
    run_id = manager.submit(tiny_config("mlp", epochs=150, early_stopping=False))
    wait_until(lambda: store.get(run_id).epochs_done >= 1, "the first epoch", every=0.02)
    manager.shutdown(timeout=30)
    rec = store.get(run_id)
    assert rec.status == "interrupted" and rec.epochs_done < 150  # not the user's Stop (issue 12, item 4)
    assert rec.cause == Cause.SHUTDOWN and "shut down" in rec.reason
    assert (store.run_dir(rec.run_id) / CHECKPOINT_LAST).is_file()


@pytest.mark.parametrize("bad_id", ["../etc", "a/b", ".hidden", ""])
def test_run_ids_cannot_reach_outside_the_workspace(store, bad_id):
    from nnlab.core.errors import NNLabError

    with pytest.raises(NNLabError):
        store.run_dir(bad_id)
