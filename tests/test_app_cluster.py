"""The dashboard's side of the Ray executor, without starting Ray: the Train form's choice of where to train,
the reason a Ray run waits, and the Home page's cluster card."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from nnlab.jobs.ray.backend import driver_paths
from nnlab.store.runs import RunStore
from nnlab.ui import md
from tests.helpers import tiny_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch):
    """A new job manager per test; no Ray address from the machine's environment."""
    monkeypatch.delenv("NNLAB_RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def test_the_form_trains_here_by_default_and_checks_a_ray_address():
    at = AppTest.from_file(str(ROOT / "pages" / "1_Train.py"), default_timeout=60).run()
    assert at.radio("tr_where").value == "local"
    assert not at.button("tr_start").disabled
    at.radio("tr_where").set_value("ray").run()
    assert any("a local Ray instance" in c.value for c in at.caption)
    at.text_input("tr_ray_address").set_value("head node:6379").run()
    assert any("has spaces in it" in e.value for e in at.error)
    assert at.button("tr_start").disabled
    at.text_input("tr_ray_address").set_value("head:6379").run()
    assert any("the Ray cluster at head:6379" in c.value for c in at.caption)
    assert not at.button("tr_start").disabled and not at.exception


def test_a_queued_ray_run_shows_why_it_waits(workspace):
    store = RunStore(workspace)
    run_id = store.create(tiny_config("mlp", device="cuda"))  # as the Ray driver leaves a run it cannot place
    reason = "Waiting for a GPU: the Ray cluster at head:6379 has none; the run starts when a GPU node joins."
    store.update(run_id, reason=reason)
    at = AppTest.from_file(str(ROOT / "pages" / "1_Train.py"), default_timeout=60)
    at.query_params["run"] = run_id
    at.run()
    assert md(reason) in [i.value for i in at.info]  # the reason quotes the cluster's address: shown as typed
    assert not at.exception


def test_home_shows_the_cluster_a_live_driver_is_connected_to(workspace):
    store = RunStore(workspace)
    lock, info, _ = driver_paths(store, "head:6379")
    with open(lock, "a") as held:  # this process stands in for the driver: it holds the lock, as a driver does
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        info.write_text(
            json.dumps(
                {"pid": os.getpid(), "address": "head:6379", "where": "the Ray cluster at head:6379",
                 "nodes": 3, "cpus": 48.0, "gpus": 4, "runs": 2}
            )
        )  # fmt: skip
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
        assert any("3 nodes · 48 CPUs · 4 GPUs" in m.value for m in at.markdown)
        assert any("Connected to the Ray cluster at head:6379; 2 runs" in c.value for c in at.caption)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()  # no driver: no card
    assert not any("GPUs" in m.value and "nodes" in m.value for m in at.markdown)
