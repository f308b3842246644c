"""Export: a script folder that trains without nnlab, and the model (TorchScript, torch.export) with preprocessing.json
and a predict.py that reads raw inputs, predicting like the run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from nnlab.core.errors import NNLabError
from nnlab.data import load_dataset
from nnlab.data.batches import make_transform
from nnlab.data.prep import series_levels
from nnlab.data.registry import make_config
from nnlab.engine.predict import Predictor
from nnlab.engine.runner import execute
from nnlab.export import FACTS, FORMATS, PREDICT, PROGRAM, TORCHSCRIPT, export_run, export_zip
from nnlab.store.runs import RunStore
from tests.helpers import isolated

KINDS = (
    "digits",
    "shapes",
    "reviews",
    "series",
    "iris",
)  # the tiny trained runs: image, image folder, text, series, table
RUFF = Path(sys.executable).with_name("ruff")


def _script(store: RunStore, run_id: str, out: Path) -> Path:
    export_run(store, run_id, "script", out)
    return out / "train.py"


def test_nnlab_is_not_importable_where_the_scripts_run(tmp_path):
    out = isolated(["-c", "import nnlab"], tmp_path)
    assert out.returncode != 0 and "No module named 'nnlab'" in out.stderr


@pytest.mark.parametrize("name", KINDS)
def test_the_script_is_plain_pytorch_and_lint_clean(trained, store, tmp_path, name):
    train_py = _script(store, trained[name], tmp_path / "out")
    text = train_py.read_text()
    modules = {m.split(".")[0] for m in re.findall(r"^(?:from|import) ([\w.]+)", text, re.M)}
    assert modules <= set(sys.stdlib_module_names) | {"numpy", "pandas", "torch", "torchvision", "sklearn"}
    assert "nnlab" not in modules
    cfg = json.loads((tmp_path / "out" / "config.json").read_text())
    assert cfg["arch"] == store.get(trained[name]).config.arch
    if RUFF.exists():
        lint = subprocess.run(
            [str(RUFF), "check", "--no-cache", "--config", "pyproject.toml", str(train_py)], capture_output=True
        )
        assert lint.returncode == 0, lint.stdout.decode()
    compile(text, str(train_py), "exec")


@pytest.mark.slow
@pytest.mark.parametrize("name", KINDS)
def test_the_exported_script_trains_without_nnlab(trained, store, tmp_path, name):
    train_py = _script(store, trained[name], tmp_path / "out")
    out = isolated([train_py.name], train_py.parent)
    assert out.returncode == 0, out.stderr[-2000:]
    metric = "rmse" if name == "series" else "accuracy"
    score = float(re.search(rf"test {metric} ([\d.]+)", out.stdout).group(1))
    assert np.isfinite(score) and (tmp_path / "out" / "model.pt").is_file()


def _run_then_its_script(store, cfg, folder: Path) -> tuple[float, float, str]:
    """Train cfg as a run, then its exported script in a clean process: (the run's test score, the script's, what
    the script printed). The script reports the same split sizes as the run's."""
    run_id = store.create(cfg)
    store.claim_queued(run_id)
    assert execute(store, run_id).status == "finished"
    train_py = _script(store, run_id, folder)
    out = isolated([train_py.name], train_py.parent)
    assert out.returncode == 0, out.stderr[-2000:]
    sizes = store.get(run_id).summary
    assert f"{sizes['train_size']} train, {sizes['val_size']} validation, {sizes['test_size']} test" in out.stdout
    score = float(re.search(r"test (?:accuracy|rmse) ([\d.]+)", out.stdout).group(1))
    return store.get(run_id).test_value, score, out.stdout


@pytest.mark.slow
def test_the_default_digits_mlp_script_reaches_the_runs_accuracy(store, tmp_path):
    cfg = make_config("mlp", dataset="digits", threads=1)  # the default digits MLP (one thread: a shared CPU)
    run, script, _ = _run_then_its_script(store, cfg, tmp_path / "digits-script")
    assert script >= 0.95 and abs(script - run) <= 0.03  # within the noise of a rerun (540 test digits)


@pytest.mark.slow
def test_the_series_script_prepares_changes_as_the_run_did_and_reaches_its_rmse(store, tmp_path):
    cfg = make_config("ts-lstm", dataset="series", threads=1, seed=0)
    run, script, printed = _run_then_its_script(store, cfg, tmp_path / "series-script")
    assert abs(script - run) <= 0.05 * run  # trained on levels (as the script once did): 29% worse
    n_val = int(re.search(r"(\d+) validation", printed).group(1))  # the run's, asserted above
    # a blended run's early stopping watched the first half of them, and so does its script (the network alone here)
    assert f"early stopping watches the first {n_val // 2} validation examples, as the run did" in printed


@pytest.mark.slow
def test_a_series_csv_script_reads_the_series_as_the_run_did(store, tmp_path):
    """A `;` file with decimal commas, newest day first, a day missing and a blank trained in nnlab; its exported
    train.py read the copied file with pandas' defaults and stopped on an IndexError (no numeric column). The script
    now gets the series as the run read it (time order, the missing day and the blank interpolated)."""
    import pandas as pd

    rng, t = np.random.default_rng(0), np.arange(400)
    sales = 1000 + 80 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 10, 400)
    days = pd.date_range("2024-01-01", periods=400, freq="D").strftime("%d.%m.%Y")
    cells = [f"{v:.2f}".replace(".", ",") for v in sales]
    cells[200] = ""
    rows = [f"{d};{c}" for i, (d, c) in enumerate(zip(days, cells, strict=True)) if i != 100]
    (tmp_path / "umsatz.csv").write_text("Datum;Umsatz\n" + "\n".join(reversed(rows)) + "\n")
    cfg = make_config("ts-lstm", dataset="series-csv", data_path=str(tmp_path / "umsatz.csv"), threads=1)
    cfg = cfg.replace(window=8, hidden=32, epochs=3, classical="none")
    run, script, _ = _run_then_its_script(store, cfg, tmp_path / "script")  # the same split sizes
    read = load_dataset(cfg).display["series"]
    np.testing.assert_allclose(pd.read_csv(tmp_path / "script" / "data.csv")["Umsatz"], read)
    assert abs(script - run) <= 0.1 * run


@pytest.mark.slow
def test_a_table_with_decimal_commas_trains_in_its_script(store, tmp_path):
    """A `;` table with decimal commas trains in nnlab; its train.py stopped on "could not convert string to float:
    '5,1'" reading the copied file. The script now gets the table with its numbers as nnlab read them."""
    from sklearn.datasets import load_iris

    iris = load_iris()
    rows = [
        ";".join([*(f"{v:.1f}".replace(".", ",") for v in x), str(y)])
        for x, y in zip(iris.data, iris.target, strict=True)
    ]
    (tmp_path / "iris.csv").write_text("sl;sw;pl;pw;label\n" + "\n".join(rows) + "\n")
    cfg = make_config("mlp", dataset="csv", data_path=str(tmp_path / "iris.csv"), threads=1, hidden_sizes=(32,))
    run, script, _ = _run_then_its_script(store, cfg.replace(epochs=5), tmp_path / "script")  # the same splits
    assert abs(script - run) <= 0.1
    assert "as nnlab read them" in (tmp_path / "script" / "README.md").read_text()


@pytest.mark.slow
def test_generated_data_is_saved_beside_the_script(trained, store, tmp_path):
    _script(store, trained["reviews"], tmp_path / "text")
    _script(store, trained["shapes"], tmp_path / "images")
    assert (tmp_path / "text" / "data.csv").read_text().startswith("text,label")  # a copy of the user's CSV
    with np.load(tmp_path / "images" / "data.npz") as z:
        assert z["images"].dtype == np.uint8 and len(z["images"]) == len(z["labels"]) == 160
        assert list(z["classes"]) == ["circle", "cross", "square", "triangle"]
    builtin = store.create(make_config("lstm", dataset="reviews"))
    export_run(store, builtin, "script", tmp_path / "reviews")
    lines = (tmp_path / "reviews" / "data.csv").read_text().splitlines()
    assert lines[0] == "text,label" and len(lines) > 4000  # the 4,000 generated reviews, as the run saw them
    assert "saved, not regenerated" in (tmp_path / "reviews" / "README.md").read_text()


def test_export_refuses_a_folder_in_use_and_an_unknown_run(trained, store, tmp_path, capsys):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(NNLabError, match="not an empty folder"):
        export_run(store, trained["digits"], "script", tmp_path / "busy")
    from nnlab.cli.main import main

    assert main(["export", "no-such-run", "--out", str(tmp_path / "x")]) == 2
    assert "is not in the store" in capsys.readouterr().err


def test_the_zip_holds_the_folder(trained, store):
    data = export_zip(store, trained["digits"], "script")
    import io

    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    folder = f"nnlab-{trained['digits']}-script"
    assert sorted(names) == sorted(f"{folder}/{n}" for n in ("README.md", "config.json", "train.py"))


# -- TorchScript ------------------------------------------------------------------------------------
_LOAD_AND_PREDICT = """
import json, sys
import numpy as np, torch
path = sys.argv[1]
model = torch.export.load(path).module() if path.endswith(".pt2") else torch.jit.load(path)
args = [torch.from_numpy(a) for a in np.load(sys.argv[2]).values()]
with torch.no_grad():
    np.save(sys.argv[3], model(*args).float().numpy())
"""


def _test_inputs(predictor: Predictor, cfg) -> list[np.ndarray]:
    """The run's test split, preprocessed as the Playground preprocesses (model inputs, in order)."""
    test = load_dataset(cfg).test
    if predictor.kind == "image":
        return [make_transform(predictor.facts, (), torch.device("cpu"))(test.x, False).numpy()]
    if predictor.kind == "text":  # padded to max_len, as predict.py pads them (a torch.export program's length)
        return [test.x.numpy(), test.lengths.numpy()]
    return [test.x.numpy()]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["torchscript", "torch-export"])
@pytest.mark.parametrize("name", KINDS)
def test_the_model_predicts_like_the_run_in_a_fresh_process(trained, store, tmp_path, name, fmt):
    rec = store.get(trained[name])
    export_run(store, rec.run_id, fmt, tmp_path / "ts")
    predictor = Predictor.from_run(store.folder(rec.run_id), rec.config)
    inputs = _test_inputs(predictor, rec.config)
    np.savez(tmp_path / "inputs.npz", *inputs)
    (tmp_path / "predict.py").write_text(_LOAD_AND_PREDICT)
    model_file = TORCHSCRIPT if fmt == "torchscript" else PROGRAM
    out = isolated(["predict.py", str(tmp_path / "ts" / model_file), "inputs.npz", "out.npy"], tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    scripted = np.load(tmp_path / "out.npy")
    with torch.no_grad():
        eager = predictor.model(*[torch.from_numpy(a) for a in inputs]).float().numpy()
    stored = store.folder(rec.run_id).read_arrays("predictions.npz")
    if predictor.task == "classification":
        assert (scripted.argmax(1) == stored["y_pred"]).all()  # every test example
        probs = torch.softmax(torch.from_numpy(scripted), 1).numpy()
        np.testing.assert_allclose(probs, stored["probs"], atol=1e-5)
    else:
        data = load_dataset(rec.config)
        y = data.test.y.numpy()
        if predictor.facts.relative:  # scaled changes from each window's last value, as the runner reads them
            forecast = series_levels(data, y, scripted)[1]
        else:
            forecast = predictor.facts.scaler.unscale(scripted, predictor.facts.target_index)
        np.testing.assert_allclose(forecast, stored["y_pred"], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(scripted, eager, atol=1e-5)


@pytest.mark.parametrize("name", ["digits", "reviews", "iris", "series"])
def test_the_facts_json_is_enough_to_preprocess_like_the_playground(trained, store, tmp_path, name):
    rec = store.get(trained[name])
    export_run(store, rec.run_id, "torchscript", tmp_path / "ts")
    facts = json.loads((tmp_path / "ts" / FACTS).read_text())
    model = torch.jit.load(str(tmp_path / "ts" / TORCHSCRIPT))
    predictor = Predictor.from_run(store.folder(rec.run_id), rec.config)
    with torch.no_grad():
        if name == "digits":
            image = np.random.default_rng(0).integers(0, 256, (8, 8), dtype=np.uint8)
            x = (image[None, None] / 255 - np.array(facts["mean"])[:, None, None]) / np.array(facts["std"])[
                :, None, None
            ]
            got = torch.softmax(model(torch.tensor(x, dtype=torch.float32)), 1)[0].numpy()
            want = predictor.predict_image(image)
        elif name == "reviews":
            words = re.findall(
                facts["tokenizer"]["pattern"], "The plot was not good , but the cast was great .".lower()
            )
            index = {w: i for i, w in enumerate(facts["vocab"])}
            ids = torch.tensor([[index.get(w, facts["tokenizer"]["unknown"]) for w in words]])
            got = torch.softmax(model(ids, torch.tensor([len(words)])), 1)[0].numpy()
            want = predictor.predict_text("The plot was not good, but the cast was great.")
        elif name == "iris":
            row = np.array([[5.9, 3.0, 5.1, 1.8]])
            x = (row - np.array(facts["mean"])) / np.array(facts["std"])
            got = torch.softmax(model(torch.tensor(x, dtype=torch.float32)), 1)[0].numpy()
            want = predictor.predict_rows(row)[0]
        else:
            values = np.sin(np.arange(40) / 5.0) * 2 + 10
            recent = values[-facts["window"] :, None]
            assert facts["relative"]  # changes from the window's last value
            x = (recent - recent[-1]) / np.array(facts["std"])
            scaled = model(torch.tensor(x[None], dtype=torch.float32))[0].numpy()
            t = facts["target_index"]
            got, want = scaled * facts["std"][t] + recent[-1, t], predictor.predict_window(values)
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.slow
def test_a_torchvision_set_is_read_from_the_runs_data_folder(store, tmp_path):
    from tests.test_data_standard import write_mnist

    write_mnist(tmp_path / "data", n_train=300, n_test=100)
    raw = tmp_path / "data" / "MNIST" / "raw"  # named the way people often do: the folder holding the files
    cfg = make_config("mlp", dataset="mnist", data_root=str(raw), hidden_sizes=(64,), epochs=2, threads=1)
    run_id = store.create(cfg)
    store.claim_queued(run_id)
    assert execute(store, run_id).status == "finished"
    train_py = _script(store, run_id, tmp_path / "mnist-script")
    assert json.loads((train_py.parent / "config.json").read_text())["data_root"] == str(tmp_path / "data")
    out = isolated([train_py.name], train_py.parent)
    assert out.returncode == 0, out.stderr[-2000:]
    sizes = store.get(run_id).summary  # the same split as the run's
    assert f"{sizes['train_size']} train, {sizes['val_size']} validation, {sizes['test_size']} test" in out.stdout
    assert float(re.search(r"test accuracy ([\d.]+)", out.stdout).group(1)) > 0.5


def test_the_script_weighs_classes_as_the_run_did(store, tmp_path):
    import runpy

    import pandas as pd

    from nnlab.engine.train import balanced_weights

    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(380, int), np.ones(20, int)]  # 19 to 1: class weights automatic, so on
    pd.DataFrame({"x": rng.normal(size=400) + 2 * y, "label": y}).to_csv(tmp_path / "rare.csv", index=False)
    cfg = make_config("mlp", dataset="csv", data_path=str(tmp_path / "rare.csv"), hidden_sizes=(32,), epochs=1)
    run_id = store.create(cfg)
    store.claim_queued(run_id)
    assert execute(store, run_id).status == "finished" and store.get(run_id).summary["class_weights"] is True
    train_py = _script(store, run_id, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "config.json").read_text())["class_weights"] == "on"
    script = runpy.run_path(str(train_py), run_name="exported")
    labels = load_dataset(cfg).train.y
    weights = script["loss_function"](labels, 2).weight
    assert torch.allclose(weights, balanced_weights(labels, 2))


# -- raw inputs: preprocessing.json and predict.py ------------------------------------------------------------------
def _digit_pixels(images: np.ndarray) -> np.ndarray:
    """scikit-learn's digits (N, 8, 8) of 0..16 as the uint8 pixels the run trained on, (N, 8, 8, 1)."""
    return np.clip(images * 16, 0, 255).astype(np.uint8)[..., None]


def test_preprocessing_json_says_the_raw_range_the_run_read(trained, store, tmp_path):
    """Digits come as 0..16, not pixels: following preprocessing.json from the raw values predicts like the run
    (it said pixels / 255 and predicted 7 for a 0). Runs written before the range was recorded get it too."""
    from sklearn.datasets import load_digits

    rec = store.get(trained["digits"])
    folder = store.folder(rec.run_id)
    folder.write_facts(replace(folder.read_facts(), raw_range=None, pixel_scale=1.0))  # as older nnlab wrote it
    export_run(store, rec.run_id, "torchscript", tmp_path / "ts")
    facts = json.loads((tmp_path / "ts" / FACTS).read_text())
    assert facts["raw"]["range"] == [0, 16] and facts["raw"]["pixel_scale"] == 16
    raw = load_digits().images[:200]
    pixels = np.clip(raw * facts["raw"]["pixel_scale"], 0, 255).astype(np.uint8)  # as the facts say
    x = (pixels[:, None] / 255 - np.array(facts["mean"])[:, None, None]) / np.array(facts["std"])[:, None, None]
    with torch.no_grad():
        got = torch.jit.load(str(tmp_path / "ts" / TORCHSCRIPT))(torch.tensor(x, dtype=torch.float32)).argmax(1)
    want = Predictor.from_run(folder, rec.config).predict_images(list(_digit_pixels(raw))).argmax(1)
    assert (got.numpy() == want).all()


def _raw_inputs(name: str, predictor: Predictor, data_path: str, tmp_path: Path) -> tuple[list[str], list]:
    """Raw inputs of each kind as a user has them (files, or an .npy as the dataset gives it), and the first
    answers the Playground's path (nnlab/engine/predict.py) gives for them."""
    import pandas as pd
    from PIL import Image
    from sklearn.datasets import load_digits

    def named(probs: np.ndarray) -> list[str]:
        return [predictor.classes[i] for i in probs.argmax(1)]

    if name == "digits":
        np.save(tmp_path / "digits.npy", load_digits().images[:100])
        return [str(tmp_path / "digits.npy")], named(
            predictor.predict_images(list(_digit_pixels(load_digits().images[:100])))
        )
    if name == "shapes":
        files = sorted(Path(data_path).rglob("*.png"))[::20]
        return [str(f) for f in files], named(predictor.predict_images([Image.open(f) for f in files]))
    table = pd.read_csv(data_path)
    if name == "reviews":  # a text file, then a CSV's text column
        (tmp_path / "one.txt").write_text("The plot was not good,<br />but the cast was great.")
        texts = ["The plot was not good,<br />but the cast was great.", *table["text"][:50]]
        return [str(tmp_path / "one.txt"), data_path], named(predictor.predict_texts(texts))
    if name == "iris":  # the label column is there too: predict.py reads the feature columns by name
        return [data_path], named(predictor.predict_rows(table.drop(columns="label").to_numpy()))
    return [data_path], list(predictor.predict_window(table[["value"]].to_numpy()))


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, fmt",
    [("digits", "torch-export"), ("shapes", "torchscript"), ("reviews", "torch-export"), ("reviews", "torchscript"),
     ("iris", "torchscript"), ("series", "torch-export")],
)  # fmt: skip
def test_predict_py_reads_raw_inputs_like_the_playground(trained, store, tmp_path, name, fmt):
    rec = store.get(trained[name])
    export_run(store, rec.run_id, fmt, tmp_path / "model")
    predictor = Predictor.from_run(store.folder(rec.run_id), rec.config)
    args, want = _raw_inputs(name, predictor, rec.config.data_path, tmp_path)
    out = isolated([PREDICT, *args], tmp_path / "model")
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout)
    if name == "series":
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
    else:
        assert got[: len(want)] == want


def _european(value: float) -> str:
    """1234.5 as 1.234,50: decimal comma, thousands dots."""
    return f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


@pytest.mark.slow
def test_predict_py_reads_numbers_written_with_decimal_commas_as_nnlab_does(trained, store, tmp_path):
    """A series saved the European way (`;`, decimal commas, thousands dots) trains in nnlab; its predict.py read
    the same file with a traceback (float('1.230,62')). Thousands commas (1,234.5) are read too, and a blank written n/a is a blank."""
    rec = store.get(trained["series"])
    export_run(store, rec.run_id, "torchscript", tmp_path / "model")
    values = np.round(np.loadtxt(rec.config.data_path, skiprows=1) * 1000 + 500, 2)  # cells above a thousand
    want = Predictor.from_run(store.folder(rec.run_id), rec.config).predict_window(values[:, None])
    written = {
        "comma.csv": "Datum;value\n" + "".join(f"{i};{_european(v)}\n" for i, v in enumerate(values)),
        "thousands.csv": "t,value\n" + "".join(f'{i},"{v:,.2f}"\n' for i, v in enumerate(values)),
        "n_a.csv": "value\nn/a\n" + "".join(f"{v}\n" for v in values),  # pandas' blank, before the window
    }
    for name, text in written.items():
        (tmp_path / name).write_text(text)
        out = isolated([PREDICT, str(tmp_path / name)], tmp_path / "model")
        assert out.returncode == 0, out.stderr[-2000:]
        np.testing.assert_allclose(json.loads(out.stdout), want, rtol=1e-5, atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("dates", ["%Y-%m-%d", "%d.%m.%Y", "%Y-%m-%d %H:%M"])
def test_predict_py_orders_a_newest_first_series_by_its_time_column_as_the_run_did(store, tmp_path, dates):
    """Prices downloaded newest first train in nnlab (the rows sorted by their dates, with a finding); predict.py
    read the same file's last rows, the oldest, and forecast from them without a word."""
    import pandas as pd

    rng = np.random.default_rng(1)
    values = np.round(100 + rng.normal(0, 1, 120).cumsum(), 2)
    days = pd.date_range("2024-01-01", periods=120, freq="D").strftime(dates)
    frame = pd.DataFrame({"date": days, "close": values}).iloc[::-1]
    frame.to_csv(tmp_path / "prices.csv", index=False)
    cfg = make_config("ts-lstm", dataset="series-csv", data_path=str(tmp_path / "prices.csv"), threads=1)
    run_id = store.create(cfg.replace(window=8, hidden=32, epochs=1, classical="none"))
    store.claim_queued(run_id)
    assert execute(store, run_id).status == "finished"
    export_run(store, run_id, "torchscript", tmp_path / "model")
    want = Predictor.from_run(store.folder(run_id), store.get(run_id).config).predict_window(values[:, None])
    out = isolated([PREDICT, str(tmp_path / "prices.csv")], tmp_path / "model")
    assert out.returncode == 0, out.stderr[-2000:]
    np.testing.assert_allclose(json.loads(out.stdout), want, rtol=1e-5, atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("freq", ["D", "MS", "B"])
def test_predict_py_inserts_the_steps_a_series_skips_as_the_playground_does(store, tmp_path, freq):
    """Daily sales with deleted days (and a blank): the Playground inserted the missing days and interpolated, as
    training did, and forecast 149.05; the exported predict.py read the rows as they stood and said 152.76."""
    import pandas as pd

    from nnlab.data.files import series_rows

    rng = np.random.default_rng(2)
    values = np.round(100 + 0.8 * np.arange(90) + 10 * np.sin(np.arange(90) / 2) + rng.normal(0, 1, 90), 2)
    frame = pd.DataFrame({"date": pd.date_range("2021-01-01", periods=90, freq=freq), "sales": values})
    frame = frame.drop(index=[20, 41, 42, 70, 84, 86]).astype({"sales": object})
    frame.loc[88, "sales"] = ""  # a blank cell in the last window
    frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d")).to_csv(tmp_path / "sales.csv", index=False)
    cfg = make_config("ts-lstm", dataset="series-csv", data_path=str(tmp_path / "sales.csv"), threads=1)
    run_id = store.create(cfg.replace(window=8, hidden=32, epochs=1, classical="none"))
    store.claim_queued(run_id)
    assert execute(store, run_id).status == "finished"
    export_run(store, run_id, "torchscript", tmp_path / "model")
    read = series_rows(tmp_path / "sales.csv", ["sales"], "sales")  # the Playground's reading of an upload
    assert len(read) == 90 and np.isfinite(read).all()
    want = Predictor.from_run(store.folder(run_id), store.get(run_id).config).predict_window(read)
    out = isolated([PREDICT, str(tmp_path / "sales.csv")], tmp_path / "model")
    assert out.returncode == 0, out.stderr[-2000:]
    np.testing.assert_allclose(json.loads(out.stdout), want, rtol=1e-5, atol=1e-4)


@pytest.mark.slow
def test_predict_py_on_every_digit_predicts_like_the_run(store, tmp_path):
    """The must-show: the default digits MLP's predict.py on load_digits().images saved as .npy (8x8, 0..16)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    run_id = store.create(make_config("mlp", dataset="digits", threads=1))
    store.claim_queued(run_id)
    assert execute(store, run_id).status == "finished"
    np.save(tmp_path / "digits.npy", digits.images)
    probs = Predictor.from_run(store.folder(run_id), store.get(run_id).config).predict_images(
        list(_digit_pixels(digits.images))
    )
    for fmt in ("torchscript", "torch-export"):
        export_run(store, run_id, fmt, tmp_path / fmt)
        out = isolated([PREDICT, str(tmp_path / "digits.npy")], tmp_path / fmt)
        assert out.returncode == 0, out.stderr[-2000:]
        got = np.array(json.loads(out.stdout), dtype=int)
        assert len(got) == 1797 and (got == digits.target).mean() > 0.95
        assert (got == probs.argmax(1)).all()  # like the Playground, digit for digit


@pytest.mark.slow
def test_predict_py_reads_grey_images_flattened_to_rows_as_images(trained, store, tmp_path):
    """load_digits(return_X_y=True) gives the digits as rows of 64 values: predict.py read such an array (5, 64) as
    one image 5 pixels high and printed one class for five digits; each row is now one 8x8 image, and a single
    8x8 image is still one."""
    from sklearn.datasets import load_digits

    export_run(store, trained["digits"], "torchscript", tmp_path / "ts")
    images = load_digits().images[:5]
    np.save(tmp_path / "images.npy", images)
    np.save(tmp_path / "rows.npy", images.reshape(5, 64))
    np.save(tmp_path / "one.npy", images[3])
    got = [isolated([PREDICT, str(tmp_path / f"{name}.npy")], tmp_path / "ts") for name in ("images", "rows", "one")]
    assert all(out.returncode == 0 for out in got), [out.stderr[-2000:] for out in got]
    by_image, by_row, one = (json.loads(out.stdout) for out in got)
    assert len(by_image) == 5 and by_row == by_image and one == by_image[3:4]


@pytest.mark.slow
def test_predict_py_reads_a_wide_photo_as_the_run_read_it_and_refuses_a_bad_file_in_one_sentence(
    trained, store, tmp_path
):
    """predict.py squeezed a photo not square whole into the square, where nnlab had cut its centre in training
    and to predict; a text file, a truncated JPEG or a wrong path gave a traceback."""
    from PIL import Image

    from nnlab.engine.predict import to_uint8_image

    rec = store.get(trained["shapes"])
    export_run(store, rec.run_id, "torchscript", tmp_path / "ts")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (30, 50, 3), dtype=np.uint8)).save(tmp_path / "wide.png")  # (H, W, C)
    read = "import sys; sys.path.insert(0, '.'); import predict, numpy as np; from pathlib import Path; "
    read += "np.save('seen.npy', predict.image_file(Path({!r})))"
    out = isolated(["-c", read.format(str(tmp_path / "wide.png"))], tmp_path / "ts")
    assert out.returncode == 0, out.stderr[-2000:]
    want = to_uint8_image(Image.open(tmp_path / "wide.png"), 3)[:, 10:40]  # the centred 30x30
    np.testing.assert_array_equal(np.load(tmp_path / "ts" / "seen.npy"), want)
    ramp = np.linspace(0, 65535, 30 * 30).reshape(30, 30).astype(np.uint16)  # a 16-bit scan, read by its depth
    Image.fromarray(ramp).save(tmp_path / "scan.png")
    out = isolated(["-c", read.format(str(tmp_path / "scan.png"))], tmp_path / "ts")
    seen, want = np.load(tmp_path / "ts" / "seen.npy"), to_uint8_image(Image.open(tmp_path / "scan.png"), 3)
    np.testing.assert_array_equal(seen, want)
    assert seen[0].mean() < 10 and seen[-1].mean() > 245  # not clipped white as PIL's convert clips it
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(200)))
    for bad, says in [("notes.txt", "notes.txt could not be read as an image; give a PNG or JPEG file."),
                      ("broken.jpg", "broken.jpg could not be read as an image; give a PNG or JPEG file."),
                      ("gone.png", "gone.png does not exist; give files to predict (python predict.py --help says which).")]:  # fmt: skip
        out = isolated([PREDICT, str(tmp_path / bad)], tmp_path / "ts")
        assert out.returncode == 1 and "Traceback" not in out.stderr and out.stderr.strip().endswith(says)


def test_predict_py_is_plain_and_lint_clean(trained, store, tmp_path):
    export_run(store, trained["iris"], "torchscript", tmp_path / "ts")
    text = (tmp_path / "ts" / PREDICT).read_text()
    modules = {m.split(".")[0] for m in re.findall(r"^(?:from|import) ([\w.]+)", text, re.M)}
    assert modules <= set(sys.stdlib_module_names) | {"numpy", "torch", "PIL"}
    if RUFF.exists():
        lint = subprocess.run([str(RUFF), "check", "--no-cache", "--config", "pyproject.toml", str(tmp_path / "ts")])
        assert lint.returncode == 0


def test_export_to_a_folder_that_cannot_be_created_is_one_sentence(trained, tmp_path, capsys):
    from nnlab.cli.main import main

    (tmp_path / "a-file").write_text("not a folder")
    for fmt in FORMATS:
        assert main(["export", trained["digits"], "--format", fmt, "--out", str(tmp_path / "a-file" / "x")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("nnlab: --out ") and "cannot be created" in err and err.count("\n") == 1


def test_the_command_line_offers_every_format():
    from nnlab.cli.export import FORMATS as OFFERED

    assert OFFERED == FORMATS


def test_the_exported_script_sets_its_threads_as_nnlab_does(trained, store, tmp_path, monkeypatch):
    """config.json's threads when given; otherwise the run's own count, no more than the CPUs idle now (it took
    torch's default, every core: 84 s against 14 s on a busy 2-core machine)."""
    import importlib.util

    export_run(store, trained["digits"], "script", tmp_path / "s")
    spec = importlib.util.spec_from_file_location("exported_train", tmp_path / "s" / "train.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.RUN_THREADS == 1  # the trained runs record the one thread they used
    before = torch.get_num_threads()
    try:
        for given, run, idle, want in ((0, 4, 1.2, 1), (0, 1, 8.0, 1), (0, 0, None, 2), (3, 1, 0.1, 3)):
            torch.set_num_threads(2)
            monkeypatch.setitem(script.CFG, "threads", given)
            monkeypatch.setattr(script, "RUN_THREADS", run)
            monkeypatch.setattr(script, "idle_cpus", lambda idle=idle: idle)
            script.set_threads()
            assert torch.get_num_threads() == want, (given, run, idle)
    finally:
        torch.set_num_threads(before)


def _decimal_comma_run(store: RunStore, tmp_path: Path) -> tuple[str, Path]:
    """A run on iris written as many European spreadsheets save it: semicolons, decimal commas."""
    import pandas as pd
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True)
    table = iris.data.assign(species=iris.target.map(dict(enumerate(iris.target_names))))
    path = tmp_path / "iris_eu.csv"
    table.to_csv(path, sep=";", decimal=",", index=False)
    assert "5,1;3,5" in path.read_text() and len(pd.read_csv(path, sep=";").columns) == 5
    cfg = make_config("mlp", dataset="csv", data_path=str(path), label_column="species", hidden_sizes=(32,), epochs=2)
    run_id = store.create(cfg)
    store.claim_queued(run_id)
    assert execute(store, run_id).status == "finished"
    return run_id, path


@pytest.mark.slow
def test_exports_read_a_decimal_comma_csv_as_the_run_did(store, tmp_path):
    """A semicolon CSV with decimal commas trained in nnlab, but the exported train.py and predict.py stopped on it
    with a traceback (could not convert string to float: '5,1')."""
    import pandas as pd

    run_id, path = _decimal_comma_run(store, tmp_path)
    export_run(store, run_id, "torchscript", tmp_path / "ts")
    out = isolated([PREDICT, str(path)], tmp_path / "ts")
    assert out.returncode == 0, out.stderr[-2000:]
    predictor = Predictor.from_run(store.folder(run_id), store.get(run_id).config)
    rows = pd.read_csv(path, sep=";", decimal=",").drop(columns="species").to_numpy()
    assert json.loads(out.stdout) == [predictor.classes[i] for i in predictor.predict_rows(rows).argmax(1)]
    script = _script(store, run_id, tmp_path / "script")
    reader = script.read_text().split("# ---- data:")[0] + "print(read_csv(DATA_FILE).iloc[0, :4].tolist())\n"
    (tmp_path / "script" / "reader.py").write_text(reader)
    out = isolated(["reader.py"], tmp_path / "script")
    assert out.returncode == 0 and json.loads(out.stdout) == [5.1, 3.5, 1.4, 0.2], out.stderr[-2000:]


@pytest.mark.slow
def test_predict_py_says_its_usage_and_a_missing_file_in_one_sentence(trained, store, tmp_path):
    """`python predict.py --help` and a mistyped file name ended in a FileNotFoundError traceback."""
    export_run(store, trained["iris"], "torchscript", tmp_path / "ts")
    out = isolated([PREDICT, "--help"], tmp_path / "ts")
    assert out.returncode == 0 and "python predict.py INPUT" in out.stdout and not out.stderr
    out = isolated([PREDICT, "nothere.csv"], tmp_path / "ts")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert (
        out.stderr.strip() == "nothere.csv does not exist; give files to predict (python predict.py --help says which)."
    )


def test_the_exports_tell_number_styles_with_nnlabs_patterns(trained, store, tmp_path):
    """predict.py and train.py carry copies of the patterns nnlab/data/numbers.py reads a file's numbers with."""
    from nnlab.data.numbers import _NUMBER_LIKE, _ONLY_COMMA, _ONLY_POINT

    export_run(store, trained["iris"], "torchscript", tmp_path / "ts")
    for text in ((tmp_path / "ts" / PREDICT).read_text(), _script(store, trained["iris"], tmp_path / "s").read_text()):
        for name, pattern in (("ONLY_COMMA", _ONLY_COMMA), ("ONLY_POINT", _ONLY_POINT), ("NUMBER_LIKE", _NUMBER_LIKE)):
            assert f'{name} = re.compile(r"{pattern.pattern}")' in text


@pytest.mark.slow
def test_the_script_reads_the_columns_the_run_read(store, tmp_path):
    """A table with a date column trained in nnlab (the date left out as ID-like), but its train.py took every
    column as a feature and stopped: could not convert string to float: '2023-01-01'."""
    import pandas as pd

    rng = np.random.default_rng(0)
    days = pd.date_range("2023-01-01", periods=150, freq="D").strftime("%Y-%m-%d")
    table = pd.DataFrame({"date": days, "temp": rng.normal(15, 5, 150), "humidity": rng.uniform(30, 90, 150)})
    table.assign(rain=(table.humidity > 60).astype(int)).to_csv(tmp_path / "weather.csv", index=False)
    cfg = make_config("mlp", dataset="csv", data_path=str(tmp_path / "weather.csv"), label_column="rain", epochs=1)
    run_id = store.create(cfg)
    store.claim_queued(run_id)
    assert execute(store, run_id).status == "finished"
    script = _script(store, run_id, tmp_path / "script")
    reader = script.read_text().split("# ---- preprocessing")[0] + "x, y, classes, features, _ = load_table()\n"
    (tmp_path / "script" / "reader.py").write_text(reader + "print(json.dumps([features, list(x.shape)]))\n")
    out = isolated(["reader.py"], tmp_path / "script")
    assert out.returncode == 0 and json.loads(out.stdout) == [["temp", "humidity"], [150, 2]], out.stderr[-2000:]


@pytest.mark.slow
def test_a_column_of_true_and_false_trains_and_predicts_as_ones_and_zeros(store, tmp_path):
    """A table with a True/False column (a member flag) was refused: "has text in column 2 ... where the MLP reads
    numbers only". It is read as 1 and 0 (said in a finding), and the exports read it the same way."""
    rng = np.random.default_rng(0)
    x, member = rng.normal(size=120), rng.random(120) > 0.5
    rows = [f"{a:.3f},{bool(b)},{'yes' if a + b > 0.5 else 'no'}" for a, b in zip(x, member, strict=True)]
    path = tmp_path / "members.csv"
    path.write_text("x,member,label\n" + "\n".join(rows) + "\n")
    cfg = make_config("mlp", dataset="csv", data_path=str(path), hidden_sizes=(32,), epochs=3, threads=1)
    data = load_dataset(cfg)
    assert data.facts.columns == ("x", "member")
    said = [f.sentence for f in data.facts.findings]
    assert "Column 'member' of members.csv holds True and False; nnlab read them as 1 and 0." in said
    _, _, printed = _run_then_its_script(store, cfg, tmp_path / "script")
    run_id = store.list()[0].run_id
    export_run(store, run_id, "torchscript", tmp_path / "ts")
    out = isolated([PREDICT, str(path)], tmp_path / "ts")
    assert out.returncode == 0, out.stderr[-2000:]
    predictor = Predictor.from_run(store.folder(run_id), store.get(run_id).config)
    table = np.column_stack([x, member.astype(float)])
    assert json.loads(out.stdout) == [predictor.classes[i] for i in predictor.predict_rows(table).argmax(1)]


def _prepared_by_the_script(store: RunStore, run_id: str, out: Path) -> dict:
    """What the exported train.py's prepare() gives, without training: each split's size and the test inputs."""
    script = _script(store, run_id, out)
    reader = script.read_text().split("# ---- training")[0] + (
        "import json\n\nsplits, facts, transform = prepare()\n"
        "print(json.dumps({name: len(s[1]) for name, s in splits.items()} | {'x': splits['test'][0].tolist()}))\n"
    )
    (out / "reader.py").write_text(reader)
    ran = isolated(["reader.py"], out)
    assert ran.returncode == 0, ran.stderr[-2000:]
    return json.loads(ran.stdout)


def _rows_file(tmp_path: Path, kind: str) -> Path:
    """A table with blank cells (the run fills them) or texts with a blank row, both with a label column."""
    import pandas as pd

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 240)
    if kind == "table":
        x = rng.normal(size=(240, 3)) + y[:, None]
        x[rng.choice(240, 40, replace=False), rng.integers(0, 3, 40)] = np.nan
        table = pd.DataFrame(x, columns=["a", "b", "c"])
    else:
        words = np.array(["good film", "bad plot", "fine acting"])
        table = pd.DataFrame({"text": [f"{words[k]} and more {i}" for i, k in enumerate(y)]})
        table.loc[5, "text"] = None
    table.assign(label=np.array(["low", "mid", "high"])[y]).to_csv(tmp_path / "rows.csv", index=False)
    return tmp_path / "rows.csv"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["table", "text"])
def test_the_script_splits_fills_and_leaves_out_rows_as_the_run_did(store, tmp_path, kind):
    """train.py dropped every table row with a blank cell, where the run filled them with the training medians (a
    450-row table with 58 such rows: 293 train, 40 validation, 59 test rows instead of 337, 45, 68), and it ignored
    --exclude-rows (the 'exclude and retrain' run of label issues): the script trained on the rows the run left out."""
    path = _rows_file(tmp_path, kind)
    arch, columns = ("mlp", {}) if kind == "table" else ("lstm", {"text_column": "text", "max_len": 8, "hidden": 32})
    cfg = make_config(arch, dataset="csv" if kind == "table" else "text-csv", data_path=str(path), epochs=1)
    cfg = cfg.replace(label_column="label", **columns)
    data = load_dataset(cfg)
    left_out = (*data.train.index[:20].tolist(), *data.val.index[:3].tolist(), int(data.test.index[0]))
    cfg = cfg.replace(exclude_rows=tuple(int(r) for r in left_out))
    run_id = store.create(cfg)
    store.claim_queued(run_id)
    assert execute(store, run_id).status == "finished"
    data = load_dataset(cfg)  # the data as the run read it, with the rows left out
    prepared = _prepared_by_the_script(store, run_id, tmp_path / "script")
    assert [prepared[s] for s in ("train", "val", "test")] == [len(data.train), len(data.val), len(data.test)]
    assert np.allclose(prepared["x"], data.test.x.numpy(), atol=1e-5)  # blanks filled and scaled as the run did


@pytest.mark.slow
def test_the_series_script_leaves_out_the_steps_the_run_left_out(store, tmp_path):
    """A series run given --exclude-rows left those steps' windows out of training and validation; its train.py
    trained on them all."""
    values = 10 + np.sin(np.arange(300) / 3) + np.random.default_rng(0).normal(0, 0.1, 300)
    (tmp_path / "level.csv").write_text("level\n" + "\n".join(f"{v:.4f}" for v in values) + "\n")
    cfg = make_config("ts-lstm", dataset="series-csv", data_path=str(tmp_path / "level.csv"), window=8, epochs=1)
    cfg = cfg.replace(classical="none", exclude_rows=(20, 21, 22, 250))
    run_id = store.create(cfg)
    store.claim_queued(run_id)
    assert execute(store, run_id).status == "finished"
    data = load_dataset(cfg)
    prepared = _prepared_by_the_script(store, run_id, tmp_path / "script")
    assert [prepared[s] for s in ("train", "val", "test")] == [len(data.train), len(data.val), len(data.test)]
    assert np.allclose(prepared["x"], data.test.x.numpy(), atol=1e-5)
