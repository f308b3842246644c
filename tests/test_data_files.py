"""The user's files by path: tabular, text and series CSVs, and zips or folders of images, one per class."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from nnlab.cli.main import main
from nnlab.core.errors import DataError
from nnlab.data import DATASETS, load_dataset
from nnlab.data.registry import make_config

# --- writers (also used to check the command line by hand) ---------------------------------------------


def write_table_csv(
    path: Path, n: int = 300, missing: int = 0, seed: int = 0, sep: str = ",", encoding: str = "utf-8"
) -> Path:
    """Three species of iris-like flowers, four measurements each, blank cells in `missing` rows."""
    rng = np.random.default_rng(seed)
    species = np.array(["setosa", "versicolor", "virginica"])
    y = rng.integers(0, 3, n)
    centres = np.array([[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]])
    x = centres[y] + rng.normal(0, 0.25, (n, 4))
    rows = [sep.join(f"{v:.2f}" for v in row) + f"{sep}{species[k]}" for row, k in zip(x, y, strict=True)]
    for i in range(missing):
        rows[i * 3] = rows[i * 3].replace(rows[i * 3].split(sep)[1], "", 1)
    header = sep.join(["sepal length", "sepal width", "petal length", "petal width", "species"])
    path.write_text("\n".join([header, *rows]) + "\n", encoding=encoding)
    return path


POS = ["great", "wonderful", "superb", "moving", "brilliant"]
NEG = ["awful", "boring", "dull", "tedious", "terrible"]
FILL = ["the", "service", "food", "staff", "room", "place", "was", "and", "a", "of", "it"]


def write_text_csv(path: Path, n: int = 400, seed: int = 0) -> Path:
    """A CSV of short reviews (quoted, with commas inside) and a sentiment label."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    texts = []
    for label in labels:
        words = list(rng.choice(FILL, 10)) + list(rng.choice(POS if label else NEG, 2))
        rng.shuffle(words)
        texts.append(" ".join(words[:6]) + ", " + " ".join(words[6:]) + "!")
    pd.DataFrame({"review": texts, "sentiment": np.where(labels, "positive", "negative")}).to_csv(path, index=False)
    return path


def write_series_csv(path: Path, steps: int = 600, seed: int = 0) -> Path:
    """A daily series with a date column, a seasonal load and a temperature that drives it."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    temp = 15 + 8 * np.sin(2 * np.pi * t / 30) + rng.normal(0, 0.5, steps)
    load = 100 + 0.05 * t + 2.0 * temp + 5 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 1.0, steps)
    dates = pd.date_range("2024-01-01", periods=steps, freq="D").strftime("%Y-%m-%d")
    pd.DataFrame({"date": dates, "temperature": temp.round(2), "load": load.round(2)}).to_csv(path, index=False)
    return path


COLOURS = [(220, 40, 40), (40, 200, 60), (50, 70, 230)]


def png(label: int, rng: np.random.Generator, size: int = 40) -> bytes:
    """A PNG of a noisy background with a blob in the class's colour, somewhere."""
    from PIL import Image

    img = rng.integers(0, 90, (size, size, 3))
    cx, cy, r = *rng.integers(10, size - 10, 2), rng.integers(5, 9)
    yy, xx = np.mgrid[:size, :size]
    img[(xx - cx) ** 2 + (yy - cy) ** 2 <= r**2] = COLOURS[label]
    buf = io.BytesIO()
    Image.fromarray(img.astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def image_entries(per_class: int = 30, seed: int = 0, names=("red", "green", "blue")) -> dict[str, bytes]:
    """photos/<class>/<i>.png for each class, plus the junk real zips carry."""
    rng = np.random.default_rng(seed)
    entries = {f"photos/{name}/{i:03d}.png": png(k, rng) for k, name in enumerate(names) for i in range(per_class)}
    entries["__MACOSX/photos/red/._000.png"] = b"\0\5\26\7 mac resource fork"
    entries["photos/.DS_Store"] = b"\0\0\0\1Bud1"
    return entries


def write_image_zip(path: Path, per_class: int = 30, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in {**image_entries(per_class), **(extra or {})}.items():
            zf.writestr(name, data)
    return path


def write_image_dir(root: Path, per_class: int = 30, extra: dict[str, bytes] | None = None) -> Path:
    for name, data in {**image_entries(per_class), **(extra or {})}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root / "photos"


# --- helpers -------------------------------------------------------------------------------------------


def train(tmp_path: Path, capsys, *args: str) -> dict:
    """Run `python -m nnlab train ... --epochs 3 --json` in-process; the JSON summary."""
    code = main(["train", *args, "--epochs", "3", "--threads", "1", "--json", "--store", str(tmp_path / "ws")])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out.strip().splitlines()[-1])


@pytest.fixture(autouse=True)
def keep_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def refused(cfg_or_path, **cfg) -> str:
    """The DataError message loading a config gives; it must be one line."""
    with pytest.raises(DataError) as err:
        load_dataset(make_config(**cfg))
    msg = str(err.value)
    assert "\n" not in msg and msg.endswith(".")
    return msg


# --- the registry tells the form what to ask ------------------------------------------------------------


def test_file_datasets_ask_for_a_path_and_their_columns():
    assert DATASETS["csv"].needs == "data_path" and DATASETS["csv"].options == ("label_column", "missing", "keep_ids")
    assert DATASETS["text-csv"].options == ("text_column", "label_column")
    assert DATASETS["series-csv"].options == ("target", "missing", "window", "horizon")
    assert DATASETS["image-folder"].archs == ("cnn", "resnet18")
    assert all(DATASETS[n].needs == "data_root" for n in ("mnist", "fashion-mnist", "cifar10", "imdb"))


def test_a_file_dataset_without_a_path_says_to_give_one():
    msg = refused(None, arch="mlp", dataset="csv")
    assert "--data" in msg


def test_a_path_that_does_not_exist_is_named(tmp_path):
    msg = refused(None, arch="mlp", dataset="csv", data_path=str(tmp_path / "nope.csv"))
    assert "nope.csv does not exist" in msg


# --- tabular CSV ---------------------------------------------------------------------------------------


def test_tabular_csv_trains_from_the_command_line(tmp_path, capsys):
    path = write_table_csv(tmp_path / "iris.csv", n=1500, missing=6)
    s = train(
        tmp_path,
        capsys,
        "--arch",
        "mlp",
        "--dataset",
        "csv",
        "--data",
        str(path),
        "--label-column",
        "species",
        "--hidden-sizes",
        "32",
        "--batch-size",
        "32",
    )
    assert s["status"] == "finished" and s["test_accuracy"] > 0.8  # chance is 1/3


def test_tabular_csv_drops_missing_rows_with_a_count_and_standardises_on_train(tmp_path):
    path = write_table_csv(tmp_path / "iris.csv", missing=6)
    cfg = make_config("mlp", dataset="csv", data_path=str(path), label_column="species", missing="drop")
    ds = load_dataset(cfg)
    assert ds.classes == ["setosa", "versicolor", "virginica"]
    (dropped,) = [f.sentence for f in ds.facts.findings if f.kind == "missing"]
    assert dropped.startswith("6 rows of 300 in iris.csv had a missing value; nnlab dropped them (--missing drop)")
    assert len(ds.train) + len(ds.val) + len(ds.test) == 294
    assert torch.allclose(ds.train.x.mean(0), torch.zeros(4), atol=1e-4)
    assert ds.facts.columns == ("sepal length", "sepal width", "petal length", "petal width")


@pytest.mark.parametrize(("sep", "encoding"), [(";", "utf-8-sig"), ("\t", "utf-8"), (",", "utf-16")])
def test_tabular_csv_accepts_common_separators_and_encodings(tmp_path, sep, encoding):
    path = write_table_csv(tmp_path / "iris.csv", n=90, sep=sep, encoding=encoding)
    ds = load_dataset(make_config("mlp", dataset="csv", data_path=str(path), label_column="species"))
    assert ds.facts.input_shape == (4,)


def test_a_separator_ending_every_line_makes_no_label(tmp_path, capsys):
    """Spreadsheets that end every line with a comma give an empty column without a name last: nnlab took it as
    the label and refused the file ("has text in column 5"), the real label being a feature."""
    from nnlab.data.csvfile import likely_column, peek_csv

    plain = write_table_csv(tmp_path / "plain.csv", n=90)
    path = tmp_path / "iris.csv"
    path.write_text("".join(line + ",,\n" for line in plain.read_text().splitlines()))
    assert likely_column(peek_csv(path), "label_column", "label") == "species"
    assert main(["check", str(path)]) == 0
    said = capsys.readouterr()
    assert "reading column 'species' as the label" in said.err
    assert "Columns 6 to 7 of iris.csv hold no value at all; nnlab left them out." in said.out


def test_label_column_is_found_ignoring_case(tmp_path):
    path = write_table_csv(tmp_path / "iris.csv", n=90)
    ds = load_dataset(make_config("mlp", dataset="csv", data_path=str(path), label_column="Species"))
    assert len(ds.classes) == 3


def test_a_missing_label_column_is_refused_without_quoting_the_file(tmp_path):
    path = write_table_csv(tmp_path / "iris.csv", n=30)
    msg = refused(None, arch="mlp", dataset="csv", data_path=str(path))
    assert "no column 'label'" in msg and "the 5 of its header row" in msg and "--label-column" in msg
    assert "petal" not in msg  # a typed path may name a file that is not the user's: its header is not shown


def test_a_text_column_with_few_values_is_a_category_not_a_refusal(tmp_path):
    """A city column was refused ("has text in column 2 ... where the MLP reads numbers only"): it is a category."""
    path = tmp_path / "people.csv"
    cities = ["Paris", "Lyon", "Nice"]
    path.write_text(
        "age,city,income,label\n" + "".join(f"{20 + i % 7},{cities[i % 3]},{i * 3},{i % 2}\n" for i in range(30))
    )
    data = load_dataset(make_config("mlp", dataset="csv", data_path=str(path)))
    assert data.facts.columns == ("age", "city", "income") and data.facts.input_shape == (5,)
    assert "city = Lyon" in data.facts.column_names


def test_a_label_left_of_the_last_column_is_told_to_be_named(tmp_path):
    """With the labels in column 2 and no --label-column, the last column (a measurement) taken as the label is
    refused with a word of --label-column."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    path = tmp_path / "grades.csv"
    path.write_text("f1,grade,f2,f3\n" + "".join(f"{a},{'good' if a > 0 else 'bad'},{b},{c}\n" for a, b, c in x))
    msg = refused(None, arch="mlp", dataset="csv", data_path=str(path), label_column="f3")
    assert msg.endswith(
        "holds fractional numbers, not classes; name the column that holds the class with --label-column."
    )


def test_a_table_of_short_texts_is_told_to_train_the_text_lstm(tmp_path):
    """Short reviews (under 40 characters) make a CSV read as a table, which was refused with "remove those columns
    or encode them as numbers" and nothing of the text model that reads them."""
    path = tmp_path / "reviews.csv"
    path.write_text("id,review,sentiment\n" + "".join(f"{i},great film number {i % 20},pos\n" for i in range(40)))
    msg = refused(None, arch="mlp", dataset="csv", data_path=str(path), label_column="sentiment")
    assert msg.endswith("encode it as numbers; or, to classify the texts of column 2, train with --arch lstm.")


def test_numeric_labels_become_sorted_class_names(tmp_path):
    path = tmp_path / "n.csv"
    path.write_text("x,label\n" + "".join(f"{i},{[10, 2, 7][i % 3]}\n" for i in range(30)))
    ds = load_dataset(make_config("mlp", dataset="csv", data_path=str(path)))
    assert ds.classes == ["2", "7", "10"]


def test_fractional_labels_are_refused(tmp_path):
    path = tmp_path / "reg.csv"
    path.write_text("x,label\n" + "".join(f"{i},{i * 0.37:.2f}\n" for i in range(30)))
    assert "fractional numbers" in refused(None, arch="mlp", dataset="csv", data_path=str(path))


def test_a_spreadsheet_workbook_is_told_to_be_saved_as_csv(tmp_path):
    """An Excel workbook given as data was read as text: "has a header but no data rows" (or "not a text file")."""
    path = tmp_path / "sales.xlsx"
    with zipfile.ZipFile(path, "w") as z:  # a workbook is a zip of XML parts
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    msg = refused(None, arch="mlp", dataset="csv", data_path=str(path))
    assert msg == (
        "sales.xlsx is a spreadsheet workbook, not a CSV; save its sheet as CSV UTF-8 from the spreadsheet "
        "(File > Save As) and give that file."
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        (b"a,b,label\n", "no data rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file"),
        ("a,b,label\n1,2,caf\u00e9\n".encode("latin-1"), "not valid UTF-8 text"),
        (b'a,b,label\n1,2,3\n4,"5,6\n', "not a well-formed CSV"),
    ],
)
def test_unusable_files_get_one_sentence(tmp_path, content, expected):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    msg = refused(None, arch="mlp", dataset="csv", data_path=str(path))
    assert expected in msg and "data.csv" in msg


def test_a_table_where_every_row_misses_a_value_is_refused(tmp_path):
    path = tmp_path / "holes.csv"
    path.write_text("a,b,label\n" + "".join(f"{'' if i % 2 else i},{i if i % 2 else ''},{i % 2}\n" for i in range(10)))
    message = refused(None, arch="mlp", dataset="csv", data_path=str(path), missing="drop")
    assert "Every row of holes.csv has a missing value" in message


def test_a_folder_given_as_a_csv_is_refused(tmp_path):
    assert "is a folder" in refused(None, arch="mlp", dataset="csv", data_path=str(tmp_path))


# --- text CSV ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_text_csv_trains_an_lstm_from_the_command_line(tmp_path, capsys):
    path = write_text_csv(tmp_path / "reviews.csv")
    s = train(
        tmp_path,
        capsys,
        "--arch",
        "lstm",
        "--dataset",
        "text-csv",
        "--data",
        str(path),
        "--text-column",
        "review",
        "--label-column",
        "sentiment",
        "--hidden",
        "32",
        "--max-len",
        "32",
        "--batch-size",
        "32",
    )
    assert s["test_accuracy"] > 0.75


def test_text_csv_keeps_class_names_lengths_and_names_a_missing_text_column(tmp_path):
    path = write_text_csv(tmp_path / "reviews.csv", n=60)
    ds = load_dataset(
        make_config(
            "lstm", dataset="text-csv", data_path=str(path), text_column="review", label_column="sentiment", max_len=20
        )
    )
    assert ds.classes == ["negative", "positive"] and ds.train.lengths is not None
    msg = refused(None, arch="lstm", dataset="text-csv", data_path=str(path), label_column="sentiment")
    assert "no column 'text'" in msg and msg.count("review") == 1 and "--text-column" in msg  # the file name only


def test_texts_in_other_scripts_keep_their_words_and_an_old_run_its_letters(tmp_path):
    import re

    import pandas as pd

    from nnlab.core.facts import facts_from_json_dict
    from nnlab.export.facts import preprocessing_facts

    texts = ["очень хороший фильм", "ужасный плохой фильм"] * 30
    pd.DataFrame({"text": texts, "label": ["pos", "neg"] * 30}).to_csv(tmp_path / "ru.csv", index=False)
    cfg = make_config("lstm", dataset="text-csv", data_path=str(tmp_path / "ru.csv"))
    ds = load_dataset(cfg)
    assert ds.facts.tokens == "words" and {"хороший", "ужасный", "фильм"} <= set(ds.facts.vocab)
    assert "have 3 tokens each;" in next(f.sentence for f in ds.facts.findings if f.kind == "text")
    rule = preprocessing_facts(ds.facts, cfg, {})["tokenizer"]["pattern"]  # what an exported predict.py cuts by
    assert re.findall(rule, "очень хороший") == ["очень", "хороший"]
    old = ds.facts.to_json_dict()
    del old["tokens"]  # an info.json written before words of any script: its run cut letters, and still does
    assert facts_from_json_dict(old).tokens == "ascii"
    assert (
        len(re.findall(preprocessing_facts(facts_from_json_dict(old), cfg, {})["tokenizer"]["pattern"], "фильм")) == 5
    )


# --- series CSV ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_series_csv_trains_and_reports_rmse_beside_the_naive_one(tmp_path, capsys):
    path = write_series_csv(tmp_path / "load.csv")
    s = train(
        tmp_path,
        capsys,
        "--arch",
        "ts-lstm",
        "--dataset",
        "series-csv",
        "--data",
        str(path),
        "--target",
        "load",
        "--window",
        "14",
        "--hidden",
        "32",
        "--lr",
        "0.01",
    )
    assert s["status"] == "finished" and s["test_rmse"] > 0 and s["naive_rmse"] > 0


def test_series_csv_splits_in_time_order_and_scales_on_the_training_part(tmp_path):
    path = write_series_csv(tmp_path / "load.csv", steps=400)
    cfg = make_config("ts-lstm", dataset="series-csv", data_path=str(path), target="load", window=10)
    ds = load_dataset(cfg)
    assert ds.facts.columns == ("temperature", "load") and ds.facts.target == "load"
    assert ds.facts.findings[0].sentence.startswith(
        "Forecasting 'load'; 'date' is the time axis, not an input; inputs: 'temperature', 'load'"
    )
    values = np.loadtxt(path, delimiter=",", skiprows=1, usecols=2)
    train_end = len(ds.train) + 10 + 1 - 1  # time steps the training windows reach
    assert ds.facts.scaler.mean[1] == pytest.approx(values[:train_end].mean(), rel=1e-6)
    assert ds.facts.scaler.mean[1] < values.mean()  # the trend: later values are larger and unseen


def test_series_target_must_be_named_among_several_numeric_columns(tmp_path):
    path = write_series_csv(tmp_path / "load.csv", steps=200)
    msg = refused(None, arch="ts-lstm", dataset="series-csv", data_path=str(path))
    assert "2 numeric columns (columns 2 and 3)" in msg and "temperature" not in msg and "--target" in msg
    not_numbers = refused(None, arch="ts-lstm", dataset="series-csv", data_path=str(path), target="date")
    assert "Target column 'date' of load.csv does not hold numbers" in not_numbers and "2024" not in not_numbers
    assert "no column 'price'" in refused(
        None, arch="ts-lstm", dataset="series-csv", data_path=str(path), target="price"
    )


def test_a_series_with_a_date_on_two_rows_is_refused_by_line(tmp_path):
    """A series whose date column repeated two dates was taken as evenly spaced rows, its dates ignored as text and
    the repeats trained on as steps of their own, without a word."""
    from nnlab.data.files import series_rows

    path = write_series_csv(tmp_path / "load.csv", steps=200)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:51], lines[50], *lines[51:]]) + "\n")  # line 51's date again on line 52
    msg = refused(None, arch="ts-lstm", dataset="series-csv", data_path=str(path), target="load")
    assert msg == (
        "1 date in column 1 of load.csv appears on more than one row (the first repeat on line 52); give one row per "
        "time step (sum or average the rows of each first)."
    )
    with pytest.raises(DataError, match="appears on more than one row"):  # the Playground's upload, as training
        series_rows(path, ["temperature", "load"], "load")


def test_a_series_shorter_than_a_few_windows_is_refused(tmp_path):
    path = write_series_csv(tmp_path / "short.csv", steps=60)
    msg = refused(None, arch="ts-lstm", dataset="series-csv", data_path=str(path), target="load", window=32)
    assert "60 time steps" in msg and "a window of 30 steps or fewer (--window 30)" in msg  # one that trains


# --- image folders -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_zip_of_class_folders_trains_a_cnn_from_the_command_line(tmp_path, capsys, workspace):
    path = write_image_zip(tmp_path / "photos.zip", per_class=40)
    s = train(
        tmp_path,
        capsys,
        "--arch",
        "cnn",
        "--dataset",
        "image-folder",
        "--data",
        str(path),
        "--image-size",
        "32",
        "--hidden",
        "32",
        "--batch-size",
        "16",
    )
    assert s["test_accuracy"] > 0.6  # chance is 1/3
    assert len(list((tmp_path / "ws" / "data" / "extracted").glob("*/photos/red/*.png"))) == 40  # in --store


@pytest.mark.slow
def test_the_command_line_says_a_skipped_file_once(tmp_path, workspace):
    """The skip is a finding on stderr, not also a bare log line before it."""
    path = write_image_zip(tmp_path / "photos.zip", per_class=10, extra={"photos/red/broken.jpg": b"not a jpeg"})
    cmd = [sys.executable, "-m", "nnlab", "check", str(path), "--arch", "cnn", "--image-size", "24"]
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, env=os.environ | {"NNLAB_HOME": str(workspace)}
    )
    assert out.returncode == 0 and (out.stdout + out.stderr).count("1 file in photos.zip could not be read") == 1, out


def test_image_zip_is_extracted_inside_the_workspace_with_class_names_and_skips(tmp_path, workspace):
    path = write_image_zip(tmp_path / "photos.zip", per_class=10, extra={"photos/red/broken.jpg": b"not a jpeg"})
    ds = load_dataset(make_config("cnn", dataset="image-folder", data_path=str(path), image_size=24))
    assert ds.classes == ["blue", "green", "red"]
    (skipped,) = [f for f in ds.facts.findings if f.kind == "files"]
    assert skipped.warns and skipped.sentence.startswith("1 file in photos.zip could not be read as an image")
    assert "as an image (red/broken.jpg); nnlab skipped it" in skipped.sentence  # the file, to find and fix it
    assert skipped.sentence.endswith("; remove it or save it as PNG or JPEG to use it.")  # one file: "it", not "them"
    assert tuple(ds.train.x.shape[1:]) == (3, 24, 24) and ds.train.x.dtype == torch.uint8
    assert len(list((workspace / "data" / "extracted").glob("*/photos/red/*.png"))) == 10


def test_an_image_directory_works_as_well(tmp_path):
    root = write_image_dir(tmp_path / "src", per_class=8)
    ds = load_dataset(make_config("cnn", dataset="image-folder", data_path=str(root)))
    assert ds.classes == ["blue", "green", "red"] and ds.facts.image_size == 40  # their own size (CNN: 8 to 64)


def test_too_few_images_in_a_class_are_refused_by_folder_name(tmp_path):
    extra = {"photos/grey/a.png": png(0, np.random.default_rng(1)), "photos/grey/b.txt": b"notes"}
    path = write_image_zip(tmp_path / "photos.zip", per_class=8, extra=extra)
    msg = refused(None, arch="cnn", dataset="image-folder", data_path=str(path))
    assert (
        "fewer than 5 readable images in class folder grey (1; 1 file, b.txt, could not be read as an image); " in msg
    )


def test_a_class_folder_of_photos_nnlab_cannot_read_says_so_not_that_it_is_empty(tmp_path):
    """A folder of iPhone .HEIC photos (which PIL does not read) was refused as holding '(0)' readable images and
    told to 'add images there', to a user who saw 8 photos in it."""
    root = write_image_dir(tmp_path, per_class=8)  # photos/red, photos/green, photos/blue
    (root / "cats").mkdir()
    for i in range(8):
        (root / "cats" / f"IMG_{i:04d}.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(500))
    msg = refused(None, arch="cnn", dataset="image-folder", data_path=str(root))
    assert msg == (
        "photos has fewer than 5 readable images in class folder cats (0; 8 files, such as IMG_0000.HEIC, could not be "
        "read as images); save those files as PNG or JPEG, add images there or remove the folder."
    )


def test_a_zip_without_class_folders_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "flat.zip", "w") as zf:
        for i in range(6):
            zf.writestr(f"img{i}.png", png(0, np.random.default_rng(i)))
    msg = refused(None, arch="cnn", dataset="image-folder", data_path=str(tmp_path / "flat.zip"))
    assert "flat.zip holds 6 files and no class folder; it needs one folder per class" in msg


def test_a_folder_with_one_class_folder_is_refused_by_that_folder_name(tmp_path):
    # it once said "it has 0 folders at its top" of a folder that held one, the lone class read as a wrapper
    for i in range(6):
        (tmp_path / "mine" / "cats").mkdir(parents=True, exist_ok=True)
        (tmp_path / "mine" / "cats" / f"{i}.png").write_bytes(png(0, np.random.default_rng(i)))
    msg = refused(None, arch="cnn", dataset="image-folder", data_path=str(tmp_path / "mine"))
    assert msg.startswith("mine holds one class folder, cats; a classifier needs one folder per class")
    assert "two classes at least" in msg and "0 folders" not in msg


def test_a_download_split_into_train_and_test_folders_is_not_trained_as_two_classes(tmp_path):
    """A dataset as downloaded (dataset/train/cats, dataset/test/cats, ...) trained a classifier of 'train' against
    'test', its data check calling them imbalanced classes; it is refused, saying what to give instead."""
    with zipfile.ZipFile(tmp_path / "kaggle.zip", "w") as zf:
        for split, n in (("train", 8), ("test", 3), ("valid", 3)):
            for label in ("cats", "dogs"):
                for i in range(n):
                    zf.writestr(f"dataset/{split}/{label}/{i}.png", png(0, np.random.default_rng(i)))
    msg = refused(None, arch="cnn", dataset="image-folder", data_path=str(tmp_path / "kaggle.zip"))
    assert msg == (
        "kaggle.zip holds the folders test, train and valid, each with class folders inside (cats, dogs): those are "
        "the parts of a split, not classes; nnlab draws its own split, so give one folder per class holding all of "
        "its images, or the train folder alone."
    )
    for label in ("train", "bus"):  # a class named train, with its photos in sub-folders, is still a class
        for i in range(6):
            (tmp_path / "vehicles" / label / "2019").mkdir(parents=True, exist_ok=True)
            (tmp_path / "vehicles" / label / "2019" / f"{i}.png").write_bytes(png(0, np.random.default_rng(i)))
    ds = load_dataset(make_config("cnn", dataset="image-folder", data_path=str(tmp_path / "vehicles")))
    assert ds.classes == ["bus", "train"]


def test_a_file_that_is_no_archive_is_refused(tmp_path):
    (tmp_path / "photo.png").write_bytes(png(0, np.random.default_rng(0)))
    msg = refused(None, arch="cnn", dataset="image-folder", data_path=str(tmp_path / "photo.png"))
    assert "neither a folder nor a zip" in msg


def test_image_folder_refuses_an_mlp_in_one_sentence(tmp_path, capsys):
    code = main(
        ["train", "--arch", "mlp", "--dataset", "image-folder", "--data", "x.zip", "--store", str(tmp_path / "ws")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "does not fit dataset image-folder" in err and err.count("\n") == 1


def test_a_named_pipe_is_not_called_a_folder_and_is_never_opened(tmp_path):
    """Issue 21: a FIFO given as the CSV was 'a folder'; opening one would wait for a writer forever."""
    import os

    pipe = tmp_path / "table.csv"
    os.mkfifo(pipe)
    with pytest.raises(DataError) as caught:
        load_dataset(make_config("mlp", dataset="csv", data_path=str(pipe)))
    assert "not a regular file" in str(caught.value) and "folder" not in str(caught.value)


def test_an_image_path_walks_a_bounded_number_of_files_and_folders(tmp_path, monkeypatch):
    """Issue 21: an image path of / walked the whole filesystem (13 s) and then failed on /proc; the walk stops at
    a bound with one sentence."""
    from nnlab.data import images

    for k in range(3):
        for i in range(20):
            (tmp_path / "root" / f"class{k}" / "deep" / f"{i}").mkdir(parents=True)
    monkeypatch.setattr(images, "MAX_LISTED", 50)
    dirs = images.class_folders(tmp_path / "root", "root")
    with pytest.raises(DataError, match="holds more than 50 files and folders"):
        images.read_folder_images(dirs, 8, "root")
    monkeypatch.setattr(images, "MAX_LISTED", 500)
    assert images.image_files(dirs, "root") == [[], [], []]


@pytest.mark.slow
def test_a_csv_is_read_without_whole_copies_of_it_in_memory(tmp_path):
    """Issue 21 item 3: a 150 MB upload peaked near 2.5 GB in the server; reading held the file's bytes, its
    decoded text, a 4-bytes-a-character StringIO of it and every class name matched as a possible number."""
    import tracemalloc

    import pandas as pd

    from nnlab.data.csvfile import read_csv

    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(300_000, 3)).round(5), columns=["a", "b", "c"])  # 8 MB
    table["label"] = rng.choice(["cat", "dog"], len(table))
    path = tmp_path / "table.csv"
    table.to_csv(path, index=False)
    tracemalloc.start()
    try:
        read = read_csv(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(read) == len(table)
    assert peak < 3 * path.stat().st_size, f"{peak / path.stat().st_size:.1f} times the file"


def test_series_rows_reads_an_upload_as_training_reads_the_file(tmp_path):
    """The Playground's series upload: missing days inserted and blanks interpolated as training does, columns
    matched ignoring case; a CSV without a training column is refused naming it."""
    import pandas as pd

    from nnlab.data.files import series_rows

    rng = np.random.default_rng(0)
    days = pd.date_range("2024-01-01", periods=120, freq="D").strftime("%Y-%m-%d")
    df = pd.DataFrame({"date": days, "Sales": np.round(rng.normal(50, 5, 120), 2)}).drop(index=[30, 31, 90])
    df.loc[60, "Sales"] = np.nan
    df.to_csv(tmp_path / "gaps.csv", index=False)
    trained = load_dataset(make_config("ts-lstm", dataset="series-csv", data_path=str(tmp_path / "gaps.csv")))
    got = series_rows(tmp_path / "gaps.csv", ["sales"], "sales")
    assert got.shape == (120, 1)
    np.testing.assert_allclose(got[:, 0], trained.display["series"])
    with pytest.raises(DataError, match=r"^gaps\.csv lacks the column 'temp' the model was trained on; give a CSV "):
        series_rows(tmp_path / "gaps.csv", ["temp", "sales"], "sales")
    said = "lacks the column 'visitors' the model was trained on; give a CSV with a column 'visitors'.$"
    with pytest.raises(DataError, match=said):  # was "with its columns 'visitors'", of one column
        series_rows(tmp_path / "gaps.csv", ["visitors"], "visitors")
