"""The data check (issue 22): ID-like columns found whatever the row order and left out, numbers written with
thousands separators, series with deleted rows, `--missing drop` that leaves too little to score, the findings on
the command line (stderr before training, --json, `nnlab check`), image sizes, texts, duplicates, imbalance."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnlab.cli.main import main
from nnlab.core.errors import DataError
from nnlab.data import load_dataset
from nnlab.data.registry import make_config
from nnlab.store.runs import RunStore
from tests.test_real_layouts import year_value_csv

# --- data in the shapes the must-show names ------------------------------------------------------------------


def shuffled_id_noise_csv(path: Path, n: int = 300, seed: int = 0) -> Path:
    """Noise features and three classes, numbered by an `id` in class order, then shuffled (the old check, which
    wanted increasing IDs, saw nothing; the ID still gives the class away)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 5)), columns=[f"f{i}" for i in range(5)])
    df["label"] = np.sort(rng.integers(0, 3, n))
    df.insert(0, "id", np.arange(1, n + 1))
    df.sample(frac=1.0, random_state=seed).to_csv(path, index=False)
    return path


def label_copy_csv(path: Path, n: int = 300, seed: int = 0) -> Path:
    """Weak features and a label, with `grade` a code of the label (as a column recorded after the outcome is)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    df = pd.DataFrame(rng.normal(size=(n, 4)) + 0.3 * y[:, None], columns=["a", "b", "c", "d"])
    df["grade"] = np.where(y == 1, 7, 3) + rng.integers(0, 2, n)  # 3-4 for one class, 7-8 for the other
    df["label"] = np.where(y == 1, "sick", "well")
    df.to_csv(path, index=False)
    return path


def german(value: float) -> str:
    """A number as a German spreadsheet writes it: thousands dots, a decimal comma (1.065 is one thousand ...)."""
    text = f"{value:,.0f}" if value == int(value) else f"{value:,}"
    return text.translate(str.maketrans(",.", ".,"))


def wine_files(tmp_path: Path) -> tuple[Path, Path]:
    """scikit-learn's wine as a plain CSV and as a semicolon CSV with thousands dots and decimal commas."""
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    plain = tmp_path / "wine.csv"
    frame.to_csv(plain, index=False)
    lines = [";".join(frame.columns)]
    lines += [";".join([*(german(v) for v in row[:-1]), str(int(row[-1]))]) for row in frame.to_numpy()]
    germ = tmp_path / "wein.csv"
    germ.write_text("\n".join(lines) + "\n")
    return plain, germ


def table(path: Path, **cfg):
    return load_dataset(make_config("mlp", dataset="csv", data_path=str(path), **cfg))


def series(path: Path, **cfg):
    return load_dataset(make_config("ts-lstm", dataset="series-csv", data_path=str(path), **cfg))


def kinds(ds) -> list[str]:
    return [f.kind for f in ds.facts.findings]


def said(ds, kind: str) -> str:
    return " ".join(f.sentence for f in ds.facts.findings if f.kind == kind)


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


# --- ID-like columns -------------------------------------------------------------------------------------------


def test_an_id_column_is_left_out_whatever_the_row_order_and_kept_on_request(tmp_path):
    shuffled = table(shuffled_id_noise_csv(tmp_path / "noise.csv"))
    assert "id" not in shuffled.facts.columns and shuffled.facts.input_shape == (5,)
    assert "'id'" in said(shuffled, "id_column") and "--keep-ids" in said(shuffled, "id_column")
    kept = table(tmp_path / "noise.csv", keep_ids=True)
    assert "id" in kept.facts.columns and [f.warns for f in kept.facts.findings if f.kind == "id_column"] == [True]


def test_text_ids_are_left_out_and_honest_whole_numbers_kept(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    df = pd.DataFrame({"patient": [f"P-{i:05d}" for i in rng.permutation(n)], "age": rng.integers(20, 80, n)})
    df["income"] = rng.integers(10_000, 900_000, n)  # a different whole number on (nearly) every row, not dense
    df["label"] = rng.integers(0, 2, n)
    df.to_csv(tmp_path / "clinic.csv", index=False)
    ds = table(tmp_path / "clinic.csv")
    assert ds.facts.columns == ("age", "income") and "'patient'" in said(ds, "id_column")


# --- numbers ---------------------------------------------------------------------------------------------------


def test_a_decimal_comma_file_with_thousands_dots_reads_equal_to_the_plain_file(tmp_path):
    plain_path, german_path = wine_files(tmp_path)
    assert "1.065;" in german_path.read_text() and "14,23;" in german_path.read_text()  # proline and alcohol
    plain, read = table(plain_path, label_column="target"), table(german_path, label_column="target")
    assert read.facts.columns == plain.facts.columns
    assert np.allclose(read.facts.scaler.mean, plain.facts.scaler.mean, rtol=1e-6)
    assert np.array_equal(read.train.x.numpy(), plain.train.x.numpy())
    assert "proline" in said(read, "numbers") and "thousands dots" in said(read, "numbers")


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        (["1,5;1.250", "2,5;1.5"], "Column 2 of mixed.csv has a number on line 3"),  # 1.5 is no thousands group
        (["1,5;0.512", "2,5;1.000"], "Column 2 of mixed.csv has a number on line 2"),
        (["1,5;1,234.5", "2,5;3"], "both with decimal commas and with thousands commas"),
    ],
)
def test_numbers_written_two_ways_are_refused_in_one_sentence(tmp_path, rows, words):
    path = tmp_path / "mixed.csv"
    path.write_text("a;b\n" + "\n".join(rows * 20) + "\n")
    with pytest.raises(DataError) as err:
        table(path, label_column="a")
    said_ = str(err.value)
    assert words in said_ and said_.count(".") <= 3 and "1.250" not in said_ and "0.512" not in said_


def test_thousands_commas_with_decimal_points_are_read(tmp_path):
    rows = [f"{'ab'[i % 2]};{1000 + 37 * i:,}.5;{i}" for i in range(60)]
    (tmp_path / "us.csv").write_text("label;amount;k\n" + "\n".join(rows) + "\n")
    ds = table(tmp_path / "us.csv", keep_ids=True)
    raw = ds.facts.scaler.unscale(ds.train.x.numpy()[:, 0].astype(np.float64), 0)
    assert set(np.round(raw, 1)) <= {1000.5 + 37 * i for i in range(60)}  # 1,037.5 read as 1037.5
    assert "thousands commas" in said(ds, "numbers")


# --- series ----------------------------------------------------------------------------------------------------


def test_a_series_with_deleted_rows_gets_its_gap_found_counted_and_filled(tmp_path):
    t = np.arange(600)
    values = 0.05 * t + 3 * np.sin(2 * np.pi * t / 24)
    kept = np.setdiff1d(t, [100, 101, 102, 103, 104, 300])  # six years deleted, not blank
    pd.DataFrame({"year": 1400 + kept, "value": values[kept].round(4)}).to_csv(tmp_path / "holes.csv", index=False)
    ds = series(tmp_path / "holes.csv")
    assert "6 years are missing; nnlab inserted them and interpolated" in said(ds, "series")
    got = ds.display["series"]
    assert len(got) == 600  # the steps are back, in place
    line = values[99] + (values[105] - values[99]) * np.arange(1, 6) / 6
    assert np.allclose(got[100:105], line, atol=1e-3) and np.allclose(got[kept], values[kept], atol=1e-3)
    joined = series(tmp_path / "holes.csv", missing="drop")
    assert len(joined.display["series"]) == 594 and "joined" in said(joined, "series")


def test_weekly_dates_with_missing_weeks_are_filled(tmp_path):
    dates = pd.date_range("2020-01-06", periods=300, freq="W-MON")
    keep = np.setdiff1d(np.arange(300), [50, 51, 200])
    values = np.sin(np.arange(300) / 5) + np.arange(300) * 0.01
    frame = pd.DataFrame({"week": dates[keep].strftime("%Y-%m-%d"), "sales": values[keep]})
    frame.to_csv(tmp_path / "weekly.csv", index=False)
    ds = series(tmp_path / "weekly.csv", window=8)
    assert "3 weeks are missing" in said(ds, "series") and len(ds.display["series"]) == 300


def test_uneven_time_steps_are_refused_in_one_sentence(tmp_path):
    rng = np.random.default_rng(0)
    times = np.cumsum(rng.uniform(0.5, 3.0, 300)).round(3)
    pd.DataFrame({"t": times, "secret_value": rng.normal(size=300)}).to_csv(tmp_path / "log.csv", index=False)
    with pytest.raises(DataError) as err:
        series(tmp_path / "log.csv")
    assert str(err.value).startswith("The time steps in column 1 of log.csv are uneven and no regular step fits")
    assert "secret" not in str(err.value)


def test_a_season_is_found_and_compared_with_the_window(tmp_path):
    t = np.arange(600)
    values = 0.05 * t + 3 * np.sin(2 * np.pi * t / 24) + np.random.default_rng(0).normal(0, 0.3, 600)
    ds = series(year_value_csv(tmp_path / "yearly.csv", values), window=16)
    assert "repeats every 24 steps" in said(ds, "series") and "--window 24 or more" in said(ds, "series")


def test_no_season_says_how_many_steps_the_model_sees(tmp_path):
    """'the model sees the last --window steps' read as a flag where a number belongs (in the dashboard: 'the last
    "Window" steps'); it gives the window's steps and names the flag after them."""
    noise = np.random.default_rng(0).normal(0, 1, 300).cumsum()
    ds = series(year_value_csv(tmp_path / "walk.csv", noise), window=16)
    assert "No season was found" in said(ds, "series")
    assert "the model sees the last 16 steps (--window)." in said(ds, "series")


# --- --missing drop and refusals that leave no run behind -----------------------------------------------------


def blank_heavy_csv(path: Path, n: int = 400, seed: int = 0) -> Path:
    """Eight features with a third of the cells blank: dropping rows with any blank leaves about 1 in 25."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8))
    x[rng.random(x.shape) < 0.33] = np.nan
    pd.DataFrame(x, columns=[f"m{i}" for i in range(8)]).assign(label=rng.integers(0, 2, n)).to_csv(path, index=False)
    return path


def test_missing_drop_that_leaves_too_few_test_rows_is_refused_and_leaves_no_run(tmp_path, capsys, workspace):
    path = blank_heavy_csv(tmp_path / "sparse.csv")
    code, out, err = cli(capsys, "train", "--arch", "mlp", "--dataset", "csv", "--data", str(path), "--missing", "drop")
    assert code == 2 and out == ""
    assert err.startswith("nnlab: --missing drop leaves ") and "too few to score" in err and err.count("\n") == 1
    assert RunStore(workspace).list() == []  # refused before a run was created
    assert len(table(path).train) > 200  # fill keeps every row


def test_a_refused_csv_leaves_no_failed_run_behind(tmp_path, capsys, workspace):
    path = tmp_path / "words.csv"
    path.write_text("note,label\n" + "".join(f"{'red blue'.split()[i % 2]} x{i % 20},{i % 2}\n" for i in range(40)))
    code, _, err = cli(capsys, "train", "--arch", "mlp", "--dataset", "csv", "--data", str(path))
    assert code == 2 and "text in column 1" in err
    assert RunStore(workspace).list() == []


# --- the findings on the command line ---------------------------------------------------------------------------


def test_a_label_copy_is_said_on_stderr_before_training_and_kept_in_the_json(tmp_path, capsys):
    path = label_copy_csv(tmp_path / "ward.csv")
    code, out, err = cli(
        capsys, "train", "--arch", "mlp", "--dataset", "csv", "--data", str(path), "--epochs", "1",
        "--hidden-sizes", "32", "--json", "--store", str(tmp_path / "ws"),
    )  # fmt: skip
    assert code == 0
    warning = re.search(r"warning: Column 'grade' of ward\.csv predicts the label 'label' almost perfectly", err)
    assert warning and warning.start() < err.index("epoch 1/1")  # said before the first epoch
    summary = json.loads(out.strip().splitlines()[-1])
    (copy,) = [f for f in summary["findings"] if f["kind"] == "label_copy"]
    assert copy["severity"] == "warning" and "'grade'" in copy["sentence"]
    assert set(summary["findings"][0]) == {"kind", "severity", "sentence"}


def test_nnlab_check_prints_the_findings_without_training(tmp_path, capsys):
    path = shuffled_id_noise_csv(tmp_path / "noise.csv")
    code, out, err = cli(capsys, "check", str(path), "--json", "--store", str(tmp_path / "ws"))
    assert code == 0
    checked = json.loads(out)
    assert checked["dataset"] == "csv" and checked["arch"] == "mlp" and sum(checked["rows"].values()) == 300
    assert "id_column" in [f["kind"] for f in checked["findings"]]
    assert not (tmp_path / "ws").exists() or RunStore(tmp_path / "ws").list() == []  # nothing trained, no run
    code, out, _ = cli(capsys, "check", str(label_copy_csv(tmp_path / "ward.csv")))
    assert code == 0 and "warning: Column 'grade'" in out
    code, out, _ = cli(capsys, "check", "digits", "--arch", "cnn")
    assert code == 0 and "8x8 pixels" in out and "at their own size" in out


def test_nnlab_check_tells_a_series_and_texts_from_a_table(tmp_path, capsys):
    path = year_value_csv(tmp_path / "yearly.csv", np.sin(np.arange(300) / 4))
    code, out, _ = cli(capsys, "check", str(path), "--json")
    assert code == 0 and json.loads(out)["dataset"] == "series-csv"
    texts = pd.DataFrame({"review": [f"a long enough review number {i} that says little" for i in range(60)]})
    texts.assign(sentiment=["pos", "neg"] * 30).to_csv(tmp_path / "reviews.csv", index=False)
    code, out, err = cli(capsys, "check", str(tmp_path / "reviews.csv"), "--json")
    assert code == 0 and json.loads(out)["dataset"] == "text-csv" and "'sentiment' as the label" in err
    code, _, err = cli(capsys, "check", str(tmp_path / "nothing.csv"))
    assert code == 2 and "neither a file, a folder nor a dataset name" in err


def test_train_and_sweep_read_the_label_column_check_reads(tmp_path, capsys):
    """A table whose label column has no usual name: `check` guessed it and `train` refused the same file."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    table_ = pd.DataFrame(x, columns=["a", "b", "c"]).assign(outcome=np.where(x[:, 0] > 0, "up", "down"))
    path = tmp_path / "table.csv"
    table_.to_csv(path, index=False)
    store = ["--store", str(tmp_path / "ws")]
    code, _, err = cli(capsys, "check", str(path), *store)
    assert code == 0 and "'outcome' as the label" in err
    code, out, err = cli(capsys, "train", "--arch", "mlp", "--dataset", "csv", "--data", str(path), "--epochs", "2",
                         "--json", *store)  # fmt: skip
    assert code == 0 and "'outcome' as the label" in err, err
    assert json.loads(out.strip().splitlines()[-1])["status"] == "finished"
    code, out, err = cli(capsys, "sweep", "--arch", "mlp", "--dataset", "csv", "--data", str(path), "--epochs", "2",
                         "--vary", "lr=0.001,0.01", "--trials", "2", "--dry-run", "--json", *store)  # fmt: skip
    assert code == 0 and "'outcome' as the label" in err, err


# --- images, texts, rows, classes ---------------------------------------------------------------------------------


def small_png_zip(path: Path, side: int = 8, per_class: int = 20) -> Path:
    """Grey side x side PNGs in two class folders (digits saved as images)."""
    import zipfile

    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    with zipfile.ZipFile(path, "w") as zf:
        for label in (0, 1):
            for k, img in enumerate(digits.images[digits.target == label][:per_class]):
                buf = io.BytesIO()
                Image.fromarray((img * 16).clip(0, 255).astype(np.uint8)).resize((side, side)).save(buf, format="PNG")
                zf.writestr(f"digits/{label}/{k}.png", buf.getvalue())
    return path


def test_small_images_train_near_their_own_size_with_a_finding(tmp_path):
    path = small_png_zip(tmp_path / "digits.zip")
    cnn = load_dataset(make_config("cnn", dataset="image-folder", data_path=str(path)))
    assert cnn.facts.image_size == 8 and cnn.train.x.shape[-1] == 8  # not upscaled to 64
    assert "are 8x8 pixels, grey; nnlab trains them at 8x8, their own size" in said(cnn, "images")
    resnet = load_dataset(make_config("resnet18", dataset="image-folder", data_path=str(path), pretrained=False))
    assert resnet.facts.image_size == 32 and "smallest size the architecture uses well" in said(resnet, "images")
    pretrained = load_dataset(make_config("resnet18", dataset="image-folder", data_path=str(path)))
    assert pretrained.facts.image_size == 224 and "pretrained ImageNet weights expect" in said(pretrained, "images")


def test_wide_images_are_said_to_be_wide_and_cut_to_their_centred_square(tmp_path):
    """40x28 photos were said to be '28x28 pixels ... their own size' while the loader cut a third off each."""
    import zipfile

    from PIL import Image

    with zipfile.ZipFile(tmp_path / "wide.zip", "w") as zf:
        for label in ("a", "b"):
            for k in range(12):
                buf = io.BytesIO()
                Image.new("RGB", (40, 28), (200 * (label == "a"), 90, k)).save(buf, format="PNG")
                zf.writestr(f"{label}/{k}.png", buf.getvalue())
    cnn = load_dataset(make_config("cnn", dataset="image-folder", data_path=str(tmp_path / "wide.zip")))
    sentence = said(cnn, "images")
    assert cnn.facts.image_size == 28
    assert "are 40x28 pixels (width by height), in colour" in sentence, sentence
    assert "cuts each to its centred square and trains it at 28x28, the length of their short side" in sentence
    from nnlab.data import DATASETS

    assert "cut to its centred square" in DATASETS["image-folder"].description  # the form's and the report's words


def test_photos_of_several_sizes_are_said_to_differ_not_given_a_size_none_has(tmp_path):
    """Photos of 64x64, 80x48 and 200x150 were said to be '72x64 pixels (width by height) (48 to 150 on the short
    side)', the median width beside the median height: a size no photo had."""
    from PIL import Image

    for label in ("a", "b"):
        (tmp_path / "mixed" / label).mkdir(parents=True)
        for k, size in enumerate([(64, 64), (80, 48), (200, 150), (64, 64)] * 2):
            Image.new("RGB", size, (200 * (label == "a"), 90, k)).save(tmp_path / "mixed" / label / f"{k}.png")
    cnn = load_dataset(make_config("cnn", dataset="image-folder", data_path=str(tmp_path / "mixed")))
    sentence = said(cnn, "images")
    assert sentence.startswith(
        "The images of mixed have several sizes, 48 to 150 pixels on the short side (median 64), not all square, "
        "in colour; nnlab cuts each to its centred square and trains it at 64x64, the median length of their short "
        "sides;"
    ), sentence


def test_portrait_photos_stored_on_their_side_are_said_to_be_upright(tmp_path):
    """A phone stores a portrait photo 40x28 with EXIF orientation 6; the loader turns it upright, but the data check
    called the photos '40x28 pixels (width by height)', the way no viewer shows them."""
    from PIL import Image

    for label in ("a", "b"):
        (tmp_path / "phone" / label).mkdir(parents=True)
        for k in range(6):
            im = Image.new("RGB", (40, 28), (200 * (label == "a"), 90, k))
            exif = im.getexif()
            exif[0x0112] = 6  # rotate 90 degrees clockwise to show
            im.save(tmp_path / "phone" / label / f"IMG_{k}.JPG", exif=exif)
    cnn = load_dataset(make_config("cnn", dataset="image-folder", data_path=str(tmp_path / "phone")))
    assert "are 28x40 pixels (width by height), in colour" in said(cnn, "images")


def test_texts_are_measured_and_repeats_and_shared_rows_counted(tmp_path):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(50)]
    texts = [" ".join(rng.choice(words, 30)) for _ in range(100)] * 2  # every text twice
    pd.DataFrame({"text": texts, "label": ["a", "b"] * 100}).to_csv(tmp_path / "t.csv", index=False)
    ds = load_dataset(make_config("lstm", dataset="text-csv", data_path=str(tmp_path / "t.csv"), max_len=20))
    assert "have 30 tokens each; nnlab cut 100% of them at 20 tokens" in said(ds, "text")
    assert "100 examples of t.csv read the same as another to the model, label included (the same first 20" in said(
        ds, "duplicates"
    )
    leak = [f for f in ds.facts.findings if f.kind == "leakage"]
    assert leak and leak[0].warns and "also appear in the training split" in leak[0].sentence


def test_texts_that_differ_in_rare_words_alone_are_not_called_exact_copies(tmp_path):
    """Reviews alike but for a number each ('great film #12') were '55 examples ... are exact copies of another':
    the check compares the token ids the model reads, where an unseen word is one unknown word."""
    texts = [f"{'great film' if i % 2 else 'awful plot'} number {i}" for i in range(200)]
    pd.DataFrame({"text": texts, "label": ["good", "bad"] * 100}).to_csv(tmp_path / "t.csv", index=False)
    ds = load_dataset(make_config("lstm", dataset="text-csv", data_path=str(tmp_path / "t.csv")))
    sentence = said(ds, "duplicates")
    assert "exact cop" not in sentence and "read the same as another to the model" in sentence, sentence


def test_one_test_example_seen_in_training_appears_in_the_singular(tmp_path):
    texts = [f"text number {i}" for i in range(60)] + ["the same words"] * 4
    pd.DataFrame({"text": texts, "label": ["a", "b"] * 32}).to_csv(tmp_path / "t.csv", index=False)
    for seed in range(20):  # a split with one of the repeats in the test part and another in training
        ds = load_dataset(make_config("lstm", dataset="text-csv", data_path=str(tmp_path / "t.csv"), split_seed=seed))
        leak = [f.sentence for f in ds.facts.findings if f.kind == "leakage"]
        if leak and leak[0].startswith("1 of the"):
            assert "also appears in the training split" in leak[0], leak[0]
            return
    pytest.fail("no split put one repeat in the test part")


def test_constant_columns_are_said(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=100), "unit": 1.0, "label": rng.integers(0, 2, 100)})
    df.to_csv(tmp_path / "c.csv", index=False)
    assert "'unit'" in said(table(tmp_path / "c.csv"), "constant")


def test_strong_imbalance_turns_class_weights_on_visibly_and_off_on_request(tmp_path):
    import torch

    from nnlab.engine.train import Trainer
    from nnlab.models import build_model

    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(380, int), np.ones(20, int)]
    pd.DataFrame({"x": rng.normal(size=400) + 2 * y, "label": y}).to_csv(tmp_path / "rare.csv", index=False)
    for setting, on in (("auto", True), ("off", False), ("on", True)):
        cfg = make_config("mlp", dataset="csv", data_path=str(tmp_path / "rare.csv"), class_weights=setting)
        ds = load_dataset(cfg)
        assert Trainer(cfg, build_model(cfg, ds.facts), ds, torch.device("cpu")).weighted is on, setting
        (finding,) = [f for f in ds.facts.findings if f.kind == "imbalance"]
        assert ("nnlab weighs each class's loss" in finding.sentence) is on and finding.warns is not on
    balanced = tmp_path / "even.csv"
    pd.DataFrame({"x": rng.normal(size=400), "label": [0, 1] * 200}).to_csv(balanced, index=False)
    assert "imbalance" not in kinds(table(balanced))


# --- Must show: whole runs ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_shuffled_id_noise_scores_near_chance_by_default(tmp_path, capsys):
    path = shuffled_id_noise_csv(tmp_path / "noise.csv")
    base = [
        "train",
        "--arch",
        "mlp",
        "--dataset",
        "csv",
        "--data",
        str(path),
        "--json",
        "--store",
        str(tmp_path / "ws"),
    ]
    code, out, err = cli(capsys, *base)
    summary = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and summary["test_accuracy"] <= 0.5  # chance is 1/3; the ID scored 0.94 before
    assert "note: Column 'id' of noise.csv holds a different value on every row" in err
    assert "id_column" in [f["kind"] for f in summary["findings"]]
    code, out, _ = cli(capsys, *base, "--keep-ids")
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["test_accuracy"] >= 0.8  # the leak it stops


def imbalanced_csv(path: Path, n: int = 4000, seed: int = 0) -> Path:
    """95 to 5: four features, the rare class shifted by 2 in each (scaled logistic regression with balanced
    class weights reaches about 0.98 balanced accuracy here)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.05).astype(int)
    x = rng.normal(size=(n, 4)) + 2.0 * y[:, None]
    pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(label=y).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_a_95_to_5_table_reaches_balanced_accuracy_095_with_defaults(tmp_path, capsys):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    path = imbalanced_csv(tmp_path / "rare.csv")
    code, out, err = cli(
        capsys, "train", "--arch", "mlp", "--dataset", "csv", "--data", str(path), "--json", "--store", str(tmp_path)
    )
    summary = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and summary["test_balanced_accuracy"] >= 0.95
    assert "nnlab weighs each class's loss by how rare it is (class weights, automatic)" in err
    ds = table(path)  # the same split: scaled logistic regression as the reference
    lr = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=1000))
    lr.fit(ds.train.x.numpy(), ds.train.y.numpy())
    reference = balanced_accuracy_score(ds.test.y.numpy(), lr.predict(ds.test.x.numpy()))
    assert summary["test_balanced_accuracy"] >= reference - 0.03


def test_nnlab_check_reads_a_table_with_a_date_as_the_label_flag_says(tmp_path, capsys):
    """A table with a date column and --label-column rain was read as a series: 'name the one to forecast with
    --target'. The column flags say what the file is: --label-column a table, --target a series."""
    rng = np.random.default_rng(0)
    days = pd.date_range("2023-01-01", periods=120, freq="D").strftime("%Y-%m-%d")
    table_ = pd.DataFrame({"date": days, "temp": rng.normal(15, 5, 120), "humidity": rng.uniform(30, 90, 120)})
    table_.assign(rain=(table_.humidity > 60).astype(int)).to_csv(tmp_path / "weather.csv", index=False)
    code, out, err = cli(capsys, "check", str(tmp_path / "weather.csv"), "--label-column", "rain", "--json")
    assert code == 0 and json.loads(out)["dataset"] == "csv", err
    code, out, err = cli(capsys, "check", str(tmp_path / "weather.csv"), "--target", "temp", "--json")
    assert code == 0 and json.loads(out)["dataset"] == "series-csv", err


def test_train_and_sweep_given_a_file_without_a_dataset_read_the_file(tmp_path, capsys):
    """`train --arch mlp --data table.csv` without --dataset trained the built-in digits and said nothing."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    pd.DataFrame(x, columns=["a", "b", "c"]).assign(label=(x[:, 0] > 0).astype(int)).to_csv(
        tmp_path / "t.csv", index=False
    )
    store = ["--store", str(tmp_path / "ws")]
    code, out, err = cli(capsys, "train", "--arch", "mlp", "--data", str(tmp_path / "t.csv"), "--epochs", "1", "--json",
                         *store)  # fmt: skip
    assert code == 0, err
    ran = json.loads(out.strip().splitlines()[-1])
    assert ran["dataset"] == "csv" and RunStore(tmp_path / "ws").get(ran["run_id"]).config.data_path.endswith("t.csv")
    sweep = ["sweep", "--arch", "mlp", "--data", str(tmp_path / "t.csv"), "--epochs", "1", "--vary", "lr=0.001,0.01",
             "--trials", "2", "--dry-run", "--json", *store]  # fmt: skip
    peaks = []
    for dataset in ([], ["--dataset", "csv"]):
        code, out, err = cli(capsys, *sweep, *dataset)
        assert code == 0, err
        peaks.append(json.loads(out.strip().splitlines()[-1])["peak_memory_mb"])
    assert peaks[0] == peaks[1]  # the model of 3 inputs, not of digits' 64


def test_a_good_feature_of_a_small_table_is_not_called_a_copy_of_the_label(tmp_path):
    """On iris, 'petal length (cm)' was said to predict the species 'almost perfectly (balanced accuracy 1.00)',
    probably a copy of the label: its tree was right on all 38 held-out rows by luck; over every row, by folds,
    it scores 0.92. A real copy (label * 2 + noise) is still found."""
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True).frame.rename(columns={"target": "label"})
    iris.to_csv(tmp_path / "iris.csv", index=False)
    found = load_dataset(make_config("mlp", dataset="csv", data_path=str(tmp_path / "iris.csv"))).facts.findings
    assert "label_copy" not in [f.kind for f in found]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] + rng.normal(0, 1, 400) > 0).astype(int)
    table = pd.DataFrame(x, columns=["a", "b", "c"]).assign(score=y * 2 + rng.normal(0, 0.1, 400), label=y)
    table.to_csv(tmp_path / "leak.csv", index=False)
    found = load_dataset(make_config("mlp", dataset="csv", data_path=str(tmp_path / "leak.csv"))).facts.findings
    (copy,) = [f for f in found if f.kind == "label_copy"]
    assert "Column 'score' of leak.csv predicts the label 'label' almost perfectly" in copy.sentence


def test_a_text_column_left_out_as_an_id_is_not_offered_back_with_keep_ids(tmp_path):
    """A table's date column was left out as ID-like with 'give --keep-ids to keep it'; --keep-ids then refused the
    file (text where the MLP reads numbers only). The finding says what would work instead."""
    rng = np.random.default_rng(0)
    days = pd.date_range("2023-01-01", periods=120, freq="D").strftime("%Y-%m-%d")
    table_ = pd.DataFrame({"date": days, "temp": rng.normal(15, 5, 120), "humidity": rng.uniform(30, 90, 120)})
    table_.assign(rain=(table_.humidity > 60).astype(int)).to_csv(tmp_path / "weather.csv", index=False)
    cfg = make_config("mlp", dataset="csv", data_path=str(tmp_path / "weather.csv"), label_column="rain")
    ds = load_dataset(cfg)
    sentence = said(ds, "id_column")
    assert "'date'" in sentence and "--keep-ids" not in sentence
    assert sentence.endswith(
        "a text on every row unlike the others is no category, so encode it as numbers if it means something."
    )
