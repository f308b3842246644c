"""A workspace written by the code this round started from (3bbc327, before the layer packages) opens unchanged,
and what was cut short there goes on here: its interrupted run resumes to the end, its sweep killed mid-way
finishes its trials, its finished runs report and compare.

tests/data/workspace-of-3bbc327 was made by that commit's `nnlab` (a 3-epoch
digits MLP; a 40-epoch one killed with SIGKILL after epoch 3; a 4-trial grid sweep of 20-epoch trials killed
with SIGKILL after its first trial finished) and is copied, never written in place."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nnlab.cli.main import main
from nnlab.store.runs import RunStore
from nnlab.sweeps.store import SweepStore
from tests.helpers import app_at

OLD = Path(__file__).parent / "data" / "workspace-of-3bbc327"
FINISHED, CUT, SWEEP = "20261207-005326-7baf", "20261207-005330-a74c", "sw-20261207-005334-404d"


@pytest.fixture
def old(workspace):
    shutil.copytree(OLD, workspace)
    return workspace


def _runs(capsys) -> dict[str, dict]:
    assert main(["runs", "--json"]) == 0
    return {r["run_id"]: r for r in json.loads(capsys.readouterr().out)}


def test_an_old_workspace_lists_its_runs_and_marks_the_killed_ones_interrupted(old, capsys):
    runs = _runs(capsys)
    assert len(runs) == 4 and runs[FINISHED]["status"] == "finished" and runs[CUT]["status"] == "interrupted"
    trial = [r for r in runs.values() if r.get("sweep_id") == SWEEP and r["status"] != "finished"]
    assert [r["status"] for r in trial] == ["interrupted"]  # its process was killed: nobody holds it


@pytest.mark.slow
def test_an_old_interrupted_run_resumes_to_its_last_epoch(old, capsys):
    assert main(["resume", CUT, "--json"]) == 0
    capsys.readouterr()
    rec = RunStore(old).get(CUT)
    assert rec.status == "finished" and rec.epochs_done == 40


@pytest.mark.slow
def test_an_old_sweep_killed_mid_way_finishes_its_trials(old, capsys):
    assert main(["sweep", "resume", SWEEP, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["status"] == "finished" and summary["trials"] == 4 and summary["finished"] == 4
    assert SweepStore(RunStore(old)).get(SWEEP).status == "finished"


def test_old_finished_runs_report_and_compare(old, tmp_path, capsys):
    sweep_run = next(r for r in _runs(capsys).values() if r.get("sweep_id") == SWEEP and r["status"] == "finished")
    assert main(["report", FINISHED, "--out", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").stat().st_size > 1_000_000
    assert main(["compare", FINISHED, sweep_run["run_id"], "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert verdict["a"] == FINISHED and "p_value" in verdict


def test_the_dashboard_opens_an_old_run(old):
    at = app_at("pages/2_Results.py", FINISHED).run()
    assert not at.exception and not at.error
    assert any("test accuracy" in m.label for m in at.metric)
