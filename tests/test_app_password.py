"""The optional demo password (from Streamlit secrets): off by default, and a gate on every page when set."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from nnlab.ui import auth
from tests.helpers import app_at

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["app.py", "pages/1_Train.py", "pages/2_Results.py", "pages/3_Compare.py", "pages/4_Playground.py"]


@pytest.fixture(autouse=True)
def fresh_caches():
    st.cache_resource.clear()
    auth._FAILURES.clear()  # wrong passwords of earlier tests must not lock this one out
    yield
    st.cache_resource.clear()


def _page(name: str, password: str | None) -> AppTest:
    at = app_at("" if name == "app.py" else name)
    if password:
        at.secrets["password"] = password
    return at.run()


@pytest.mark.parametrize("name", PAGES)
def test_with_a_password_set_every_page_shows_only_the_password_box(name):
    at = _page(name, "s3cret")
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Password"]
    assert not at.button and not at.get("plotly_chart")


def test_the_right_password_opens_the_page_and_a_wrong_one_says_so():
    at = _page("app.py", "s3cret")
    at.text_input[0].input("guess").run()
    assert "not right" in at.error[0].value and [t.label for t in at.text_input] == ["Password"]
    at.text_input[0].input("s3cret").run()
    assert not at.exception and at.button("home_first_model")


def test_without_a_password_the_dashboard_is_open():
    at = _page("app.py", None)
    assert not any(t.label == "Password" for t in at.text_input) and at.button("home_first_model")


def test_one_visitor_cannot_lock_out_another():
    """Issue 21: behind a proxy every visitor had one bucket, so five wrong guesses locked everyone out."""
    proxy = "10.0.0.2"
    alice, mallory = auth.visitor_key(proxy, "203.0.113.7", "s1"), auth.visitor_key(proxy, "198.51.100.9", "s2")
    assert alice != mallory
    # a direct client forging the header still counts under its own address
    assert auth.visitor_key("198.51.100.9", "203.0.113.7", "s3") != auth.visitor_key("203.0.113.7", "", "s4")
    # a local proxy that sends no header: each browser session on its own
    assert auth.visitor_key(None, "", "s1") != auth.visitor_key(None, "", "s2")
    for _ in range(auth.MAX_TRIES):
        auth._failed(mallory)
    assert auth.wait_left(mallory) > 0 and auth.wait_left(alice) == 0
