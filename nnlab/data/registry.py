"""The registries together: a config built from an architecture's defaults, and the checks that need
both the config and the registries (does the architecture fit the dataset, are the files there).

Adding an architecture: a module that registers its nn.Module's ArchSpec (see nnlab.models). Adding a dataset: a loader in nnlab/data/ and one DatasetSpec passed to register(). Which
architectures fit which datasets follows from the architectures' input specs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nnlab.core.checks import field_problems
from nnlab.core.config import FIELDS, FieldInfo, RunConfig
from nnlab.core.errors import ConfigError
from nnlab.data import DATASETS, datasets_for
from nnlab.data.csvfile import LABEL_NAMES, peek_csv
from nnlab.data.layout import TIME_NAMES, drop_saved_index, find_time_column, is_number_column
from nnlab.models import MODELS

__all__ = ["DATASETS", "MODELS", "arch_defaults", "check", "datasets_for", "file_dataset", "make_config", "validate"]

ARCHIVES = (".zip", ".tar", ".gz", ".tgz")  # what a folder of images may come packed in
TEXT_CHARS = 40  # mean characters of a column's first cells from which it holds texts, not labels


def arch_defaults(arch: str) -> dict[str, Any]:
    """The reference design's defaults for an architecture (SPEC "Architectures")."""
    return dict(MODELS[arch].defaults) if arch in MODELS else {}


def make_config(arch: str = "mlp", **given: Any) -> RunConfig:
    """A RunConfig with the architecture's defaults, then what the user gave on top."""
    values: dict[str, Any] = {"arch": arch}
    if arch in MODELS:
        values["dataset"] = MODELS[arch].default_dataset
        values.update(MODELS[arch].defaults)
    values.update({k: v for k, v in given.items() if v is not None})
    return RunConfig.from_dict(values)


def validate(cfg: RunConfig, paths: bool = True) -> list[str]:
    """Every problem with cfg, each one sentence naming the field and its range; [] when fine. paths=False
    leaves the data paths unchecked (a shared dashboard that refused a typed path must not look at it)."""
    problems = field_problems(cfg)
    if not cfg.hidden_sizes and "hidden_sizes" in _fields(cfg.arch):
        problems.append("Hidden layer sizes is empty; give at least one size, like 256,128,64.")
    problems += _check_pairing(cfg, paths)
    if "freeze_backbone" in _fields(cfg.arch) and cfg.freeze_backbone and not cfg.pretrained:
        problems.append(
            "A frozen backbone needs pretrained weights: frozen random features teach the head little; "
            "use --unfreeze with --no-pretrained, or keep the ImageNet weights."
        )
    return problems


def check(cfg: RunConfig) -> RunConfig:
    """cfg itself when valid; otherwise ConfigError carrying every message."""
    problems = validate(cfg)
    if problems:
        raise ConfigError(problems)
    return cfg


def _fields(arch: str) -> tuple[str, ...]:
    return MODELS[arch].fields if arch in MODELS else ()


def _check_pairing(cfg: RunConfig, paths: bool = True) -> list[str]:
    if cfg.arch not in MODELS:
        return [f"Architecture {cfg.arch!r} is unknown; choose one of {', '.join(MODELS)}."]
    if cfg.dataset not in DATASETS:
        return [f"Dataset {cfg.dataset!r} is unknown; choose one of {', '.join(DATASETS)}."]
    spec = DATASETS[cfg.dataset]
    if cfg.arch not in spec.archs:
        return [
            f"Architecture {cfg.arch} does not fit dataset {cfg.dataset} ({spec.kind} data); "
            f"use {' or '.join(spec.archs)}."
        ]
    return _check_paths(cfg, spec.needs) if paths else []


def _check_paths(cfg: RunConfig, needs: str) -> list[str]:
    problems = []
    if cfg.data_path and needs != "data_path":  # else the built-in set trains and the file is never read
        reads = [name for name, spec in DATASETS.items() if spec.needs == "data_path" and cfg.arch in spec.archs]
        problems.append(
            f"Dataset {cfg.dataset} reads no file of yours, yet --data {Path(cfg.data_path).name} was given; "
            f"give --dataset {' or '.join(reads)} to train on the file, or leave --data out."
        )
    if needs == "data_path" and not cfg.data_path:
        problems.append(f"Dataset {cfg.dataset} reads your own file; give its path with --data FILE (or upload it).")
    elif needs == "data_path" and not Path(cfg.data_path).exists():
        problems.append(f"Data file {cfg.data_path} does not exist; check the path.")
    if cfg.data_root and not Path(cfg.data_root).is_dir() and Path(cfg.data_root).exists():
        problems.append(f"Data folder {cfg.data_root} is a file, not a folder; give the folder that holds the data.")
    if cfg.weights_path:
        problems += _check_weights(cfg)
    return problems


def _check_weights(cfg: RunConfig) -> list[str]:
    pretrained = [a for a, spec in MODELS.items() if spec.inputs.pretrained_size]
    if not MODELS[cfg.arch].inputs.pretrained_size or not cfg.pretrained:
        names = " or ".join(pretrained)
        return [
            f"A weights file is only used by {names} with pretrained weights; drop --weights "
            f"or use --arch {pretrained[0]} without --no-pretrained."
        ]
    if not Path(cfg.weights_path).is_file():
        return [f"Weights file {cfg.weights_path} does not exist; check the path."]
    return []


def fields_that_apply(cfg: RunConfig) -> list[str]:
    """The config fields this run's architecture and data read, in declaration order (the report's table):
    no image size for a text run, no momentum without SGD, no data file for built-in data."""
    spec = DATASETS.get(cfg.dataset)
    kind, needs, options = (spec.kind, spec.needs, spec.options) if spec else ("", "", ())
    arch_fields = _fields(cfg.arch)
    own = {"data_path": needs == "data_path", "data_root": needs == "data_root", "expert": cfg.expert}

    def applies(name: str, info: FieldInfo) -> bool:
        if name in own:
            return own[name]
        if info.section == "model" and name not in arch_fields:
            return False
        if info.kinds and kind not in info.kinds:
            return False
        if info.when is not None and getattr(cfg, info.when[0]) != info.when[1]:
            return False
        return bool(info.section) or name in ("dataset", "arch") or name in options

    return [name for name, info in FIELDS.items() if applies(name, info)]


def file_dataset(path: Path, arch: str | None, given: Mapping[str, Any]) -> str:
    """The dataset that reads the user's file: the one that fits --arch, else images for a folder or an archive,
    else the one the column flags name (--target: a series; --text-column: texts; --label-column: a table or
    texts), else what the CSV holds (a time column: a series; a column of long texts: texts; else a table)."""
    own = [name for name, spec in DATASETS.items() if spec.needs == "data_path"]
    folder = path.is_dir() or path.suffix.lower() in ARCHIVES
    if arch:
        fits = [name for name in own if arch in DATASETS[name].archs]
        if folder and fits and DATASETS[fits[0]].kind != "image":
            images = [name for name in own if DATASETS[name].kind == "image"]
            readers = " or ".join(DATASETS[images[0]].archs) if images else ""
            raise ConfigError(
                [f"{path.name} is {'a folder' if path.is_dir() else 'an archive'}, and --arch {arch} reads a CSV file; "
                 f"train a folder or zip of images with --arch {readers}, or give --data the CSV."]
            )  # fmt: skip
        if fits:
            return fits[0]
    if folder:
        return "image-folder"
    if "target" in given:
        return "series-csv"
    if "text_column" in given:
        return "text-csv"
    peek = peek_csv(path, rows=200)
    head = drop_saved_index(peek.head, "", [])
    numbers = set(peek.numeric)
    labelled = "label_column" in given or any(c.lower() in LABEL_NAMES for c in head.columns)
    time = find_time_column(head, "")
    if time is not None and not labelled and (not is_number_column(head[time]) or TIME_NAMES.match(time)):
        return "series-csv"  # a date or a time-named column (an evenly stepped one may be a row ID)
    texts = [c for c in head.columns if c not in numbers]
    if any(head[c].astype(str).str.len().mean() >= TEXT_CHARS for c in texts):
        return "text-csv"
    return "csv"
