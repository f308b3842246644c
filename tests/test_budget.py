"""The run memory budget: a run whose model would not fit is refused before anything is allocated (the CLI in one
sentence, the dashboard with Start disabled and the reason), only the local operator raises it, and a run that
grows past its budget fails with advice while the process that started it lives on."""

from __future__ import annotations

import subprocess
import sys

import pytest
import streamlit as st

from nnlab.core.errors import NNLabError
from nnlab.core.limits import MEMORY_ENV, MemoryBudget, run_memory_budget
from nnlab.data.registry import make_config
from nnlab.engine.memory import capped, grew_past, memory_problem, out_of_budget
from nnlab.lab import Lab
from nnlab.store.runs import RunStore
from nnlab.ui.keys import KEY_AUTHED
from tests.helpers import app_at

FORTY = ",".join(["8192"] * 40)  # forty hidden layers of 8192: about 48.8 GB before a single batch
GB = 2**30


@pytest.fixture(autouse=True)
def fresh_caches():
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def test_the_default_budget_is_a_share_of_the_machine_and_the_operator_can_set_it(monkeypatch):
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    default = run_memory_budget()
    assert default.source == "default" and "half of this machine's" in default.text
    monkeypatch.setenv(MEMORY_ENV, "300")
    assert run_memory_budget().mb == 300 and MEMORY_ENV in run_memory_budget().text
    assert run_memory_budget(override_mb=900).source == "override"


def test_a_model_over_the_budget_is_refused_from_its_shapes_alone():
    cfg = make_config("mlp", hidden_sizes=(8192,) * 40, expert=True)
    from nnlab.data import load_dataset

    refused = memory_problem(cfg, load_dataset(cfg).facts, MemoryBudget(11 * 1024, "default"))
    assert refused.startswith("This run needs 48.8 GB for the model's weights, gradients and optimizer state alone")
    assert refused.endswith("use fewer or smaller layers.") and refused.count(". ") == 0
    assert memory_problem(make_config("mlp"), load_dataset(cfg).facts, MemoryBudget(100, "default")) is None


@pytest.mark.slow
def test_the_command_line_refuses_forty_layers_of_8192_in_one_sentence_before_any_allocation(tmp_path):
    code = (
        "from nnlab.cli.main import main\n"
        f"code = main(['train', '--arch', 'mlp', '--dataset', 'digits', '--expert', '--hidden-sizes', {FORTY!r}, "
        f"'--store', {str(tmp_path)!r}])\n"
        # this program's peak resident memory: VmHWM, not ru_maxrss, which Linux carries over the exec from the
        # forked test worker (a worker of 2 GB read as this program's 2.15 GB, where it peaks at about 0.7 GB)
        "peak = next(int(ln.split()[1]) for ln in open('/proc/self/status') if ln.startswith('VmHWM:'))\n"
        "print(code, peak * 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    code, peak = out.stdout.split()
    assert code == "2"
    said = out.stderr.strip().splitlines()
    assert len(said) == 1 and said[0].startswith("nnlab: This run needs 48.8 GB"), out.stderr
    assert int(peak) < 2 * GB  # its weights alone would be 10 GB
    assert RunStore(tmp_path).list() == []  # refused before any run was recorded


def test_a_raised_budget_is_recorded_with_the_run_and_said(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "1")  # 1 MB: the default MLP needs more
    lab = Lab(tmp_path)
    cfg = make_config("mlp", epochs=1, threads=1)  # about 1.1 MB of weights, gradients, Adam state and best copy
    with pytest.raises(NNLabError, match=r"needs 1\.1 MB .* more than 1\.0 MB"):
        lab.train(cfg)
    assert lab.store.list() == []
    (rec,) = lab.train(cfg, memory_budget_mb=500)
    assert rec.status == "finished" and rec.summary["memory_budget_mb"] == 500


def test_the_lab_refuses_a_background_start_over_the_budget_as_it_refuses_a_foreground_one(tmp_path, monkeypatch):
    """The bound lives in the service: a front end that skips the form's gate (a script, a later REST API) is
    refused the same, before any run is queued; a raised budget lets it start."""
    monkeypatch.setenv(MEMORY_ENV, "1")
    lab = Lab(tmp_path)
    cfg = make_config("mlp", epochs=1, threads=1)
    with pytest.raises(NNLabError, match=r"needs 1\.1 MB .* more than 1\.0 MB"):
        lab.start(cfg, seeds=2)
    assert lab.store.list() == []
    started = lab.start(cfg, memory_budget_mb=500)
    assert lab.store.get(started.run_id).summary["memory_budget_mb"] == 500
    lab.stop(started.run_id)


def test_the_train_page_disables_start_with_the_reason_for_forty_layers_of_8192():
    at = app_at("pages/1_Train.py").run()
    at.toggle("tr_expert").set_value(True).run()
    at.text_input("tr_mlp_hidden_sizes").set_value(FORTY).run()
    assert not at.exception
    assert at.button("tr_start").disabled
    assert any("This run needs 48.8 GB" in e.value and "use fewer or smaller layers" in e.value for e in at.error)
    # the local operator (no password) may raise it for this run, visibly
    at.toggle("tr_memory_override").set_value(True).run()
    assert not at.button("tr_start").disabled
    assert any("raised by the local operator" in w.value for w in at.warning)


def test_a_password_visitor_cannot_raise_the_budget():
    at = app_at("pages/1_Train.py")
    at.secrets["password"] = "s3cret"
    at.session_state[KEY_AUTHED] = True
    at.run()
    at.toggle("tr_expert").set_value(True).run()
    at.text_input("tr_mlp_hidden_sizes").set_value(FORTY).run()
    assert at.button("tr_start").disabled
    assert not [t for t in at.toggle if t.key == "tr_memory_override"]


def test_growing_past_the_cap_fails_the_allocation_not_the_process():
    import torch

    with capped(MemoryBudget(200, "operator")) as on:
        if not on:
            pytest.skip("no RLIMIT_DATA on this platform")
        with pytest.raises(RuntimeError) as err:
            torch.zeros(200_000_000)  # 800 MB
    assert out_of_budget(err.value)
    assert torch.zeros(50_000_000).numel()  # the cap is lifted again: this process lives on
    said = grew_past(MemoryBudget(200, "operator"))
    assert "lower the batch size" in said and MEMORY_ENV in said and said.count(". ") == 0


@pytest.mark.slow
def test_a_child_process_run_that_grows_past_its_budget_fails_with_advice(tmp_path, monkeypatch):
    from nnlab.engine.runner import StopFlag
    from nnlab.jobs.process import run_isolated

    monkeypatch.setenv(MEMORY_ENV, "40")  # the model fits; one batch's activations (about 60 MB) do not
    store = RunStore(tmp_path)
    cfg = make_config(
        "mlp", hidden_sizes=(4096,), batch_size=4096, expert=True, epochs=1, threads=1, early_stopping=False
    )
    run_id = store.create(cfg)
    store.claim_queued(run_id)
    run_isolated(str(tmp_path), run_id, StopFlag(), None, False, False)
    rec = store.get(run_id)
    assert rec.status == "failed"
    assert rec.reason.startswith("The run grew past its memory budget of 40 MB"), rec.reason
    assert "lower the batch size" in rec.reason


def test_a_budget_set_below_the_default_is_said_lowered_not_raised(monkeypatch):
    """`train --memory-budget 1` was refused with 'more than 1.0 MB (raised for this run by the local operator)',
    where the operator had lowered it from the default."""
    monkeypatch.setenv(MEMORY_ENV, "4096")
    assert run_memory_budget(1).text == "1.0 MB (lowered for this run by the local operator)"
    assert run_memory_budget(8192).text == "8.0 GB (raised for this run by the local operator)"
