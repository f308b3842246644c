"""RunConfig: everything one run needs, frozen, validated in one place, saved as JSON."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

from nnlab.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("plateau", "step", "cosine", "onecycle", "none")
DEVICES = ("auto", "cpu", "cuda", "mps")
AUGMENTATIONS = ("crop", "flip", "rotate", "jitter")
PRECISIONS = ("auto", "fp32", "bf16")
MISSING = ("fill", "drop")  # fill: tables take the training median, series interpolate in time


@dataclass(frozen=True)
class RunConfig:
    """One run's settings exactly as the user gave them; facts learned from data live elsewhere."""

    # data
    dataset: str = "digits"
    data_path: str = ""  # the user's CSV, zip or folder
    data_root: str = ""  # torchvision / aclImdb root folder
    label_column: str = "label"
    text_column: str = "text"
    target: str = ""  # series CSV: the column to forecast
    image_size: int = 0  # 0: the data's own size (224 for pretrained resnet18)
    augment: tuple[str, ...] = ()
    vocab_size: int = 10_000
    max_len: int = 256
    window: int = 32
    horizon: int = 1
    val_fraction: float = 0.1
    test_fraction: float = 0.15
    missing: str = "fill"  # CSV cells with no value: "fill" them in, or "drop" their rows
    # model
    arch: str = "mlp"
    hidden_sizes: tuple[int, ...] = (256, 128, 64)  # mlp
    hidden: int = 256  # head of cnn/resnet18, units of lstm/ts-lstm
    batchnorm: bool = False
    dropout: float = 0.2
    pretrained: bool = True
    freeze_backbone: bool = True
    weights_path: str = ""
    # optimisation
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    batch_size: int = 0  # 0: fit to the data (64, smaller for small data)
    epochs: int = 0  # 0: fit to the data (20, more for small data)
    weight_decay: float = 1e-4
    schedule: str = "plateau"
    lr_patience: int = 3
    step_size: int = 10
    gamma: float = 0.1
    early_stopping: bool = True
    patience: int = 5
    min_delta: float = 0.001
    class_weights: bool = False  # weigh each class's loss by its inverse training frequency
    # environment
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"  # bf16 autocast on CUDA when auto
    threads: int = 0  # 0: let the runner decide
    expert: bool = False  # widens the ranges, visibly

    def to_json(self) -> str:
        """The config as a JSON object string."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Rebuild from a dict; unknown keys are ignored so older stores still load."""
        names = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {k: _coerce(names[k], v) for k, v in data.items() if k in names}
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        """Inverse of to_json."""
        return cls.from_dict(json.loads(text))

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def _coerce(f: dataclasses.Field, value: Any) -> Any:
    if isinstance(f.default, tuple) and isinstance(value, (list, tuple)):
        return tuple(value)
    return value


@dataclass(frozen=True)
class Range:
    """A numeric field's accepted range, its typical value and a one-line hint for the form."""

    lo: float
    hi: float
    typical: float
    hint: str
    zero_ok: bool = False
    log: bool = False
    expert_lo: float | None = None
    expert_hi: float | None = None

    def bounds(self, expert: bool) -> tuple[float, float]:
        """(low, high) in force, wider in expert mode."""
        if expert:
            return (
                self.expert_lo if self.expert_lo is not None else self.lo,
                self.expert_hi if self.expert_hi is not None else self.hi,
            )
        return self.lo, self.hi


RANGES: dict[str, Range] = {
    "lr": Range(1e-4, 1e-2, 1e-3, "Start at 1e-3.", log=True, expert_lo=1e-6, expert_hi=10.0),
    "batch_size": Range(
        16,
        256,
        64,
        "Larger is faster; smaller often generalises better. 0: fit to the data.",
        zero_ok=True,
        expert_lo=1,
        expert_hi=4096,
    ),
    "hidden": Range(32, 1024, 256, "Depends on how hard the problem is.", expert_lo=1, expert_hi=8192),
    "dropout": Range(0.1, 0.5, 0.2, "More dropout, more regularisation.", zero_ok=True, expert_lo=0.0, expert_hi=0.9),
    "weight_decay": Range(1e-5, 1e-3, 1e-4, "L2 strength.", zero_ok=True, log=True, expert_lo=0.0, expert_hi=0.1),
    "epochs": Range(1, 200, 20, "Passes over the training data. 0: fit to the data.", zero_ok=True, expert_hi=10_000),
    "patience": Range(1, 50, 5, "Epochs without improvement before stopping."),
    "lr_patience": Range(1, 20, 3, "Epochs without improvement before the LR drops."),
    "momentum": Range(0.0, 0.99, 0.9, "SGD momentum."),
    "min_delta": Range(0.0, 1.0, 0.001, "Smallest validation-loss drop that counts."),
    "step_size": Range(1, 1000, 10, "Epochs between LR drops (step schedule)."),
    "gamma": Range(0.01, 1.0, 0.1, "LR multiplier at each drop (step schedule)."),
    "vocab_size": Range(100, 100_000, 10_000, "Most frequent words kept."),
    "max_len": Range(8, 2048, 256, "Tokens kept per text."),
    "window": Range(2, 1024, 32, "Past time steps the model sees."),
    "horizon": Range(1, 256, 1, "Future steps predicted."),
    "image_size": Range(0, 512, 0, "Resize images to this square size (0: keep).", zero_ok=True),
    "val_fraction": Range(0.05, 0.5, 0.1, "Share of the data held out for validation."),
    "test_fraction": Range(0.05, 0.5, 0.15, "Share of the data held out for the final report."),
    "threads": Range(0, 256, 0, "CPU threads for training (0: automatic).", zero_ok=True),
    "seed": Range(0, 2**31 - 1, 0, "Fixes the data split and initial weights."),
}

LABELS = {
    "lr": "Learning rate",
    "batch_size": "Batch size",
    "hidden": "Hidden units",
    "hidden_sizes": "Hidden layer sizes",
    "dropout": "Dropout",
    "weight_decay": "Weight decay",
    "epochs": "Epochs",
    "patience": "Early-stopping patience",
    "lr_patience": "LR patience",
    "momentum": "Momentum",
    "min_delta": "Minimum improvement",
    "step_size": "Step size",
    "gamma": "Gamma",
    "vocab_size": "Vocabulary size",
    "max_len": "Maximum length",
    "window": "Window",
    "horizon": "Horizon",
    "image_size": "Image size",
    "val_fraction": "Validation fraction",
    "test_fraction": "Test fraction",
    "threads": "Threads",
    "seed": "Seed",
    "optimizer": "Optimizer",
    "schedule": "LR schedule",
    "device": "Device",
    "augment": "Augmentation",
    "precision": "Precision",
    "missing": "Missing values",
    "class_weights": "Class weights",
}

CHOICES = {
    "optimizer": OPTIMIZERS,
    "schedule": SCHEDULES,
    "device": DEVICES,
    "precision": PRECISIONS,
    "missing": MISSING,
}


def _fmt(x: float) -> str:
    return f"{x:g}"


def _check_number(name: str, value: Any, expert: bool) -> str | None:
    rng, label = RANGES[name], LABELS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return f"{label} must be a number, not {value!r}."
    lo, hi = rng.bounds(expert)
    if value == 0 and rng.zero_ok:
        return None
    if not lo <= value <= hi:
        zero = " (or 0)" if rng.zero_ok else ""
        wider = "" if expert else " or turn on expert mode"
        return f"{label} {_fmt(value)} is outside {_fmt(lo)} to {_fmt(hi)}{zero}; pick a value in range{wider}."
    return None


def validate(cfg: RunConfig) -> list[str]:
    """Every problem with cfg, each one sentence naming the field and its range; [] when fine."""
    problems = [p for name in RANGES if (p := _check_number(name, getattr(cfg, name), cfg.expert))]
    for size in cfg.hidden_sizes:
        if (p := _check_number("hidden", size, cfg.expert)) is not None:
            problems.append(p.replace("Hidden units", "Hidden layer size"))
    if not cfg.hidden_sizes and cfg.arch == "mlp":
        problems.append("Hidden layer sizes is empty; give at least one size, like 256,128,64.")
    for name, options in CHOICES.items():
        if getattr(cfg, name) not in options:
            problems.append(f"{LABELS[name]} {getattr(cfg, name)!r} is not one of {', '.join(options)}.")
    bad_aug = [a for a in cfg.augment if a not in AUGMENTATIONS]
    if bad_aug:
        problems.append(f"Augmentation {', '.join(bad_aug)} is unknown; use {', '.join(AUGMENTATIONS)}.")
    if cfg.val_fraction + cfg.test_fraction >= 0.8:
        problems.append(
            "Validation and test fractions together leave too little to train on; keep their sum under 0.8."
        )
    problems += _check_pairing(cfg)
    return problems


def _check_pairing(cfg: RunConfig) -> list[str]:
    # imported here: the registries import this module
    from nnlab.data import DATASETS
    from nnlab.models import MODELS

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
    return _check_paths(cfg, spec.needs)


def _check_paths(cfg: RunConfig, needs: str) -> list[str]:
    from pathlib import Path

    problems = []
    if needs == "data_path" and not cfg.data_path:
        problems.append(f"Dataset {cfg.dataset} reads your own file; give its path with --data FILE (or upload it).")
    elif needs == "data_path" and not Path(cfg.data_path).exists():
        problems.append(f"Data file {cfg.data_path} does not exist; check the path.")
    if cfg.data_root and not Path(cfg.data_root).is_dir() and Path(cfg.data_root).exists():
        problems.append(f"Data folder {cfg.data_root} is a file, not a folder; give the folder that holds the data.")
    if cfg.weights_path:
        if cfg.arch != "resnet18" or not cfg.pretrained:
            problems.append(
                "A weights file is only used by resnet18 with pretrained weights; drop --weights "
                "or use --arch resnet18 without --no-pretrained."
            )
        elif not Path(cfg.weights_path).is_file():
            problems.append(f"Weights file {cfg.weights_path} does not exist; check the path.")
    return problems


def check(cfg: RunConfig) -> RunConfig:
    """cfg itself when valid; otherwise ConfigError carrying every message."""
    problems = validate(cfg)
    if problems:
        raise ConfigError(problems)
    return cfg


def arch_defaults(arch: str) -> dict[str, Any]:
    """The reference design's defaults for an architecture (SPEC "Architectures")."""
    from nnlab.models import MODELS

    return dict(MODELS[arch].defaults) if arch in MODELS else {}


def make_config(arch: str = "mlp", **given: Any) -> RunConfig:
    """A RunConfig with the architecture's defaults, then what the user gave on top."""
    from nnlab.models import MODELS

    values: dict[str, Any] = {"arch": arch}
    if arch in MODELS:
        values["dataset"] = MODELS[arch].default_dataset
        values.update(MODELS[arch].defaults)
    values.update({k: v for k, v in given.items() if v is not None})
    return RunConfig.from_dict(values)
