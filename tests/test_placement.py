"""Where a run trains: the executor registry (a new executor is one module and one registry line), a run that
remembers its placement, and a resume that sends it back there or says in one sentence why not and where instead."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nnlab.core.causes import Cause
from nnlab.core.placement import EXECUTORS, Placement, make_placement, placements
from nnlab.lab import Lab
from tests import elsewhere_executor
from tests.elsewhere_executor import SUBMITTED, ElsewhereExecutor
from tests.helpers import tiny_config, wait_until

LONG = {"epochs": 60, "early_stopping": False}


@pytest.fixture
def elsewhere(monkeypatch):
    """The executor of tests/elsewhere_executor.py, registered as "elsewhere" by one line."""
    monkeypatch.setitem(EXECUTORS, "elsewhere", "tests.elsewhere_executor:ElsewhereExecutor")
    monkeypatch.setattr(ElsewhereExecutor, "down", "")
    SUBMITTED.clear()
    return make_placement("elsewhere")


def stopped_after_an_epoch(lab: Lab, placement: Placement | None, epochs: int = 60) -> str:
    """A run started with this placement and stopped once it has a checkpoint."""
    run_id = lab.start(tiny_config("mlp", **{**LONG, "epochs": epochs}), placement=placement).run_id
    wait_until(lambda: lab.store.get(run_id).epochs_done >= 1, "the first epoch")
    lab.stop(run_id)
    wait_until(lambda: not lab.is_active(run_id), "the stop")
    assert lab.store.get(run_id).status == "stopped"
    return run_id


@pytest.mark.slow
def test_a_registered_executor_is_a_placement_and_a_run_remembers_it(workspace, elsewhere):
    assert "elsewhere" in placements() and elsewhere == Placement("elsewhere")
    lab = Lab(workspace)
    try:
        run_id = stopped_after_an_epoch(lab, elsewhere)
        assert [(run_id, False)] == SUBMITTED
        assert lab.store.get(run_id).placement == elsewhere
        assert lab.jobs.running() == []  # a run placed elsewhere never holds a slot of this machine's lanes
    finally:
        lab.shutdown()


@pytest.mark.slow
def test_resume_sends_a_run_back_where_it_was_placed(workspace, elsewhere):
    lab = Lab(workspace)
    try:
        run_id = stopped_after_an_epoch(lab, elsewhere)
        said = lab.resume(run_id)  # the dashboard's Resume: no placement given
        assert "It resumes on the elsewhere executor, where it trained." in said
        assert SUBMITTED[-1] == (run_id, True)
        done = lab.store.get(run_id).epochs_done
        wait_until(lambda: lab.store.get(run_id).epochs_done > done, "an epoch after the resume")
        assert lab.store.get(run_id).placement == elsewhere
    finally:
        lab.shutdown()


@pytest.mark.slow
def test_resume_says_why_a_placement_cannot_take_the_run_and_trains_it_here(workspace, elsewhere, monkeypatch):
    lab = Lab(workspace)
    try:
        run_id = stopped_after_an_epoch(lab, elsewhere)
        monkeypatch.setattr(ElsewhereExecutor, "down", "its cluster is down")
        said = lab.resume(run_id)
        assert said.endswith(
            "It trained on the elsewhere executor, but its cluster is down: it resumes on this machine instead."
        )
        assert SUBMITTED[-1] == (run_id, False)  # nothing more went there
        assert run_id in lab.jobs.running() + lab.jobs.queued()  # this machine's lane has it
        assert lab.store.get(run_id).placement == Placement()  # and the run remembers where it went
    finally:
        lab.shutdown()


@pytest.mark.slow
def test_a_run_placed_by_a_later_nnlab_on_an_executor_this_one_lacks_resumes_here(workspace):
    lab = Lab(workspace)
    try:
        run_id = stopped_after_an_epoch(lab, None)
        lab.store.set_placement(run_id, Placement("slurm", "cluster:6817"))
        said = lab.resume(run_id)
        assert "It trained on the slurm executor at cluster:6817, but this nnlab has no slurm executor" in said
        lab.stop(run_id)
    finally:
        lab.shutdown()


@pytest.mark.slow
def test_the_stop_of_a_run_elsewhere_keeps_its_cause(workspace, elsewhere):
    lab = Lab(workspace)
    try:
        run_id = stopped_after_an_epoch(lab, elsewhere)
        assert lab.store.get(run_id).cause == Cause.USER
    finally:
        lab.shutdown()


def test_the_module_of_the_new_executor_is_all_it_took():
    assert elsewhere_executor.ElsewhereExecutor.here is False
    assert set(EXECUTORS) >= {"thread", "process", "ray"}


@pytest.mark.slow
def test_cli_resume_of_a_run_placed_on_a_cluster_that_does_not_answer_trains_it_here_and_says_so(workspace):
    lab = Lab(workspace)
    try:
        run_id = stopped_after_an_epoch(lab, None, epochs=12)
    finally:
        lab.shutdown()
    lab.store.set_placement(run_id, Placement("ray", "127.0.0.1:9"))  # nothing answers at port 9 here
    cmd = [sys.executable, "-m", "nnlab", "resume", run_id, "--json", "--store", str(workspace)]
    out = subprocess.run(cmd, cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    said = "It trained on the Ray cluster at 127.0.0.1:9, but it does not answer: it resumes on this machine instead."
    assert said in out.stderr
    rec = json.loads(out.stdout.splitlines()[-1])
    assert rec["status"] == "finished" and "Ray node" not in rec["device"] and rec["executor"] == "local"
