"""A trial's state read from its runs: one stopped by hand is `stopped` (the sweep went on without it and does not
re-run it as failed), one held by its sweep's Stop is `paused` (it resumes with the sweep)."""

from nnlab.core.causes import HELD_REASON, Cause
from nnlab.jobs.manager import JobManager
from nnlab.sweeps.driver import trial_state
from nnlab.sweeps.results import ended
from tests.helpers import tiny_config


def run_with(store, status: str, cause: Cause = Cause.NONE, reason: str = ""):
    run_id = store.create(tiny_config("mlp"), sweep_id="sw-test", trial=0)
    store.update(run_id, status=status, cause=cause, reason=reason)
    return store.get(run_id)


def test_a_run_stopped_by_hand_ends_its_trial_as_stopped(store):
    assert trial_state([run_with(store, "stopped", Cause.USER)], 1) == "stopped"
    assert trial_state([run_with(store, "stopped", Cause.USER, "Stopped before it started.")], 1) == "stopped"
    by_hand = [run_with(store, "stopped", Cause.USER), run_with(store, "running")]
    assert trial_state(by_hand, 2) == "stopped"  # the sweep stops its other seeds too


def test_a_run_held_by_its_sweeps_stop_or_interrupted_leaves_its_trial_paused(store):
    assert trial_state([run_with(store, "stopped", Cause.HELD, "Any sentence at all.")], 1) == "paused"
    assert trial_state([run_with(store, "interrupted", Cause.SHUTDOWN)], 1) == "paused"
    failed = [run_with(store, "failed", Cause.ERROR, "disk full"), run_with(store, "stopped", Cause.USER)]
    assert trial_state(failed, 2) == "failed"


def test_the_sweeps_stop_of_a_queued_trial_keeps_its_reason(store):
    manager = JobManager(store, concurrency=0)  # no worker: its runs stay queued
    held, by_hand = manager.submit(tiny_config("mlp")), manager.submit(tiny_config("mlp"))
    manager.stop(held, Cause.HELD)
    manager.stop(by_hand)
    assert (store.get(held).cause, store.get(held).reason) == (Cause.HELD, HELD_REASON)
    assert (store.get(by_hand).cause, store.get(by_hand).reason) == (Cause.USER, "Stopped before it started.")
    manager.shutdown()


def test_trials_done_counts_the_ones_stopped_by_hand():
    assert ended({"finished": 2, "pruned": 1, "failed": 1, "stopped": 1}) == 5


def test_a_driver_that_fails_leaves_a_reason_without_the_servers_folders(store, monkeypatch):
    """Issue 21: the reason shows on the Sweep page, also to password visitors; it named the log by its full path."""
    from nnlab.sweeps import driver
    from nnlab.sweeps.space import parse_dim
    from nnlab.sweeps.store import SweepStore

    def broken(self):
        raise RuntimeError("a bug")

    monkeypatch.setattr(driver.SweepDriver, "run", broken)
    sweeps = SweepStore(store)
    sweep_id = sweeps.create(driver.make_spec(tiny_config("mlp"), [parse_dim("lr", "1e-3,1e-2")], 2))
    manager = JobManager(store, concurrency=0)
    driver.start_in_thread(manager, sweep_id).join(30)
    manager.shutdown()
    rec = sweeps.get(sweep_id)
    assert rec.status == "interrupted" and "RuntimeError" in rec.reason, rec.reason
    assert str(store.root) not in rec.reason and f"sweeps/{sweep_id}.log" in rec.reason
    assert "a bug" in (store.root / "sweeps" / f"{sweep_id}.log").read_text()


def test_a_resumed_sweep_is_queued_at_once_so_its_page_polls_it_and_offers_stop(workspace, monkeypatch):
    """Resume on the Sweep page redrew the page before the driver's thread claimed the sweep: it read 'paused', so
    the page stopped polling and kept Stop disabled while the sweep trained its trials to the end."""
    from nnlab.lab import Lab
    from nnlab.sweeps import driver
    from nnlab.sweeps.space import parse_dim
    from nnlab.sweeps.store import ACTIVE_SWEEPS

    started = []
    monkeypatch.setattr(driver, "start_in_thread", lambda jobs, sweep_id: started.append(sweep_id))
    lab = Lab(workspace)
    for status in ("paused", "finished"):
        sweep_id = lab.sweeps.create(driver.make_spec(tiny_config("mlp"), [parse_dim("lr", "1e-3,1e-2")], 2))
        lab.sweeps.finish_session(sweep_id, status, "Paused by the user.")
        if status == "paused":
            lab.resume_sweep(sweep_id)
        else:
            lab.confirm_sweep(sweep_id, top=1, seeds=1)
        rec = lab.sweeps.get(sweep_id)
        assert started[-1] == sweep_id and rec.status in ACTIVE_SWEEPS and rec.reason == "", rec.status
