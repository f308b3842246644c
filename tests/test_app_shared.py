"""A password-shared demo is safe to share: typed paths stay in the workspace and the allowed folders, and
wrong passwords are rate-limited."""

from __future__ import annotations

import io
import zipfile

import pytest
from streamlit.testing.v1 import AppTest

from nnlab.data import DATASETS
from nnlab.ui import auth
from nnlab.ui.form import FILE_TYPES
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


def _zip(names: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in names:
            zf.writestr(name, b"\x89PNG not really")
    return buf.getvalue()


BROKEN_UPLOADS = {
    "same-name.zip": _zip(["cats/extra", "cats/extra/7.png", "dogs/1.png"]),
    "same-name-reversed.zip": _zip(["cats/extra/7.png", "cats/extra", "dogs/1.png"]),
    "junk.zip": b"PK\x03\x04 this is not a zip",
    "junk.csv": bytes(range(256)) * 40,
    "header-only.csv": b"a,b,label\n",
}


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["csv", "text-csv", "series-csv", "image-folder"])
def test_no_upload_shows_a_traceback(dataset):
    at = app_at("pages/1_Train.py").run()
    at.selectbox("tr_dataset").set_value(dataset).run()
    allowed = tuple(f".{t}" for t in FILE_TYPES[DATASETS[dataset].kind])  # what the uploader accepts
    for name, data in [(n, d) for n, d in BROKEN_UPLOADS.items() if n.endswith(allowed)]:
        at.file_uploader[0].upload(name, data, "application/octet-stream").run()
        assert not at.exception, (dataset, name, [e.value for e in at.exception])
        shown = " ".join(str(e.value) for e in at.error)
        assert "Traceback" not in shown and "/tmp/" not in shown and "Errno" not in shown, (dataset, name, shown)


def test_a_zip_with_a_file_and_a_folder_of_one_name_gives_one_sentence():
    at = app_at("pages/1_Train.py").run()
    at.selectbox("tr_dataset").set_value("image-folder").run()
    at.file_uploader[0].upload("pets.zip", BROKEN_UPLOADS["same-name.zip"], "application/zip").run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "pets.zip has a file and a folder both named 'cats/extra'; rename one" in errors[0]


def test_a_visitor_is_offered_only_the_seeds_a_visitor_may_start(workspace):
    """Seeds went to 10 for a visitor of a shared dashboard, whose start takes 3 at most: 'Start 4 runs' was on and
    refused only once clicked. The field now stops at 3 and says why; the local operator keeps 10."""
    from nnlab.core.limits import MAX_SEEDS, MAX_VISITOR_SEEDS

    at = app_at("pages/1_Train.py")
    at.secrets["password"] = "s3cret"
    at.run()
    at.text_input[0].input("s3cret").run()
    seeds = at.number_input("tr_seeds")
    assert seeds.max == MAX_VISITOR_SEEDS
    assert f"{MAX_VISITOR_SEEDS} at most" in seeds.help
    assert app_at("pages/1_Train.py").run().number_input("tr_seeds").max == MAX_SEEDS
