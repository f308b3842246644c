"""The architectures, one module each (its nn.Module, its ArchSpec with a tiny test config, its export template
beside it), and the registry the form, data preparation, the trainer and export read.

A new architecture is a module that calls `register(ArchSpec(...))`: under nnlab/models/ with one line in
BUILT_IN, or anywhere else, named in $NNLAB_MODELS (a module name or a .py file) or imported before use.
"""

from __future__ import annotations

from importlib import import_module

from nnlab.models.registry import (
    MODELS,
    OUTSIDE_ENV,
    ArchSpec,
    InputSpec,
    build_model,
    count_parameters,
    inputs_of,
    load_outside,
    outside_modules,
    register,
)

BUILT_IN = ("mlp", "cnn", "resnet", "lstm", "ts_lstm")  # the modules that register the built-ins, in the form's order
for _module in BUILT_IN:
    import_module(f"nnlab.models.{_module}")

from nnlab.models.cnn import CNN  # noqa: E402  (the classes by their old import path)
from nnlab.models.lstm import TextLSTM  # noqa: E402
from nnlab.models.mlp import MLP  # noqa: E402
from nnlab.models.resnet import (  # noqa: E402
    ResNet18Transfer,
    check_weights_file,
    imagenet_weights_cached,
    load_backbone,
    load_imagenet_weights,
    load_weights_file,
)
from nnlab.models.ts_lstm import SeriesLSTM  # noqa: E402

load_outside()

__all__ = [
    "BUILT_IN",
    "CNN",
    "MLP",
    "MODELS",
    "OUTSIDE_ENV",
    "ArchSpec",
    "InputSpec",
    "ResNet18Transfer",
    "SeriesLSTM",
    "TextLSTM",
    "build_model",
    "check_weights_file",
    "count_parameters",
    "imagenet_weights_cached",
    "inputs_of",
    "load_backbone",
    "load_imagenet_weights",
    "load_outside",
    "load_weights_file",
    "outside_modules",
    "register",
]
