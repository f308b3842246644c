"""A password-shared demo is safe to share: typed paths stay in the workspace and the allowed folders, and
wrong passwords are rate-limited."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from nnlab.ui import auth
from tests.helpers import app_at

SECRET_LINE = "password = hunter2-do-not-show"


def _shared_train_page() -> AppTest:
    at = app_at("pages/1_Train.py")
    at.secrets["password"] = "s3cret"
    at.run()
    at.text_input[0].input("s3cret").run()
    at.selectbox("tr_dataset").set_value("csv").run()
    at.radio("tr_source_csv").set_value("path").run()
    return at


def _shown(at: AppTest) -> str:
    return " ".join(str(e.value) for kind in (at.error, at.warning, at.info, at.markdown, at.caption) for e in kind)


@pytest.fixture(autouse=True)
def no_lockout():
    auth._FAILURES.clear()
    yield
    auth._FAILURES.clear()


def test_with_a_password_a_typed_path_outside_the_allowed_folders_is_refused_without_revealing_it(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("NNLAB_DATA_DIRS", raising=False)
    outside = tmp_path / "elsewhere" / "secrets.csv"
    outside.parent.mkdir()
    outside.write_text(f"{SECRET_LINE}\n1,2\n")
    at = _shared_train_page()
    answers = []
    for typed in (str(outside), str(tmp_path / "elsewhere" / "missing.csv"), "/etc/os-release", "~/../../etc"):
        at.text_input("tr_csv_data_path").set_value(typed).run()
        assert not at.exception
        shown = _shown(at)
        assert "hunter2" not in shown and "does not exist" not in shown and "ID=" not in shown
        answers.append([e.value for e in at.error])
        assert at.button("tr_start").disabled
    assert all(a == answers[0] for a in answers) and len(answers[0]) == 1  # one sentence, the same for all
    assert "reads only files in its workspace" in answers[0][0]


def test_a_folder_the_operator_allows_is_readable(tmp_path, monkeypatch):
    allowed = tmp_path / "shared-data"
    allowed.mkdir()
    rows = ["a,b,label"] + [f"{i % 7},{(i * 3) % 5},{'yes' if i % 2 else 'no'}" for i in range(60)]
    (allowed / "t.csv").write_text("\n".join(rows))
    monkeypatch.setenv("NNLAB_DATA_DIRS", str(allowed))
    at = _shared_train_page()
    at.text_input("tr_csv_data_path").set_value(str(allowed / "t.csv")).run()
    assert not at.exception and not at.error and not at.button("tr_start").disabled


def test_a_data_folder_outside_the_workspace_is_refused_and_not_created(tmp_path, monkeypatch):
    monkeypatch.delenv("NNLAB_DATA_DIRS", raising=False)
    at = _shared_train_page()
    at.selectbox("tr_dataset").set_value("mnist").run()
    key = next(t.key for t in at.text_input if t.key and t.key.endswith("data_root"))
    at.text_input(key).set_value(str(tmp_path / "made-by-a-visitor")).run()
    assert not at.exception and at.button("tr_start").disabled
    assert "reads only files in its workspace" in " ".join(e.value for e in at.error)
    assert not (tmp_path / "made-by-a-visitor").exists()


def test_wrong_passwords_are_rate_limited():
    at = app_at()
    at.secrets["password"] = "s3cret"
    at.run()
    for i in range(auth.MAX_TRIES):
        at.text_input[0].input(f"guess{i}").run()
        assert "not right" in at.error[0].value
    at.text_input[0].input("s3cret").run()  # even the right one waits now
    assert "Too many wrong passwords" in at.error[0].value
    assert [t.label for t in at.text_input] == ["Password"]


@pytest.mark.parametrize("page", ["pages/1_Train.py", "pages/2_Results.py"])
def test_a_crafted_run_link_puts_none_of_its_text_in_the_page(page):
    crafted = "x](https://evil.example/p.png) ![img](https://evil.example/i.png) [log in here](https://evil.example)"
    at = app_at(page, crafted).run()
    assert not at.exception
    everything = " ".join(
        str(e.value) for kind in (at.error, at.warning, at.info, at.markdown, at.caption) for e in kind
    )
    assert "evil.example" not in everything
