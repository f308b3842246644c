"""Every bad input through the command line: a non-zero exit, one sentence, no traceback, no run left
running or queued, nothing written outside the workspace, nothing executed from a pickle."""

from __future__ import annotations

import io
import os
import pickle
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from nnlab.cli.main import main
from nnlab.core.errors import NNLabError
from nnlab.data import load_dataset
from nnlab.data.registry import make_config
from nnlab.store.runs import RunStore

MARKER = "nnlab-pwned"


class Payload:
    """A pickle that would create a marker file if anything unpickled it."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _csv(text: str | bytes) -> Callable[[Path], list[str]]:
    def make(d: Path) -> list[str]:
        f = d / "data.csv"
        f.write_bytes(text.encode() if isinstance(text, str) else text)
        return ["--arch", "mlp", "--dataset", "csv", "--data", str(f), "--label-column", "label"]

    return make


def _text_csv(text: str) -> Callable[[Path], list[str]]:
    def make(d: Path) -> list[str]:
        f = d / "texts.csv"
        f.write_text(text)
        return [
            "--arch",
            "lstm",
            "--dataset",
            "text-csv",
            "--data",
            str(f),
            "--text-column",
            "text",
            "--label-column",
            "label",
        ]

    return make


def _series_csv(text: str, target: str = "value") -> Callable[[Path], list[str]]:
    def make(d: Path) -> list[str]:
        f = d / "series.csv"
        f.write_text(text)
        return ["--arch", "ts-lstm", "--dataset", "series-csv", "--data", str(f), "--target", target]

    return make


def _png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _zip(entries: dict[str, bytes], links: tuple[str, ...] = ()) -> Callable[[Path], list[str]]:
    def make(d: Path) -> list[str]:
        f = d / "photos.zip"
        with zipfile.ZipFile(f, "w") as z:
            for name, data in entries.items():
                z.writestr(name, data)
            for name in links:
                info = zipfile.ZipInfo(name)
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                z.writestr(info, "/etc/passwd")
        return ["--arch", "cnn", "--dataset", "image-folder", "--data", str(f)]

    return make


def _not_an_archive(d: Path) -> list[str]:
    f = d / "photos.zip"
    f.write_text("this is not a zip")
    return ["--arch", "cnn", "--dataset", "image-folder", "--data", str(f)]


def _weights(content: Callable[[Path], None]) -> Callable[[Path], list[str]]:
    def make(d: Path) -> list[str]:
        f = d / "weights.pth"
        content(f)
        return ["--arch", "resnet18", "--dataset", "digits", "--weights", str(f), "--epochs", "1"]

    return make


def _truncated(f: Path) -> None:
    buf = io.BytesIO()
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, buf)
    f.write_bytes(buf.getvalue()[:200])


def _misfit(f: Path) -> None:
    torch.save({"conv1.weight": torch.zeros(3, 3)}, f)


def _evil(f: Path) -> None:
    f.write_bytes(pickle.dumps({"conv1.weight": Payload(str(f.parent / MARKER))}))


def _args(*a: str) -> Callable[[Path], list[str]]:
    return lambda d: list(a)


GOOD_IMAGES = {f"{c}/{i}.png": _png() for c in ("cat", "dog") for i in range(6)}

CASES = {
    "empty csv": _csv(""),
    "header only": _csv("a,b,label\n"),
    "missing label column": _csv("a,b,kind\n1,2,x\n3,4,y\n"),
    "text features, too many values to be categories": _csv(
        "note,label\n" + "".join(f"word {i % 20} here,{i % 2}\n" for i in range(40))
    ),
    "one class": _csv("a,b,label\n" + "1,2,0\n3,4,0\n" * 20),
    "too few rows": _csv("a,b,label\n1,2,0\n3,4,1\n"),
    "wrong encoding": _csv(b"\xff\xfe\x00\x00garbage\x80\x81\x82" * 10),
    "binary file": _csv(bytes(range(256)) * 8),
    "text csv missing column": _text_csv("review,label\ngood,1\nbad,0\n"),
    "text csv too few rows": _text_csv("text,label\ngood,1\n"),
    "series missing target": _series_csv("day,value\n" + "".join(f"{i},{i}\n" for i in range(300)), target="load"),
    "series too short": _series_csv("value\n" + "".join(f"{i}\n" for i in range(20))),
    "zip with ..": _zip({**GOOD_IMAGES, "../evil.png": _png()}),
    "zip with absolute path": _zip({**GOOD_IMAGES, "/tmp/evil.png": _png()}),
    "zip with a link": _zip(GOOD_IMAGES, links=("cat/link.png",)),
    "zip without class folders": _zip({"a.png": _png(), "b.png": _png()}),
    "zip of non-images": _zip({f"{c}/{i}.txt": b"hello" for c in ("cat", "dog") for i in range(6)}),
    "not an archive": _not_an_archive,
    "truncated weights": _weights(_truncated),
    "weights that do not fit": _weights(_misfit),
    "pickle carrying code": _weights(_evil),
    "lr out of range": _args("--arch", "mlp", "--lr", "5"),
    "batch size too small": _args("--arch", "mlp", "--batch-size", "4"),
    "negative dropout": _args("--arch", "mlp", "--dropout", "-0.1"),
    "not a number": _args("--arch", "mlp", "--epochs", "many"),
    "nan learning rate": _args("--arch", "mlp", "--lr", "nan"),
    "arch does not fit": _args("--arch", "cnn", "--dataset", "reviews"),
    "missing dataset file": _args("--arch", "mlp", "--dataset", "csv", "--data", "/no/such/file.csv"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_ends_in_one_sentence_and_leaves_the_store_clean(case, tmp_path, workspace, capsys):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    args = CASES[case](inputs)
    before = set(tmp_path.rglob("*"))
    with pytest.raises(SystemExit) if "not a number" in case else _nothing():
        code = main(
            ["train", *args, "--epochs", "1", "--store", str(workspace)]
            if "--epochs" not in args
            else ["train", *args, "--store", str(workspace)]
        )
        assert code != 0
    err = capsys.readouterr().err.strip()
    lines = [line for line in err.splitlines() if not line.startswith("epoch")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("nnlab: ") and lines[0].endswith("."), lines[0]
    assert RunStore(workspace).list() == []  # refused before a run was created: none left behind
    outside = {p for p in set(tmp_path.rglob("*")) - before if workspace not in p.parents and p != workspace}
    assert outside == set(), outside
    assert not list(tmp_path.rglob(MARKER)) and not Path("/tmp/evil.png").exists()


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_a_missing_standard_dataset_with_no_network_says_which_files_to_put_where(
    tmp_path, workspace, capsys, monkeypatch
):
    import urllib.error

    import torchvision.datasets.utils as tv_utils

    def offline(*a, **k):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(tv_utils, "urlretrieve", offline, raising=False)
    monkeypatch.setattr(tv_utils, "download_url", offline)
    monkeypatch.setattr("urllib.request.urlopen", offline)
    code = main(
        [
            "train",
            "--arch",
            "mlp",
            "--dataset",
            "mnist",
            "--data-root",
            str(tmp_path / "mn"),
            "--epochs",
            "1",
            "--store",
            str(workspace),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "MNIST" in err[0]
    assert RunStore(workspace).list() == []  # refused before a run was created: none left behind


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_the_csv_reader_refuses_arbitrary_bytes_only_with_nnlab_errors(tmp_path, raw):
    f = tmp_path / "fuzz.csv"
    f.write_bytes(raw)
    try:
        load_dataset(make_config("mlp", dataset="csv", data_path=str(f), label_column="label"))
    except NNLabError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.lists(st.one_of(st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=3)), min_size=3, max_size=3),
        max_size=30,
    )
)
@pytest.mark.slow
def test_the_csv_reader_takes_any_table_or_says_why_not(tmp_path, rows):
    f = tmp_path / "table.csv"
    f.write_text("a,b,label\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    try:
        data = load_dataset(make_config("mlp", dataset="csv", data_path=str(f), label_column="label"))
    except NNLabError as exc:
        assert "\n" not in str(exc)
    else:
        assert torch.isfinite(data.train.x).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.text(max_size=20), st.sampled_from(["a", "b", ""])), max_size=30))
def test_the_text_csv_reader_takes_any_texts_or_says_why_not(tmp_path, rows):
    import csv

    f = tmp_path / "texts.csv"
    with open(f, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        w.writerows(rows)
    try:
        load_dataset(make_config("lstm", dataset="text-csv", data_path=str(f)))
    except NNLabError as exc:
        assert "\n" not in str(exc)


def test_workspace_files_are_not_world_writable_and_inputs_are_untouched(tmp_path, workspace, capsys):
    f = tmp_path / "data.csv"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    f.write_text("a,b,label\n" + "".join(f"{a},{b},{int(a > 0)}\n" for a, b in x))
    before = f.read_bytes()
    assert (
        main(
            [
                "train",
                "--arch",
                "mlp",
                "--dataset",
                "csv",
                "--data",
                str(f),
                "--epochs",
                "1",
                "--hidden-sizes",
                "32",
                "--store",
                str(workspace),
            ]
        )
        == 0
    )
    assert f.read_bytes() == before
    assert not any(p.stat().st_mode & stat.S_IWOTH for p in workspace.rglob("*") if not p.is_symlink())
    os.stat(workspace / "nnlab.db")


def test_a_one_column_csv_read_as_a_table_points_to_the_series_forecaster(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("value\n" + "\n".join(str(v) for v in range(60)) + "\n")
    with pytest.raises(
        NNLabError, match=r"has only the label column .* give --arch ts-lstm to forecast it as a series"
    ):
        load_dataset(make_config("mlp", dataset="csv", data_path=str(path), label_column="value"))


def test_a_table_whose_label_is_a_quantity_is_refused_saying_nnlab_classifies_rows(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("rooms,price\n" + "\n".join(f"{i % 7},{1000 + 3 * i}" for i in range(400)) + "\n")
    with pytest.raises(NNLabError, match=r"400 different values, .*a quantity to predict.* it classifies rows\)"):
        load_dataset(make_config("mlp", dataset="csv", data_path=str(path), label_column="price"))
