"""A run handed over: as a plain PyTorch script folder that trains without nnlab, or as a TorchScript model
with its preprocessing facts in JSON. `python -m nnlab export RUN_ID --format script|torchscript --out DIR`."""

from __future__ import annotations

import io
import json
import shutil
import string
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnlab.analysis.naming import default_name, run_name
from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.fitted import fit_to_data

if TYPE_CHECKING:
    from nnlab.core.facts import DataFacts

FORMATS = ("script", "torchscript")
TEMPLATES = Path(__file__).with_name("templates")
MAX_COPY_BYTES = 200 * 2**20  # a user's CSV larger than this is read where it is, not copied
MAX_IMAGE_BYTES = 1 << 30  # images saved beside the script at most
TORCHSCRIPT, FACTS = "model.torchscript.pt", "preprocessing.json"
_TORCHVISION = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "cifar10": "CIFAR10"}
# the data part of train.py for each dataset a run can use
SCRIPT_DATA = {
    "digits": "data_digits",
    "shapes": "data_npz",
    "image-folder": "data_npz",
    **dict.fromkeys(_TORCHVISION, "data_torchvision"),
    "csv": "data_table",
    "reviews": "data_text_csv",
    "text-csv": "data_text_csv",
    "imdb": "data_imdb",
    "series": "data_series",
    "series-csv": "data_series",
}
_USER_FILE = ("image-folder", "csv", "text-csv", "series-csv")


@dataclass
class DataPlan:
    """How the exported script gets the run's data: its template, the files written beside it, a README line."""

    template: str
    note: str
    files: dict[str, Callable[[Path], None]] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)


# -- the data ---------------------------------------------------------------------------------------
def _save_images(images: Any, labels: Any, classes: list[str]) -> Callable[[Path], None]:
    import numpy as np

    if images.nbytes > MAX_IMAGE_BYTES:
        raise NNLabError(
            f"The run's images take {images.nbytes / 2**20:,.0f} MB, more than the "
            f"{MAX_IMAGE_BYTES / 2**20:,.0f} MB an export saves; export the TorchScript model instead."
        )
    return lambda path: np.savez_compressed(path, images=images, labels=labels, classes=np.array(classes, dtype=str))


def _copy_file(cfg: RunConfig) -> tuple[dict[str, Callable[[Path], None]], str]:
    src = Path(cfg.data_path).expanduser()
    if not src.is_file():
        raise NNLabError(f"Data file {cfg.data_path} is no longer there; the script needs it to train.")
    if src.stat().st_size > MAX_COPY_BYTES:
        return {}, f"`train.py` reads your file where the run read it: `{src}` (too big to copy)."
    return {"data.csv": lambda path: shutil.copyfile(src, path)}, f"`data.csv` is a copy of your file `{src.name}`."


def _image_folder(cfg: RunConfig) -> DataPlan:
    from nnlab.data.csvfile import user_path
    from nnlab.data.images import class_folders, image_root, image_sizes, load_size, read_folder_images

    path = user_path(cfg, "zip or folder of images")
    dirs = class_folders(image_root(path), path.name)
    size = load_size(cfg, image_sizes(dirs))
    images, labels, _ = read_folder_images(dirs, size, path.name)
    note = f"`data.npz` holds the images of `{path.name}` as the run read them ({size} px squares)."
    return DataPlan("data_npz", note, {"data.npz": _save_images(images, labels, [d.name for d in dirs])})


def _builtin(cfg: RunConfig) -> DataPlan:
    import numpy as np
    import pandas as pd

    from nnlab.data import builtin

    if cfg.dataset == "digits":
        return DataPlan("data_digits", "The digits come from scikit-learn (`sklearn.datasets.load_digits`).")
    if cfg.dataset == "shapes":
        images, labels = builtin.shapes_data()
        note = (
            "`data.npz` holds the 3,000 generated shape images the run used (nnlab made them; saved, not regenerated)."
        )
        return DataPlan("data_npz", note, {"data.npz": _save_images(images, labels, list(builtin.SHAPES))})
    if cfg.dataset == "reviews":
        texts, labels = builtin.reviews_data()
        table = pd.DataFrame({"text": texts, "label": np.array(builtin.REVIEW_CLASSES)[labels]})
        note = "`data.csv` holds the 4,000 generated reviews the run used (saved, not regenerated)."
        return DataPlan("data_text_csv", note, {"data.csv": lambda p: table.to_csv(p, index=False)})
    table = pd.DataFrame({"value": builtin.series_data()[:, 0]})
    note = "`data.csv` holds the 2,000 steps of the generated series the run used (saved, not regenerated)."
    return DataPlan("data_series", note, {"data.csv": lambda p: table.to_csv(p, index=False)})


def data_plan(cfg: RunConfig) -> DataPlan:
    """Where the exported script's data comes from, for every dataset nnlab registers."""
    from nnlab.data.standard import data_root

    if cfg.dataset in ("digits", "shapes", "reviews", "series"):
        return _builtin(cfg)
    if cfg.dataset == "image-folder":
        return _image_folder(cfg)
    if cfg.dataset in _TORCHVISION:
        cls = _TORCHVISION[cfg.dataset]
        note = f"torchvision's `{cls}` reads (or downloads) it under `data_root` in config.json: `{data_root(cfg)}`."
        return DataPlan("data_torchvision", note, values={"cls": cls})
    if cfg.dataset == "imdb":
        return DataPlan("data_imdb", f"The aclImdb folder is read from `data_root` in config.json: `{data_root(cfg)}`.")
    if cfg.dataset in SCRIPT_DATA:
        files, note = _copy_file(cfg)
        return DataPlan(SCRIPT_DATA[cfg.dataset], note, files)
    raise NNLabError(f"Dataset {cfg.dataset} cannot be exported as a script yet; export the TorchScript model.")


# -- the script ---------------------------------------------------------------------------------------
_KIND_OF_TEMPLATE = {
    "data_digits": "image",
    "data_npz": "image",
    "data_torchvision": "image",
    "data_table": "tabular",
    "data_text_csv": "text",
    "data_imdb": "text",
    "data_series": "series",
}
_CSV_TEMPLATES = ("data_table", "data_text_csv", "data_series")
_PREP = {"image": ["prep_image"], "text": ["prep_text"], "tabular": [], "series": []}


def _imports(kind: str, cfg: RunConfig, template: str) -> tuple[str, str]:
    """The import block, sorted as isort sorts it, and the packages the script needs."""
    std = {"import copy", "import json", "import math", "import time", "from pathlib import Path"}
    third = {"import numpy as np", "import torch", "from torch import nn"}
    if kind != "series":
        third.add("from sklearn.model_selection import train_test_split")
    if kind == "image":
        third.add("import torch.nn.functional as F")
    if kind == "text":
        std |= {"import re", "from collections import Counter"}
    if template in _CSV_TEMPLATES:
        std |= {"import csv", "import io"}
        third.add("import pandas as pd")
    if cfg.arch == "lstm":
        third.add("from torch.nn.utils.rnn import pack_padded_sequence")
    if cfg.arch == "resnet18":
        third.add("from torchvision.models import ResNet18_Weights, resnet18")
    if template == "data_torchvision":
        third.add("from torchvision import datasets")

    def order(lines: set[str]) -> list[str]:  # plain imports first, then from-imports, each by module
        return sorted(lines, key=lambda s: (s.startswith("from"), s.split()[1].lower()))

    needs = ["torch", "numpy"] + ["pandas"] * ("import pandas as pd" in third)
    needs += ["scikit-learn"] * (kind != "series") + ["torchvision"] * any("torchvision" in s for s in third)
    return "\n".join(order(std)) + "\n\n" + "\n".join(order(third)), ", ".join(needs)


def _read(name: str, values: dict[str, str]) -> str:
    return string.Template((TEMPLATES / f"{name}.tmpl").read_text()).substitute(values)


def render_script(cfg: RunConfig, plan: DataPlan, run_id: str, title: str) -> str:
    """train.py: header and imports, data loading, splits, preprocessing, the model class, the loop."""
    kind = _KIND_OF_TEMPLATE[plan.template]
    imports, needs = _imports(kind, cfg, plan.template)
    values = {"title": title, "run_id": run_id, "needs": needs, "imports": imports, **plan.values}
    reader = ["read_csv"] if plan.template in _CSV_TEMPLATES else []
    split = ["split"] if kind != "series" else []
    parts = ["header", *reader, plan.template, *split, *_PREP[kind], f"model_{cfg.arch}"]
    text = "".join(_read(p, values) for p in parts)
    return text + _read("loop", {"regression": str(kind == "series")})


def _empty_folder(out: Path) -> Path:
    out = Path(out).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise NNLabError(f"--out {out} is not an empty folder; give a new folder to export into.")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _exported_config(cfg: RunConfig) -> RunConfig:
    """The run's config; a standard dataset's data_root points at the folder the run read it from."""
    from nnlab.data.standard import data_root, torchvision_root

    if cfg.dataset in _TORCHVISION:  # torchvision's root, also when the run named ROOT/MNIST or ROOT/MNIST/raw
        return cfg.replace(data_root=str(torchvision_root(data_root(cfg), _TORCHVISION[cfg.dataset]).resolve()))
    if cfg.dataset == "imdb":
        return cfg.replace(data_root=str(data_root(cfg).resolve()))
    return cfg


def export_script(store: Any, run_id: str, out: Path) -> list[Path]:
    """Write train.py, config.json, README.md and any data file into the empty folder out."""
    rec = store.get(run_id)
    cfg = rec.config
    plan = data_plan(cfg)
    out = _empty_folder(out)
    cfg = fit_to_data(cfg, rec.summary.get("train_size", 0))  # batch size and epochs 0: the values the run used
    if "class_weights" in rec.summary:  # automatic: whether the run weighed its classes
        cfg = cfg.replace(class_weights="on" if rec.summary["class_weights"] else "off")
    (out / "config.json").write_text(json.dumps(json.loads(_exported_config(cfg).to_json()), indent=2) + "\n")
    (out / "train.py").write_text(render_script(cfg, plan, run_id, _docstring_safe(default_name(cfg))))
    for name, write in plan.files.items():
        write(out / name)
    (out / "README.md").write_text(_script_readme(rec, plan))
    return sorted(out.iterdir())


def _docstring_safe(text: str) -> str:
    return text.replace("\\", "/").replace('"', "'")  # a file name's quotes must not end the script's docstring


def _score_line(rec: Any) -> str:
    if rec.test_value is None:
        return "The run has no test score (it did not finish)."
    return f"In nnlab the run reached test {rec.test_metric} {rec.test_value:.4f} after {rec.epochs_done} epochs."


def _script_readme(rec: Any, plan: DataPlan) -> str:
    return f"""# {run_name(rec)}: nnlab run {rec.run_id} as a plain PyTorch script

- `train.py`: data loading, the splits, the preprocessing, the model class and the training loop
  (the run's optimizer, learning-rate schedule, early stopping and seed), in one file you can read and edit.
- `config.json`: the run's settings; `train.py` reads them.
- Data: {plan.note}

Run `python train.py`. It prints every epoch and the test score, and saves the weights as `model.pt`.
{_score_line(rec)} The same seed gives the same split and initial weights; the score can differ a
little from nnlab's (dropout masks are drawn another way), within the noise of a rerun.
"""


# -- the model --------------------------------------------------------------------------------------
def export_torchscript(store: Any, run_id: str, out: Path) -> list[Path]:
    """Write the trained model as TorchScript, its preprocessing facts as JSON, and a README."""
    import torch

    from nnlab.engine.predict import Predictor

    rec = store.get(run_id)
    predictor = Predictor.from_run(store.folder(run_id), rec.config)
    example = _example_input(predictor)
    module = _to_torchscript(predictor.model, example)
    with torch.no_grad():
        gap = (module(*example) - predictor.model(*example)).abs().max().item()
    if gap > 1e-4:
        raise NNLabError(f"The TorchScript model of run {run_id} differs from the run's model by {gap:.2g}.")
    out = _empty_folder(out)
    module.save(str(out / TORCHSCRIPT))
    facts = preprocessing_facts(predictor.info, rec.config)
    (out / FACTS).write_text(json.dumps(facts, indent=1) + "\n")
    (out / "README.md").write_text(_model_readme(rec, facts))
    return sorted(out.iterdir())


def _example_input(predictor: Any) -> tuple:
    import torch

    info, kind = predictor.info, predictor.kind
    if kind == "text":
        ids = torch.randint(1, info.vocab_size, (3, 12))
        return ids, torch.tensor([12, 7, 1])
    return (torch.randn(2, *info.input_shape),)


def _to_torchscript(model: Any, example: tuple) -> Any:
    """torch.jit.script where the model's code allows; the text LSTM (raw LSTM kernels per direction) is traced."""
    import warnings

    import torch

    model.eval()
    with warnings.catch_warnings():  # torch 2.14 marks torch.jit deprecated; it still saves and loads
        warnings.simplefilter("ignore", FutureWarning)
        if len(example) == 2:
            with torch.no_grad():
                return torch.jit.trace(model, example, check_trace=False)
        return torch.jit.script(model)


def preprocessing_facts(data: DataFacts, cfg: RunConfig) -> dict[str, Any]:
    """What a program must do to an input before the TorchScript model sees it, and what comes out."""
    info, kind = data.to_json_dict(), data.kind
    facts: dict[str, Any] = {"kind": kind, "task": data.task, "arch": cfg.arch}
    keys = {
        "image": ("classes", "input_shape", "source_channels", "image_size", "mean", "std"),
        "tabular": ("classes", "input_shape", "columns", "mean", "std"),
        "text": ("classes", "vocab_size", "max_len", "vocab"),
        "series": ("input_shape", "columns", "target", "target_index", "mean", "std", "relative", "window", "horizon"),
    }[kind]
    facts.update({k: info[k] for k in keys if k in info})
    facts["input"], facts["output"] = _io_words(kind)
    if info.get("relative"):  # a series forecast as changes from each window's last value
        facts["input"], facts["output"] = (
            "float (B, window, features): the last window rows minus the window's last row, / std per column",
            "scaled changes (B, horizon): value * std[target_index] + the window's last target value",
        )
    if kind == "text":
        facts["tokenizer"] = {
            "lowercase": True,
            "pattern": r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]",
            "pad": 0,
            "unknown": 1,
        }
    return facts


def _io_words(kind: str) -> tuple[str, str]:
    return {
        "image": (
            "float (B, C, image_size, image_size): pixels / 255 (grey images repeated to C channels), resized "
            "bilinearly, then (x - mean[c]) / std[c]",
            "logits (B, classes); softmax gives the probabilities",
        ),
        "tabular": ("float (B, features) in the order of columns: (x - mean) / std", "logits (B, classes)"),
        "text": (
            "model(ids, lengths): ids long (B, T), tokens mapped through vocab (unknown 1, padding 0), at most "
            "max_len; lengths long (B,) of the real tokens",
            "logits (B, classes)",
        ),
        "series": (
            "float (B, window, features): the last window rows, (x - mean) / std per column",
            "scaled forecasts (B, horizon): value * std[target_index] + mean[target_index]",
        ),
    }[kind]


def _model_readme(rec: Any, facts: dict[str, Any]) -> str:
    return f"""# {run_name(rec)}: nnlab run {rec.run_id} as a TorchScript model

- `{TORCHSCRIPT}`: load it with `torch.jit.load("{TORCHSCRIPT}")`; no nnlab needed.
- `{FACTS}`: what the model expects and returns. Input: {facts["input"]}. Output: {facts["output"]}.

{_score_line(rec)}
"""


# -- the command and the Results page ------------------------------------------------------------
def export_run(store: Any, run_id: str, fmt: str, out: Path) -> list[Path]:
    """Export in one of FORMATS; returns the files written."""
    if fmt == "script":
        return export_script(store, run_id, out)
    if fmt == "torchscript":
        return export_torchscript(store, run_id, out)
    raise NNLabError(f"--format {fmt} is unknown; use {' or '.join(FORMATS)}.")


def export_problem(store: Any, run_id: str, fmt: str) -> str | None:
    """Why the run cannot be exported in fmt, in one sentence; None when it can (checked without exporting)."""
    cfg = store.get(run_id).config
    if fmt == "torchscript":
        return None if store.folder(run_id).has_weights() else "The run saved no trained model."
    if cfg.dataset not in SCRIPT_DATA:
        return f"Dataset {cfg.dataset} cannot be exported as a script yet."
    if cfg.dataset in _USER_FILE and not Path(cfg.data_path).exists():
        return f"The run's data {Path(cfg.data_path).name} is no longer there; the script needs it."
    return None


def export_zip(store: Any, run_id: str, fmt: str) -> bytes:
    """The export folder as a zip (for a download button)."""
    with tempfile.TemporaryDirectory(prefix="nnlab-export-") as tmp:
        folder = Path(tmp) / f"nnlab-{run_id}-{fmt}"
        files = export_run(store, run_id, fmt, folder)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for f in files:
                z.write(f, f"{folder.name}/{f.name}")
        return buf.getvalue()
