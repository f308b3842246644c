"""The architecture registry: what the form, data preparation, the trainer and export know of an architecture.

Each architecture registers one ArchSpec from its own module (nnlab/models/<name>.py, or a module outside nnlab
named in $NNLAB_MODELS); nothing else names it.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nnlab.core.config import RunConfig
from nnlab.core.facts import DataFacts

OUTSIDE_ENV = "NNLAB_MODELS"  # modules or .py files outside nnlab that register architectures, ":"-separated


@dataclass(frozen=True)
class InputSpec:
    """The data an architecture takes; data preparation reads this, never the architecture's name."""

    kinds: tuple[str, ...]  # data kinds it accepts: "tabular", "image", "text", "series"
    channels: int = 0  # images: the channels the model needs (0: the data's own)
    load_size: int = 0  # images of any size (a user's folder) are loaded at this side; 0: it takes none
    pretrained_size: int = 0  # the side its pretrained weights expect, with ImageNet statistics; 0: none
    min_size: int = 8  # a user's images smaller than this are loaded at this side (the least its layers use well)

    def accepts(self, kind: str, any_size: bool = False) -> bool:
        """Whether data of this kind fits (any_size: images that come in any size, resized when loaded)."""
        return kind in self.kinds and not (kind == "image" and any_size and not self.load_size)


@dataclass(frozen=True)
class ArchSpec:
    """What the form, data preparation, the trainer and export need to know about one architecture.

    Export reads what it offers: `template` (the model part of an exported train.py: its classes and a
    `build_model(facts)` that reads CFG; lines of imports before its first blank line join the script's
    imports) makes the script export possible; `torchscript` says how torch.jit captures a trained model;
    `cannot` names any export format it cannot give ("script", "torchscript", "torch-export"), with the reason.
    """

    name: str
    title: str
    inputs: InputSpec
    task: str  # "classification" or "regression"
    build: Callable[[RunConfig, DataFacts], nn.Module]
    default_dataset: str
    defaults: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    fields: tuple[str, ...] = ("hidden", "dropout")  # the RunConfig model fields it reads, in the form's order
    template: Path | None = None  # a .tmpl file beside its module; None: no script export
    torchscript: str = "script"  # "script" (torch.jit.script) or "trace" (traced on an example input)
    cannot: Mapping[str, str] = field(default_factory=dict)  # export format -> why not, one sentence
    tiny: Mapping[str, Any] = field(default_factory=dict)  # config values that train in about a second (tests)


MODELS: dict[str, ArchSpec] = {}


def register(spec: ArchSpec) -> ArchSpec:
    """Add an architecture to the registry the form, the command line, the trainer and export read."""
    MODELS[spec.name] = spec
    return spec


def inputs_of(arch: str) -> InputSpec:
    """The input spec of a registered architecture; one that takes every kind as it is for an unknown name."""
    return MODELS[arch].inputs if arch in MODELS else InputSpec(("tabular", "image", "text", "series"))


_INIT_LOCK = threading.Lock()


def build_model(cfg: RunConfig, facts: DataFacts) -> nn.Module:
    """The module for cfg.arch sized by facts from the data (classes, input shape, vocabulary).

    Its initial weights depend on cfg.seed only: they are drawn from torch's global generator, seeded and
    restored around the build under a lock, so models built at the same time in other threads (a preview
    in the dashboard) neither change them nor are changed by them.
    """
    with _INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return MODELS[cfg.arch].build(cfg, facts)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of (trainable) parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


_OUTSIDE: list[str] = []  # the outside modules imported so far (a child process that trains imports them too)


def load_outside(value: str | None = None) -> None:
    """Import the modules named in value or $NNLAB_MODELS (module names or .py files, ":"-separated); each
    registers its architectures. One that fails to import is logged and skipped: nnlab still starts."""
    for item in filter(None, (value if value is not None else os.environ.get(OUTSIDE_ENV, "")).split(os.pathsep)):
        item = str(Path(item.strip()).expanduser().resolve()) if item.strip().endswith(".py") else item.strip()
        try:
            _import(item)
        except Exception:  # noqa: BLE001  (an operator's module: say so in the log, keep the built-ins)
            logging.getLogger("nnlab.models").warning("%s: could not import %s", OUTSIDE_ENV, item, exc_info=True)
        else:
            if item not in _OUTSIDE:
                _OUTSIDE.append(item)


def outside_modules() -> str:
    """The outside modules imported in this process, as load_outside takes them (for a process that trains)."""
    return os.pathsep.join(_OUTSIDE)


def _import(item: str) -> None:
    if not item.endswith(".py"):
        importlib.import_module(item)
        return
    path = Path(item)
    name = f"nnlab_outside_{path.stem}"
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
