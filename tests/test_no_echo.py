"""Errors never echo a file's contents: a typed path may name a server file that is not the user's (a
`password = secret` line appeared in error boxes). Every kind of data read from a typed path or folder is fed
files whose first line is `password = secret`, shaped to reach each error of its reader, and no message may
show 'secret' (nor the values below it); on the Train page the same holds for the whole page."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnlab.core.errors import DataError
from nnlab.data import load_dataset
from nnlab.data.registry import make_config
from nnlab.data.standard import CIFAR_FOLDER, CIFAR_TRAIN, MNIST_FILES
from tests.helpers import app_at

SECRET = "password = secret"
ROWS = "\n".join(f"hunter{i},{'ab'[i % 2]}" for i in range(40))

# (name, dataset, text of the file, options): each reaches another refusal of the CSV readers
CSV_CASES = [
    ("one column, no such label", "csv", f"{SECRET}\nuser = admin\nhost = db\n", {}),
    ("text features", "csv", f"{SECRET},label\n{ROWS}\n", {}),
    ("every feature missing", "csv", f"{SECRET},label\n" + "\n".join(f",{'ab'[i % 2]}" for i in range(40)), {}),
    ("ragged rows", "csv", f"{SECRET}\nx,y,z\n", {}),
    ("no text column", "text-csv", f"{SECRET}\nuser = admin\n", {}),
    ("no numbers to forecast", "series-csv", f"{SECRET}\nuser = admin\nhost = db\n", {}),
    ("several numbers", "series-csv", f"{SECRET},b\n" + "\n".join(f"{i},{i * 2}" for i in range(60)), {}),
    ("not numbers", "series-csv", f"{SECRET},b\n" + "\n".join(f"{i},x{i}" for i in range(60)), {"target": "b"}),
    ("no such target", "series-csv", f"{SECRET},b\n1,2\n3,4\n", {"target": "sales"}),
    ("not images", "image-folder", f"{SECRET}\n", {}),
]


def _refusal(cfg) -> str:
    with pytest.raises(DataError) as err:
        load_dataset(cfg)
    return str(err.value)


@pytest.mark.parametrize(("case", "dataset", "text", "options"), CSV_CASES, ids=[c[0] for c in CSV_CASES])
def test_a_typed_file_is_never_quoted(tmp_path, case, dataset, text, options):
    path = tmp_path / "notes.txt"
    path.write_text(text)
    arch = {"text-csv": "lstm", "series-csv": "ts-lstm", "image-folder": "cnn"}.get(dataset, "mlp")
    said = _refusal(make_config(arch, dataset=dataset, data_path=str(path), **options))
    assert "secret" not in said and "hunter" not in said and "admin" not in said, said
    assert "notes.txt" in said  # it still names the file and says what to do


def _fill(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(f"{SECRET}\nuser = admin\n")


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_a_typed_folder_of_mnist_files_is_never_quoted(tmp_path, dataset):
    sub = "MNIST" if dataset == "mnist" else "FashionMNIST"
    _fill(tmp_path / sub / "raw", list(MNIST_FILES))
    said = _refusal(make_config("cnn", dataset=dataset, data_root=str(tmp_path)))
    assert "secret" not in said and "could not be read" in said, said


def test_a_typed_folder_of_cifar_batches_is_never_quoted(tmp_path):
    _fill(tmp_path / CIFAR_FOLDER, [*CIFAR_TRAIN, "test_batch", "batches.meta"])
    said = _refusal(make_config("cnn", dataset="cifar10", data_root=str(tmp_path)))
    assert "secret" not in said and "could not be read safely" in said, said


def test_a_typed_folder_of_imdb_reviews_is_never_quoted(tmp_path):
    _fill(tmp_path / "aclImdb" / "train" / "pos", ["1_7.txt"])
    said = _refusal(make_config("lstm", dataset="imdb", data_root=str(tmp_path)))
    assert "secret" not in said, said


def test_the_train_page_never_shows_a_typed_files_contents(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text(f"{SECRET},label\n{ROWS}\n")
    at = app_at("pages/1_Train.py").run()
    at.selectbox("tr_dataset").set_value("csv").run()
    at.radio("tr_source_csv").set_value("path").run()
    at.text_input("tr_csv_data_path").set_value(str(path)).run()
    assert not at.exception
    shown = [e.value for kind in ("error", "warning", "info", "markdown", "caption", "success") for e in at.get(kind)]
    assert any("notes.txt" in s for s in shown), shown  # the refusal is on the page ...
    assert not any("secret" in str(s) or "hunter" in str(s) for s in shown), shown  # ... without the file


def _shared_train_page(tmp_path: Path, monkeypatch, path: Path):
    """The Train page of a shared (password) dashboard that allows tmp_path, with `path` typed for a CSV table."""
    from nnlab.ui.keys import KEY_AUTHED

    monkeypatch.setenv("NNLAB_DATA_DIRS", str(tmp_path))
    at = app_at("pages/1_Train.py")
    at.secrets["password"] = "pw"
    at.session_state[KEY_AUTHED] = True
    at.run()
    at.selectbox("tr_dataset").set_value("csv").run()
    at.radio("tr_source_csv").set_value("path").run()
    at.text_input("tr_csv_data_path").set_value(str(path)).run()
    return at


def _everything(at) -> str:
    """All a visitor can read on the page: messages, text, select boxes' options and tables' cells."""
    kinds = ("error", "warning", "info", "markdown", "caption", "success", "text", "text_input")
    parts = [str(e.value) for kind in kinds for e in at.get(kind)]
    parts += [" ".join(map(str, [*box.options, box.value])) for box in at.selectbox]
    parts += [df.value.to_string() for df in at.dataframe]
    return "\n".join(parts)


def test_a_shared_dashboard_shows_nothing_of_a_typed_file_that_is_not_the_data(tmp_path, monkeypatch):
    path = tmp_path / "notes.txt"
    path.write_text(f"{SECRET},label\n{ROWS}\n")  # parses as a CSV, but not as a table of numbers
    at = _shared_train_page(tmp_path, monkeypatch, path)
    assert not at.exception
    shown = _everything(at)
    assert "notes.txt" in shown and "text in column 1" in shown  # the refusal, by position
    assert "secret" not in shown and "hunter" not in shown, shown  # no header in a select box, no rows in a table


def test_a_shared_dashboard_shows_a_typed_file_once_it_loads_as_the_data(tmp_path, monkeypatch):
    rows = "\n".join(f"{i % 7},{(i * 3) % 11},{'ab'[i % 2]}" for i in range(60))
    path = tmp_path / "table.csv"
    path.write_text(f"width,height,label\n{rows}\n")
    at = _shared_train_page(tmp_path, monkeypatch, path)
    assert not at.exception and not at.error
    assert "width" in _everything(at) and at.dataframe  # its first rows, as read
