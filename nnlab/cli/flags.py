"""The `train` command's flags, one per RunConfig field, generated from the fields' descriptions."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import Any

from nnlab.core.config import FIELDS, RANGES, FieldInfo, RunConfig, number_text, range_text
from nnlab.core.placement import PLACEMENTS
from nnlab.core.words import flag_of

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(RunConfig)}


def int_list(text: str) -> tuple[int, ...]:
    """'256,128,64' -> (256, 128, 64); an argparse error otherwise."""
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"give whole numbers separated by commas, like 256,128,64 (got {text!r})"
        ) from None


def batch_size(text: str) -> int | str:
    """A batch size, or 'max': the largest that fits the run's memory budget (found before the run)."""
    if text.strip().lower() == "max":
        return "max"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"batch size must be a whole number or max (got {text!r})") from None


def choices_list(options: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    """A parser of 'flip,crop' that accepts only the given options."""

    def parse(text: str) -> tuple[str, ...]:
        items = tuple(v.strip() for v in text.split(",") if v.strip())
        bad = [v for v in items if v not in options]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {', '.join(bad)}; use some of {', '.join(options)}")
        return items

    return parse


_BOUNDED_BY = {"hidden_sizes": ("hidden", "; each")}  # each layer size is bounded by the units' range


def _help(name: str, info: FieldInfo) -> str:
    """A flag's help: the field's label and hint (or its own help), with the range in force without --expert."""
    if not info.flag_help:
        text = range_text(name, False) if name in RANGES else info.hint
        return f"{info.label}. {text}".replace("%", "%%")
    ranged, words = _BOUNDED_BY.get(name, (name, ". Range"))
    if ranged not in RANGES:
        return info.flag_help.replace("%", "%%")
    lo, hi = RANGES[ranged].bounds(False)
    return f"{info.flag_help}{words} {number_text(lo)} to {number_text(hi)}.".replace("%", "%%")


def _how(name: str, info: FieldInfo) -> dict[str, Any]:
    default = _DEFAULTS[name]
    if isinstance(default, bool):  # a switch that flips the default; None: not given
        return {"action": "store_false" if default else "store_true", "default": None}
    if isinstance(default, tuple):
        return {"type": choices_list(info.choices) if info.options else int_list}
    if info.options and info.flag_const:  # the flag alone means flag_const (--class-weights: on)
        return {"choices": info.choices, "nargs": "?", "const": info.flag_const}
    if info.options:
        return {"choices": info.choices}
    if name == "batch_size":
        return {"type": batch_size}
    return {"type": type(default)}


def add_train_options(parser: argparse.ArgumentParser, seed: bool = True) -> None:
    """A flag per RunConfig field the command line takes; anything not given takes the architecture's default
    (seed=False leaves --seed to the caller: a sweep has its own)."""
    for name, info in FIELDS.items():
        if info.cli and (seed or name != "seed"):
            parser.add_argument(flag_of(name), dest=name, help=_help(name, info), **_how(name, info))


def add_executor_options(p: argparse.ArgumentParser) -> None:
    """--executor and --ray-address, shared by train and sweep."""
    p.add_argument(
        "--executor",
        choices=PLACEMENTS,
        default="local",
        help="where to train: this machine (default) or a Ray cluster",
    )
    p.add_argument(
        "--ray-address",
        help="the Ray cluster's head, like 10.0.0.5:6379 (default $NNLAB_RAY_ADDRESS or $RAY_ADDRESS; "
        "none starts a local Ray instance)",
    )
