"""The script export: a plain PyTorch folder (train.py, config.json, the data where nnlab made it, a README) that
trains the run's model the way the run did, without nnlab. The model part of train.py is the template its
architecture's ArchSpec names; the data part follows the dataset."""

from __future__ import annotations

import json
import shutil
import string
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnlab.analysis.naming import default_name, run_name
from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.findings import Finding
from nnlab.core.fitted import fit_to_data
from nnlab.data.tokens import TOKENS
from nnlab.export.folder import empty_folder, score_line
from nnlab.models import MODELS, ArchSpec

TEMPLATES = Path(__file__).with_name("templates")
MAX_COPY_BYTES = 200 * 2**20  # a user's CSV larger than this is read where it is, not copied
MAX_IMAGE_BYTES = 1 << 30  # images saved beside the script at most
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
USER_FILE = ("image-folder", "csv", "text-csv", "series-csv")
PIP_NAMES = {"sklearn": "scikit-learn", "PIL": "Pillow"}  # import name -> the package to install


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


def _read_numbers(cfg: RunConfig) -> tuple[dict[str, Callable[[Path], None]], str]:
    """A table whose numbers nnlab read from decimal commas or thousands separators is saved as nnlab read it (the
    script reads CSVs with pandas' defaults); any other is copied."""
    from nnlab.data.csvfile import read_csv, user_path

    found: list[Finding] = []
    table = read_csv(user_path(cfg, "CSV file"), found)
    if not any(f.kind == "numbers" for f in found):
        return _copy_file(cfg)
    note = f"`data.csv` holds `{Path(cfg.data_path).name}` with its numbers as nnlab read them (written plainly)."
    return {"data.csv": lambda path: table.to_csv(path, index=False)}, note


def _image_folder(cfg: RunConfig) -> DataPlan:
    from nnlab.data.csvfile import user_path
    from nnlab.data.images import class_folders, image_root, image_sizes, load_size, read_folder_images

    path = user_path(cfg, "zip or folder of images")
    dirs = class_folders(image_root(path), path.name)
    size = load_size(cfg, image_sizes(dirs))
    images, labels, *_ = read_folder_images(dirs, size, path.name)
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


def _series_csv(cfg: RunConfig) -> DataPlan:
    """The series as the run read it (separator and number style, time order, missing steps and blanks filled),
    not the file: the script would have to repeat nnlab's reading to get the same steps."""
    import pandas as pd

    from nnlab.data.files import read_series_table

    table = read_series_table(cfg, [])
    frame = pd.DataFrame(table.values, columns=table.columns)
    order = f" in time order by `{table.time}`" if table.time else ""
    gaps = "rows with a blank dropped" if cfg.missing == "drop" else "missing steps and blanks interpolated"
    note = (
        f"`data.csv` holds the {len(frame):,} steps of `{Path(cfg.data_path).name}` as the run read them{order}: "
        f"its numeric columns, {gaps}."
    )
    return DataPlan("data_series", note, {"data.csv": lambda p: frame.to_csv(p, index=False)})


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
    if cfg.dataset == "series-csv":
        return _series_csv(cfg)
    if cfg.dataset in SCRIPT_DATA:
        files, note = _read_numbers(cfg) if cfg.dataset == "csv" else _copy_file(cfg)
        return DataPlan(SCRIPT_DATA[cfg.dataset], note, files)
    raise NNLabError(f"Dataset {cfg.dataset} cannot be exported as a script yet; export the TorchScript model.")


# -- the script ---------------------------------------------------------------------------------------
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


def model_part(spec: ArchSpec) -> tuple[list[str], str]:
    """The import lines (before the first blank line) and the code of an architecture's train.py template."""
    if spec.template is None:
        raise NNLabError(f"{spec.title} brings no train.py template, so it cannot be exported as a script.")
    lines = spec.template.read_text().lstrip("\n").splitlines(keepends=True)
    head = 0
    while head < len(lines) and lines[head].startswith(("import ", "from ")):
        head += 1
    return [line.strip() for line in lines[:head]], "\n\n" + "".join(lines[head:]).lstrip("\n")


def _imports(kind: str, template: str, extra: list[str]) -> tuple[str, str]:
    """The import block, sorted as isort sorts it, and the packages the script needs."""
    lines = {"import copy", "import json", "import math", "import os", "import time", "from pathlib import Path"}
    lines |= {"import numpy as np", "import torch", "from torch import nn", *extra}
    if kind != "series":
        lines.add("from sklearn.model_selection import train_test_split")
    if kind == "image":
        lines.add("import torch.nn.functional as F")
    if kind == "text":
        lines |= {"import re", "from collections import Counter"}
    if template in _CSV_TEMPLATES:
        lines |= {"import csv", "import io", "import re", "import pandas as pd"}
    if template == "data_torchvision":
        lines.add("from torchvision import datasets")

    def top(line: str) -> str:
        return line.split()[1].split(".")[0]

    def order(group: set[str]) -> list[str]:  # plain imports first, then from-imports, each by module
        return sorted(group, key=lambda s: (s.startswith("from"), s.split()[1].lower()))

    std = {s for s in lines if top(s) in sys.stdlib_module_names}
    third = lines - std
    needs = ["torch", "numpy"] + sorted({PIP_NAMES.get(top(s), top(s)) for s in third} - {"torch", "numpy"})
    return "\n".join(order(std)) + "\n\n" + "\n".join(order(third)), ", ".join(needs)


def _read(name: str, values: dict[str, str]) -> str:
    return string.Template((TEMPLATES / f"{name}.tmpl").read_text()).substitute(values)


def render_script(
    cfg: RunConfig, plan: DataPlan, run_id: str, title: str, run_threads: int = 0, tokens: str = "words"
) -> str:
    """train.py: header and imports, data loading, splits, preprocessing, the model class, the loop; tokens: how the
    run cut its texts (nnlab.data.tokens.TOKENS)."""
    spec = MODELS[cfg.arch]
    kind = _KIND_OF_TEMPLATE[plan.template]
    model_imports, model_code = model_part(spec)
    imports, needs = _imports(kind, plan.template, model_imports)
    values = {
        "title": title,
        "run_id": run_id,
        "needs": needs,
        "imports": imports,
        "channels": str(spec.inputs.channels),
        "pretrained_size": str(spec.inputs.pretrained_size),
        "token_pattern": TOKENS[tokens].pattern,
        **plan.values,
    }
    reader = ["read_csv"] if plan.template in _CSV_TEMPLATES else []
    split = ["split"] if kind != "series" else []
    parts = ["header", *reader, plan.template, *split, *_PREP[kind]]
    text = "".join(_read(p, values) for p in parts) + model_code
    return text + _read("loop", {"regression": str(kind == "series"), "run_threads": str(run_threads)})


def _exported_config(cfg: RunConfig) -> RunConfig:
    """The run's config; a standard dataset's data_root points at the folder the run read it from."""
    from nnlab.data.standard import data_root, torchvision_root

    if cfg.dataset in _TORCHVISION:  # torchvision's root, also when the run named ROOT/MNIST or ROOT/MNIST/raw
        return cfg.replace(data_root=str(torchvision_root(data_root(cfg), _TORCHVISION[cfg.dataset]).resolve()))
    if cfg.dataset == "imdb":
        return cfg.replace(data_root=str(data_root(cfg).resolve()))
    return cfg


def script_problem(cfg: RunConfig) -> str | None:
    """Why a run of cfg cannot be exported as a script, in one sentence; None when it can."""
    spec = MODELS[cfg.arch]
    if "script" in spec.cannot:
        return spec.cannot["script"]
    if spec.template is None:
        return f"{spec.title} brings no train.py template, so it cannot be exported as a script."
    if cfg.dataset not in SCRIPT_DATA:
        return f"Dataset {cfg.dataset} cannot be exported as a script yet."
    if cfg.dataset in USER_FILE and not Path(cfg.data_path).exists():
        return f"The run's data {Path(cfg.data_path).name} is no longer there; the script needs it."
    return None


def export_script(store: Any, run_id: str, out: Path) -> list[Path]:
    """Write train.py, config.json, README.md and any data file into the empty folder out."""
    rec = store.get(run_id)
    cfg = rec.config
    plan = data_plan(cfg)
    if plan.template == "data_table":  # the columns the run read: not those it left out (IDs, a date, an index)
        facts = store.folder(run_id).read_facts()
        plan.values["features"] = json.dumps(list(getattr(facts, "columns", ())))
        plan.values["categories"] = json.dumps({c: list(v) for c, v in getattr(facts, "categories", ())})
    out = empty_folder(out)
    cfg = fit_to_data(cfg, rec.summary.get("train_size", 0))  # batch size and epochs 0: the values the run used
    if "class_weights" in rec.summary:  # automatic: whether the run weighed its classes
        cfg = cfg.replace(class_weights="on" if rec.summary["class_weights"] else "off")
    (out / "config.json").write_text(json.dumps(json.loads(_exported_config(cfg).to_json()), indent=2) + "\n")
    threads = int(rec.summary.get("threads") or 0)
    folder = store.folder(run_id)
    tokens = getattr(folder.read_facts(), "tokens", "words") if (folder.path / "info.json").is_file() else "words"
    text = render_script(cfg, plan, run_id, _docstring_safe(default_name(cfg)), threads, tokens)
    (out / "train.py").write_text(text)
    for name, write in plan.files.items():
        write(out / name)
    (out / "README.md").write_text(_script_readme(rec, plan))
    return sorted(out.iterdir())


def _docstring_safe(text: str) -> str:
    return text.replace("\\", "/").replace('"', "'")  # a file name's quotes must not end the script's docstring


def _script_readme(rec: Any, plan: DataPlan) -> str:
    return f"""# {run_name(rec)}: nnlab run {rec.run_id} as a plain PyTorch script

- `train.py`: data loading, the splits, the preprocessing, the model class and the training loop
  (the run's optimizer, learning-rate schedule, early stopping and seed), in one file you can read and edit.
- `config.json`: the run's settings; `train.py` reads them.
- Data: {plan.note}

Run `python train.py`. It prints every epoch and the test score, and saves the weights as `model.pt`.
{score_line(rec)} The same seed gives the same split and initial weights; the score can differ a
little from nnlab's (dropout masks are drawn another way), within the noise of a rerun. It uses the
CPU threads nnlab would: `threads` in config.json when given, otherwise the run's own count, no more
than the CPUs idle when it starts.
"""
