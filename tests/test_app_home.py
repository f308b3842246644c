"""AppTest of the Home page: the device, the recent runs, and the one-click first model."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from nnlab.engine.device import detect_device
from nnlab.jobs.manager import JobManager
from nnlab.store.runs import RunStore
from nnlab.ui import lab
from tests.helpers import app_at, tiny_config, visible

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture(autouse=True)
def fresh_caches():
    """AppTest shares st.cache_resource across instances in one process: a new job manager per test."""
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def home() -> AppTest:
    return app_at().run()


def test_home_shows_the_device_and_an_empty_workspace():
    at = home()
    assert not at.exception
    device = detect_device()
    assert any(device.headline in m.value for m in at.markdown)
    assert any(device.detail == c.value for c in at.caption)
    assert "No runs yet" in at.info[0].value
    assert at.button("home_first_model").label == "Train a first model"


def test_home_lists_recent_runs_and_opens_one(workspace):
    jobs = JobManager(RunStore(workspace))
    done = jobs.submit(tiny_config("mlp"))
    jobs.wait(done)
    failed = RunStore(workspace).create(tiny_config("mlp"), status="failed")
    jobs.shutdown()

    at = home()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["run"]) == [failed, done]
    assert list(table["status"]) == ["❌ failed", "✅ finished"]
    assert table["test score"][1].startswith("accuracy 0.")

    at.session_state["home_recent"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()  # a run with no results opens in the Train page's live view
    assert at.query_params["run"] in (failed, [failed])

    at = home()  # a click on any cell of a row opens it too (issue 21: only the checkbox did)
    at.session_state["home_recent"] = {"selection": {"rows": [], "columns": [], "cells": [[0, "name"]]}}
    at.run()
    assert not at.exception and at.query_params["run"] in (failed, [failed])


@pytest.mark.slow
def test_train_a_first_model_starts_a_run_and_shows_it_live():
    at = home()
    at.button("home_first_model").click().run()
    assert not at.exception
    run_id = at.query_params["run"]
    run_id = run_id[0] if isinstance(run_id, list) else run_id
    rec = RunStore().get(run_id)
    assert (rec.arch, rec.dataset, rec.config.hidden_sizes) == ("mlp", "digits", (256, 128, 64))
    assert any(run_id in s.value for s in at.success)  # the flash reached the Train page
    assert "MLP on Handwritten digits" in at.subheader[0].value
    lab().stop(run_id)  # the default run takes a while on a busy CPU; this test only needs it started
    lab().jobs.wait(run_id, timeout=60)


def test_new_here_only_before_the_first_run(workspace):
    assert any("New here?" in m.value for m in home().markdown)
    RunStore(workspace).create(tiny_config())
    at = home()
    assert not any("New here?" in m.value for m in at.markdown)
    assert any("Train the reference model in one click" in m.value for m in at.markdown)


def test_home_says_what_trains_and_what_waits_and_keeps_trials_with_their_sweep(workspace):
    """Issue 21: '3 runs in progress' when one trained and two waited; a sweep's trials filled Recent runs."""
    from nnlab.sweeps.driver import make_spec
    from nnlab.sweeps.space import parse_dim
    from nnlab.sweeps.store import SweepStore

    store = RunStore(workspace)
    mine = [store.create(tiny_config(), status=s) for s in ("finished", "running", "queued", "queued")]
    sweep_id = SweepStore(store).create(make_spec(tiny_config(), [parse_dim("lr", "1e-3,1e-2")], 2))
    trial = store.create(tiny_config(), status="finished", sweep_id=sweep_id, trial=0)
    at = home()
    assert not at.exception
    assert "1 run training, 2 waiting in line." in [c.value for c in at.caption]
    runs = at.dataframe(key="home_recent").value
    assert set(runs["run"]) == set(mine) and trial not in set(runs["run"])
    sweeps = at.dataframe(key="home_recent_sweeps").value
    assert list(sweeps["sweep"]) == [sweep_id] and list(sweeps["trials done"]) == ["1 / 2"]
    at.session_state["home_recent_sweeps"] = {"selection": {"rows": [], "columns": [], "cells": [[0, "status"]]}}
    at.run()
    assert not at.exception and at.query_params["sweep"] in (sweep_id, [sweep_id])


def test_home_shows_the_disk_used_against_the_quota_and_reclaims_space(workspace, monkeypatch):
    """Issue 21 item 3: the quota's figure on Home, and an action that frees space (one run's last checkpoint)."""
    from nnlab.core.limits import DISK_ENV

    store = RunStore(workspace)
    done = store.create(tiny_config(), status="finished")
    (store.folder(done).path / "last.pt").write_bytes(b"\0" * 3 * 2**20)
    monkeypatch.setenv(DISK_ENV, "2")
    at = home()
    assert any(":material/hard_drive: 3.0 MB of 2.0 MB" in m.value for m in at.markdown), [m.value for m in at.markdown]
    assert any("New runs are refused: the workspace holds 3.0 MB of its 2.0 MB quota" in e.value for e in at.error)
    at.button("home_reclaim").click().run()
    assert not at.exception
    assert any(visible(s.value).startswith("Freed 3.0 MB: the last checkpoints of 1 finished run") for s in at.success)
    assert not store.folder(done).has_checkpoint() and not at.error


def test_home_counts_the_archives_unpacked_into_the_workspace(workspace, monkeypatch):
    """A 411 KB zip of a 400 MB file unpacked into the workspace, under the archives' own quota, while Home's disk
    card read 101 MB of a 300 MB quota for a folder of 502 MB: the card now says what unpacked archives take."""
    import json

    from nnlab.core.limits import QUOTA_ENV

    unpacked = workspace / "data" / "extracted"
    (unpacked / "0123abcd").mkdir(parents=True)
    (unpacked / "0123abcd.json").write_text(json.dumps({"bytes": 400 * 2**20, "archive": "big.zip"}))
    monkeypatch.setenv(QUOTA_ENV, "1024")
    at = home()
    said = [c.value for c in at.caption if c.value.startswith("Uploads ")]
    assert said and said[0].endswith("Unpacked archives take 400 MB more, of their own 1.0 GB."), said
