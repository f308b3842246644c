"""AppTest of the Sweep page: the form reuses Train's widgets, bad ranges are refused in words, a small sweep
starts, is watched until it ends, and a trial opens as an ordinary run."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from nnlab.store.runs import RunStore
from nnlab.sweeps.driver import rerun_failed_trials
from nnlab.sweeps.store import SweepStore
from nnlab.ui import TRAIN_PAGE
from tests.helpers import app_at, wait_until

ROOT = Path(__file__).resolve().parents[1]
APP, SWEEP_PAGE = str(ROOT / "app.py"), "pages/5_Sweep.py"


@pytest.fixture(autouse=True)
def fresh_caches():
    """AppTest shares st.cache_resource across instances in one process: a new job manager per test."""
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def sweep_page() -> AppTest:
    """The Sweep page reached from the entry page, so its links to Results and Train resolve."""
    at = AppTest.from_file(APP, default_timeout=90).run()
    return at.switch_page(SWEEP_PAGE).run()


def small_form(at: AppTest) -> AppTest:
    """A tiny MLP base (one layer of 32, 3 epochs) varying the learning rate and dropout, 3 trials."""
    at.text_input("tr_mlp_hidden_sizes").set_value("32")
    at.number_input("tr_epochs").set_value(3)
    at.toggle("tr_early_stopping").set_value(False)
    at.run()
    at.number_input("sw_trials_n").set_value(3)
    at.selectbox("sw_pruner").set_value("median")
    at.number_input("sw_confirm_top").set_value(0)
    return at.run()


def table_states(at: AppTest) -> tuple[str, ...]:
    """The state of every trial in the page's trials table (its status column is an icon and the state in words)."""
    words = {"stopped by hand": "stopped", "stopped with the sweep (resumes with it)": "paused"}
    words["interrupted (resumes with the sweep)"] = "paused"
    cells = at.dataframe[0].value["status"] if at.dataframe else ()
    return tuple(words.get(s.split(" ", 1)[1], s.split(" ", 1)[1]) for s in cells)


def watch(at: AppTest, sweeps: SweepStore, sweep_id: str, timeout: float = 300) -> list[tuple[str, ...]]:
    """Rerun the page (AppTest ignores run_every) until the sweep leaves running; the table's states each time."""
    seen: list[tuple[str, ...]] = []

    def ended() -> bool:
        seen.append(table_states(at.run()))
        return sweeps.get(sweep_id).status not in ("queued", "running")

    wait_until(ended, "the sweep to leave running", timeout, every=0.3)
    return seen


def sweep_id_of(at: AppTest) -> str:
    value = at.query_params["sweep"]
    return value[0] if isinstance(value, list) else value


def test_the_form_counts_trials_and_refuses_a_range_outside_the_field():
    at = sweep_page()
    assert not at.exception
    assert at.selectbox("tr_dataset").value == "digits"  # the Train form itself
    assert at.multiselect("sw_vary").value == ["lr", "dropout"]
    assert [m.value for m in at.metric if m.label == "Trials"] == ["12"]
    at.number_input("sw_dropout_high").set_value(0.8).run()
    errors = [e.value for e in at.error]
    assert any("Dropout 0.8 is outside the allowed 0.1 to 0.5" in e for e in errors), errors
    assert at.button("sw_start").disabled
    at.number_input("sw_dropout_high").set_value(0.5)
    at.selectbox("sw_strategy").set_value("grid").run()
    assert [m.value for m in at.metric if m.label == "Trials"] == ["9"]  # 3 x 3 grid points
    assert not at.button("sw_start").disabled


@pytest.mark.slow
def test_start_a_small_sweep_watch_it_and_open_a_trial():
    at = small_form(sweep_page())
    at.button("sw_start").click().run()
    sweep_id = sweep_id_of(at)
    store = RunStore()
    sweeps = SweepStore(store)
    seen = watch(at, sweeps, sweep_id)
    assert sweeps.get(sweep_id).status == "finished"
    # the table filled while it trained: a trial still training (or waiting) was on show, then all three ended
    assert any(set(states) & {"running", "queued"} for states in seen), seen
    assert [len(states) for states in seen] == sorted(len(states) for states in seen)
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Trials done"] == "3 / 3"
    assert "Report (HTML)" in {b.label for b in at.get("download_button")}  # the sweep as one offline file
    runs = store.list(sweep_id=sweep_id)
    assert len(runs) == 3 and all(r.trial is not None for r in runs)
    table = at.dataframe[0].value
    assert len(table) == 3 and set(table["run"]) == {r.run_id for r in runs}
    assert {s.split()[-1] for s in table["status"]} <= {"finished", "pruned"}
    first = table["run"][0]
    at.session_state["sw_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()  # a finished trial opens in Results, as any run
    assert at.query_params["run"] in (first, [first])


@pytest.mark.slow
def test_the_sweep_preview_measures_corners_of_the_space_and_gives_the_sweeps_time_and_peak_memory():
    at = small_form(sweep_page())
    assert not any(m.label == "Estimated time" for m in at.metric)  # measured on request, off the page's thread
    at.button(key="sw_estimate").click().run()

    def measured() -> bool:
        at.run()  # AppTest ignores run_every: rerun until the background measurement is in
        return any(m.label == "Peak memory" for m in at.metric)

    wait_until(measured, "the sweep's estimate", timeout=180, every=0.5)
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Estimated time"] not in ("–", "") and metrics["Peak memory"].endswith(("KB", "MB", "GB"))
    assert "3 runs, 1 at a time" in next(m.help for m in at.metric if m.label == "Estimated time")


@pytest.mark.slow
def test_a_sweep_sent_to_ray_from_the_page_keeps_that_choice_and_hands_its_trials_to_the_cluster(monkeypatch):
    """No Ray here: this test stands in for the Ray driver process (it records the address it would start for,
    then ends the handed-over run as a driver does); the Ray path itself is tested in test_ray_executor."""
    import nnlab.jobs.ray.backend as ray_jobs

    monkeypatch.delenv("NNLAB_RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    started: list[str] = []
    monkeypatch.setattr(ray_jobs, "ensure_driver", lambda store, address: started.append(address))
    at = small_form(sweep_page())
    assert at.radio("tr_where").value == "local"  # the Train form's choice, on the Sweep page too
    at.radio("tr_where").set_value("ray").run()
    at.text_input("tr_ray_address").set_value("head node:6379").run()
    assert any("has spaces in it" in e.value for e in at.error) and at.button("sw_start").disabled
    at.text_input("tr_ray_address").set_value("head:6379").run()
    assert any("trains on the Ray cluster at head:6379" in c.value for c in at.caption)
    at.button("sw_start").click().run()
    assert not at.exception
    sweep_id = sweep_id_of(at)
    store, table = RunStore(), ray_jobs.RayTable(RunStore())
    sweeps = SweepStore(store)
    spec = sweeps.get(sweep_id).spec
    assert (spec.executor, spec.ray_address) == ("ray", "head:6379")
    wait_until(
        lambda: (runs := store.list(sweep_id=sweep_id)) and table.get(runs[0].run_id) is not None,
        "the sweep's first trial to reach the Ray table",
        180,
    )
    runs = store.list(sweep_id=sweep_id)
    assert table.get(runs[0].run_id).address == "head:6379" and started and set(started) == {"head:6379"}
    assert any("on the Ray cluster at head:6379" in c.value for c in at.run().caption)
    sweeps.request(sweep_id, "stop")  # then end the run as the Ray driver would, and the sweep stops
    wait_until(lambda: table.get(runs[0].run_id).request == "held", "the sweep's stop to reach the Ray table")
    row = table.get(runs[0].run_id)
    store.update(runs[0].run_id, status="stopped", cause="held", reason=row.request_reason)
    table.set(runs[0].run_id, state="done")
    wait_until(lambda: sweeps.get(sweep_id).status != "running", "the sweep to stop")
    assert sweeps.get(sweep_id).status == "stopped"


@pytest.mark.slow
def test_a_trial_stopped_on_its_run_page_shows_as_stopped_and_the_sweep_goes_on():
    at = sweep_page()
    at.text_input("tr_mlp_hidden_sizes").set_value("32")
    at.toggle("tr_early_stopping").set_value(False)
    at.number_input("tr_seed").set_value(3)  # the grid's order with seed 3: 2, 200, 3 epochs
    at.multiselect("sw_vary").set_value(["epochs"]).run()
    at.segmented_control("sw_epochs_mode").set_value("list").run()
    at.text_input("sw_epochs_list").set_value("200,2,3")
    at.selectbox("sw_strategy").set_value("grid").run()
    at.number_input("sw_confirm_top").set_value(0).run()  # the trials' own states are what this test reads
    assert [m.value for m in at.metric if m.label == "Trials"] == ["3"]
    at.button("sw_start").click().run()
    sweep_id, store = sweep_id_of(at), RunStore()
    sweeps = SweepStore(store)

    def trained_long() -> list:
        return [r for r in store.list(sweep_id=sweep_id) if r.config.epochs == 200 and r.epochs_done]

    wait_until(lambda: bool(trained_long()), "the 200-epoch trial to train an epoch", 300)
    long = trained_long()
    run_page = app_at(TRAIN_PAGE, long[0].run_id).run()  # the run's own page, as the trials table opens it
    run_page.button("tr_stop").click().run()  # Stop, as a user would
    assert not run_page.exception
    watch(at, sweeps, sweep_id)
    assert sweeps.get(sweep_id).status == "finished"
    stopped = store.get(long[0].run_id)
    assert stopped.status == "stopped" and stopped.reason == "Stopped by the user." and stopped.epochs_done < 200
    table = at.run().dataframe[0].value
    states = dict(zip(table["trial"], table_states(at), strict=True))
    assert states == {0: "finished", 1: "stopped", 2: "finished"}  # the sweep went on with the next trial
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Trials done"], metrics["Failed"], metrics["Stopped by hand"]) == ("3 / 3", "0", "1")
    assert at.button("sw_rerun").label == "Re-run failed (0)" and at.button("sw_rerun").disabled
    assert "Trials stopped by hand are not re-run" in at.button("sw_rerun").help
    assert rerun_failed_trials(store, sweep_id) == 0 and not at.exception


def test_a_link_to_a_sweep_not_in_the_store_says_so_without_the_servers_folders(workspace):
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["sweep"] = "sw-nope"
    at = at.switch_page(SWEEP_PAGE).run()
    assert not at.exception and not at.error
    assert "not in the store" in at.warning[0].value and str(workspace) not in at.warning[0].value
