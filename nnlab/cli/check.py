"""The data check on the command line: `nnlab check DATA` prints the findings without training, and `nnlab train`
prints them on stderr before the run is created (a refused input leaves no run behind) and keeps them in --json.

DATA is what a user has at hand: a CSV, a zip or folder of images, or a built-in or standard dataset's name. The
kind of a CSV is read from the file (a time column: a series; a column of long texts: texts; else a table) unless
--dataset or --arch says it, and a table's label column is guessed from the usual names when --label-column is
not given (and said so).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.findings import Finding
from nnlab.core.text import plural

if TYPE_CHECKING:
    from nnlab.data.base import Dataset

_NOT_CONFIG = {"command", "json", "store", "source", "arch"}


def add_parser(sub: Any, add_train_options: Any, store_option: Any, archs: Any) -> None:
    """Register `check` on the command line's subparsers (the same data options as `train`)."""
    c = sub.add_parser(
        "check",
        help="check a dataset and print what nnlab finds in it and does with it, without training",
        description="Read DATA as `train` would and print the data check's findings: ID-like columns, columns that "
        "give the label away, constant columns, duplicates and rows shared by the training and test splits, class "
        "imbalance, missing values, how numbers were read, image sizes, text lengths, a series' gaps and season.",
    )
    c.add_argument("source", nargs="?", metavar="DATA", help="a CSV, a zip or folder of images, or a dataset name")
    c.add_argument("--arch", choices=archs, metavar="ARCH", help="the architecture to prepare the data for")
    add_train_options(c)
    c.add_argument("--json", action="store_true", help="print one JSON object: the data, its splits and findings")
    store_option(c)


def cmd_check(args: argparse.Namespace) -> int:
    """`nnlab check DATA`: load and check the data as `train` would, print the findings; 0 when it was read."""
    from nnlab.core.notes import data_findings
    from nnlab.data.registry import check, make_config

    given = {k: v for k, v in vars(args).items() if k not in _NOT_CONFIG and v is not None}
    dataset, arch = _what(args, given)
    cfg = check(make_config(arch, **{**given, "dataset": dataset}))
    cfg = guess_columns(cfg, "label_column" in given, "text_column" in given)
    data = read_checked(cfg)
    findings = data_findings(data.facts, cfg, len(data.train))
    sizes = {"train": len(data.train), "val": len(data.val), "test": len(data.test)}
    if args.json:
        out = {"dataset": cfg.dataset, "arch": cfg.arch, "data": cfg.data_path or None, "rows": sizes}
        print(json.dumps(out | {"classes": list(data.classes), "findings": [f.to_json_dict() for f in findings]}))
        return 0
    classes = f"; {plural(len(data.classes), 'class', 'classes')}" if data.classes else ""
    print(
        f"{data.facts.source or data.name}: {cfg.dataset} for {cfg.arch}; {sizes['train']:,} training, "
        f"{sizes['val']:,} validation and {sizes['test']:,} test examples{classes}"
    )
    print(findings_text(findings) or "No findings.")
    return 0


def read_checked(cfg: RunConfig) -> Dataset:
    """The dataset cfg names, loaded and checked (its facts hold the findings); DataError says why not."""
    from nnlab.data import load_dataset

    return load_dataset(cfg)


def refuse_unbuildable(cfg: RunConfig, data: Dataset) -> None:
    """Pretrained weights the run could not use (a file that is unreadable or does not fit, ImageNet weights not at
    hand): NNLabError before the run exists, as the run would fail with."""
    from nnlab.models import MODELS, build_model

    if MODELS[cfg.arch].inputs.pretrained_size and cfg.pretrained:
        build_model(cfg, data.facts)  # reads the weights (the file, or torchvision's cache) and checks they fit


def findings_text(findings: tuple[Finding, ...]) -> str:
    """The findings as lines for a terminal: 'warning: ...', then 'note: ...'."""
    return "\n".join(f"  {'warning' if f.warns else 'note'}: {f.sentence}" for f in findings)


def say_findings(source: str, findings: tuple[Finding, ...]) -> None:
    """The data check's findings on stderr, before training."""
    if not findings:
        return
    warns = sum(f.warns for f in findings)
    counts = ", ".join(
        p for p in (plural(warns, "warning") if warns else "", plural(len(findings) - warns, "note")) if p
    )
    sys.stderr.write(f"nnlab: data check of {source}: {counts}\n{findings_text(findings)}\n")


def _what(args: argparse.Namespace, given: dict[str, Any]) -> tuple[str, str]:
    """(dataset, architecture) for DATA: a dataset's name, or a file whose kind is read from it (sets data_path)."""
    from nnlab.data import DATASETS
    from nnlab.data.registry import file_dataset

    source = args.source
    if source and source in DATASETS and not Path(source).exists():
        dataset = source
    elif source or "data_path" in given:
        if source and "data_path" in given:
            raise NNLabError("Give the data once: as DATA or with --data, not both.")
        given["data_path"] = str(Path(source or given["data_path"]).expanduser())
        if not Path(given["data_path"]).exists():
            raise NNLabError(
                f"DATA {source or given['data_path']} is neither a file, a folder nor a dataset name; check the path "
                f"or name one of {', '.join(DATASETS)}."
            )
        dataset = given.get("dataset") or file_dataset(Path(given["data_path"]), args.arch, given)
    else:
        dataset = given.get("dataset") or ""
        if not dataset:
            raise NNLabError("Give the data to check: a CSV, a zip or folder of images, or a dataset name.")
    given.pop("dataset", None)
    if dataset not in DATASETS:
        raise NNLabError(f"Dataset {dataset!r} is unknown; choose one of {', '.join(DATASETS)}.")
    return dataset, args.arch or DATASETS[dataset].archs[0]


def with_file_dataset(given: dict[str, Any], arch: str) -> dict[str, Any]:
    """The options given, with the dataset that reads --data where --data came without --dataset (else the
    architecture's built-in set would train, not the user's file)."""
    from nnlab.data.registry import file_dataset

    if "data_path" not in given or "dataset" in given:
        return given
    return given | {"dataset": file_dataset(Path(given["data_path"]), arch, given)}


def guess_columns(cfg: RunConfig, label_given: bool, text_given: bool) -> RunConfig:
    """cfg with the label (and text) column guessed from a CSV's header where none was given and the default is
    not one of its columns, as the Train form guesses it; said on stderr. `check`, `train` and `sweep` read a
    file the same way."""
    from nnlab.data import DATASETS
    from nnlab.data.csvfile import likely_column, peek_csv

    spec = DATASETS[cfg.dataset]
    if spec.needs != "data_path" or spec.kind not in ("tabular", "text"):
        return cfg
    peek = peek_csv(Path(cfg.data_path))
    changes = {}
    if spec.kind == "text" and not text_given:
        changes["text_column"] = likely_column(peek, "text_column", cfg.text_column)
    if not label_given:
        changes["label_column"] = likely_column(peek, "label_column", cfg.label_column, changes.get("text_column", ""))
    for name, column in changes.items():
        if column != getattr(cfg, name):
            flag = "--" + name.replace("_", "-")
            sys.stderr.write(
                f"nnlab: reading column {column!r} as the {name.split('_')[0]} (give {flag} to pick another)\n"
            )
    return cfg.replace(**changes)
