"""The dashboard's pre-flight estimate (Train preview, measured off the script thread) and export downloads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nnlab.core.limits import MEMORY_ENV
from nnlab.data.registry import make_config
from nnlab.export import export_problem
from tests.helpers import visible, wait_until
from tests.trained import open_page

TRAIN_PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "1_Train.py")
pytestmark = pytest.mark.usefixtures("fresh_caches")


def _estimate_on_the_page(timeout: float = 120) -> AppTest:
    """Open Train, ask for the estimate, and rerun (AppTest ignores run_every) until it is shown."""
    at = AppTest.from_file(TRAIN_PAGE, default_timeout=60).run()
    assert [m.label for m in at.metric][:2] == ["Parameters", "Steps per epoch"]  # the preview is up at once
    at.button(key="tr_estimate").click().run()
    wait_until(lambda: _estimated(at.run()), "the estimate on the page", timeout, every=0.3)
    assert not at.exception, [e.value for e in at.exception]
    return at


def _estimated(at: AppTest) -> bool:
    return any("per epoch" in m.value for m in at.markdown) or any("not fit" in w.value for w in at.warning)


@pytest.mark.slow
def test_the_estimate_is_measured_in_the_background_and_shown_in_the_preview():
    at = _estimate_on_the_page()
    line = next(m.value for m in at.markdown if "per epoch" in m.value)
    assert re.search(
        r"\*\*[\d.]+ (KB|MB)\*\* memory · .*\*\*[\d.]+ m?s\*\* per epoch · \*\*≤ [\d.]+ s\*\* for the whole", line
    )
    assert any(c.value.startswith("Measured on cpu") and "steps of" in c.value for c in at.caption)
    assert not at.button(key="tr_start").disabled and not any("not fit" in w.value for w in at.warning)


@pytest.mark.slow
def test_a_run_whose_measured_memory_is_over_its_budget_cannot_start(monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "1.2")  # the digits MLP's weights and Adam state fit (1.1 MB), a batch more not
    at = _estimate_on_the_page()
    assert at.button(key="tr_start").disabled
    said = [visible(e.value) for e in at.error]
    assert any("with one batch's activations, more than 1.2 MB (the run memory budget the operator" in e for e in said)


def test_results_offer_the_code_and_the_model_and_say_when_the_data_is_gone(trained, store, tmp_path):
    at = open_page("../pages/2_Results.py", trained["iris"])
    buttons = {b.label: b for b in at.get("download_button")}
    assert "⬇️ Code (train.py folder, zip)" in buttons and "⬇️ TorchScript model (zip)" in buttons
    gone = store.create(make_config("mlp", dataset="csv", data_path=str(tmp_path / "deleted.csv")))
    assert "deleted.csv is no longer there" in export_problem(store, gone, "script")
    assert export_problem(store, gone, "torchscript") == "The run saved no trained model."
    assert export_problem(store, trained["iris"], "script") is None


def test_no_estimate_is_offered_before_the_data_is_loaded():
    at = AppTest.from_file(TRAIN_PAGE, default_timeout=60).run()
    at.selectbox("tr_dataset").set_value("mnist").run()  # read from its folder or downloaded: loaded on request
    assert not at.exception
    assert at.button(key="tr_load_preview") is not None
    assert "tr_estimate" not in [b.key for b in at.button]
