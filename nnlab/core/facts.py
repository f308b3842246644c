"""Facts learned from the data, one frozen type per kind (image, tabular, text, series), and the scaler.

They are all the model and the Playground need to rebuild a run's inputs; saved as info.json in the run
folder (the layout of the dicts earlier versions wrote, so old runs load).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from nnlab.core.findings import INFO, WARNING, Finding

Categories = tuple[tuple[str, tuple[str, ...]], ...]  # (column, its values sorted), in the order of the columns


def input_names(columns: Sequence[str], categories: Categories) -> list[str]:
    """A table's model inputs, named: a number column by its name, each value of a category column as 'column =
    value'."""
    values = dict(categories)
    return [n for c in columns for n in ([f"{c} = {v}" for v in values[c]] if c in values else [c])]


@dataclass(frozen=True)
class Scaler:
    """Per-column standardisation learned on the training split: scale() is (x - mean) / std, unscale() undoes it."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def of(cls, mean: Any, std: Any) -> Scaler:
        """From any sequences of numbers (lists, arrays)."""
        return cls(tuple(float(m) for m in mean), tuple(float(s) for s in std))

    def scale(self, x: np.ndarray) -> np.ndarray:
        """Rows (..., columns) in data units, standardised in x's own float precision."""
        return (x - np.asarray(self.mean, x.dtype)) / np.asarray(self.std, x.dtype)

    def unscale(self, x: Any, column: int) -> Any:
        """Standardised values of one column (an array, a tensor or a number) back in data units."""
        return x * self.std[column] + self.mean[column]

    def unscale_spread(self, x: Any, column: int) -> Any:
        """A spread of one standardised column (an RMSE, a difference) in data units."""
        return x * self.std[column]


@dataclass(frozen=True, kw_only=True)
class DataFacts:
    """What every kind of data tells: its class names (none for a series), the data check's findings, its source
    file."""

    kind: ClassVar[str] = ""
    derived: ClassVar[tuple[str, ...]] = ("input_shape",)  # properties written out for readers of the JSON
    classes: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()  # what the data check saw, did and how to change it (nnlab.data.check)
    source: str = ""  # the user's file name, where the data came from one

    @property
    def task(self) -> str:
        return "regression" if self.kind == "series" else "classification"

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one model input (without the batch dimension)."""
        raise NotImplementedError

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the fields, the scaler as mean and std, and the derived facts for readers."""
        out: dict[str, Any] = {"kind": self.kind, "task": self.task}
        for name in self.derived + (("num_classes",) if self.task == "classification" else ()):
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, tuple) else value
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Scaler):
                out |= {"mean": list(value.mean), "std": list(value.std)}
            elif f.name == "findings":
                out[f.name] = [finding.to_json_dict() for finding in value]
            elif value is not None:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True, kw_only=True)
class ImageFacts(DataFacts):
    """Images: stored as uint8 with source_channels, fed to the model as channels x image_size x image_size."""

    kind: ClassVar[str] = "image"
    channels: int
    source_channels: int
    image_size: int
    scaler: Scaler  # per channel, on pixel values in [0, 1]
    # the values the dataset itself gives (scikit-learn's digits: 0 to 16), which became uint8 pixels as
    # clip(value * pixel_scale, 0, 255); None: not recorded (runs from before it was)
    raw_range: tuple[float, float] | None = None
    pixel_scale: float = 1.0

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.channels, self.image_size, self.image_size)


@dataclass(frozen=True, kw_only=True)
class TabularFacts(DataFacts):
    """Rows of numeric inputs (a category column one-hot), standardised by the scaler (none where the data came
    standardised)."""

    kind: ClassVar[str] = "tabular"
    features: int
    columns: tuple[str, ...] = ()
    scaler: Scaler | None = None
    fill: tuple[float, ...] = ()  # each input's training median, for blank cells (SimpleImputer)
    categories: Categories = ()  # the columns of categories, each with its values: one input per value (one-hot)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.features,)

    @property
    def column_names(self) -> list[str]:
        """The model's inputs named (x0, x1, ... where the data had none): a category's as 'column = value'."""
        return input_names(self.columns, self.categories) or [f"x{i}" for i in range(self.features)]


@dataclass(frozen=True, kw_only=True)
class TextFacts(DataFacts):
    """Token ids over a vocabulary built on the training split (0 pads, 1 is unknown), max_len per text."""

    kind: ClassVar[str] = "text"
    derived: ClassVar[tuple[str, ...]] = ("input_shape", "vocab_size")
    vocab: tuple[str, ...]
    max_len: int
    tokens: str = "words"  # how texts were cut (nnlab.data.tokens.TOKENS); an info.json without it: "ascii"

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.max_len,)


BASE_INPUTS = 2  # a classical base adds its scaled past errors and its scaled forecast of the target step


@dataclass(frozen=True, kw_only=True)
class SeriesFacts(DataFacts):
    """Windows of `window` time steps of every column, forecasting `horizon` values of the target column."""

    kind: ClassVar[str] = "series"
    derived: ClassVar[tuple[str, ...]] = ("input_shape", "target")
    columns: tuple[str, ...]
    target_index: int
    window: int
    horizon: int
    scaler: Scaler  # per column, over the time steps training saw
    relative: bool = False  # inputs and targets are changes from each window's last value, over scaler.std
    time: str = ""  # the column that ordered the rows (not an input)
    test_start: int = 0  # the first time step of the test targets (fixed by time, not by the window)
    # the classical forecaster whose one-step forecast the network corrects ("": none, it corrects the last value);
    # its past errors and its forecast of the target step are two more input columns
    base: str = ""
    season: int = 0  # the season found in the training part (0: none)
    base_order: tuple[int, ...] = ()  # the ARIMA base's order
    # --classical blend: the forecaster the network's forecast is blended with and the network's weight (1: alone)
    blend: str = ""
    blend_weight: float = 1.0

    @property
    def target(self) -> str:
        return self.columns[self.target_index]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.window, len(self.columns) + (BASE_INPUTS if self.base else 0))


KINDS: dict[str, type[DataFacts]] = {c.kind: c for c in (ImageFacts, TabularFacts, TextFacts, SeriesFacts)}


def facts_from_json_dict(d: dict[str, Any]) -> DataFacts:
    """The facts a to_json_dict() (or an earlier version's info.json) describes."""
    cls = KINDS[d["kind"]]
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name == "scaler":
            values["scaler"] = Scaler.of(d["mean"], d["std"]) if "mean" in d else None
        elif f.name == "findings":
            values["findings"] = _findings(d)
        elif f.name == "categories" and f.name in d:
            values["categories"] = tuple((str(c), tuple(map(str, v))) for c, v in d["categories"])
        elif f.name in d:
            values[f.name] = tuple(d[f.name]) if isinstance(d[f.name], list) else d[f.name]
    if cls is ImageFacts:  # written before the model's channels were a field of their own
        values.setdefault("channels", d["input_shape"][0])
    if cls is TabularFacts:
        values.setdefault("features", d["input_shape"][0])
    if cls is TextFacts:  # written before texts were cut into words of any script
        values.setdefault("tokens", "ascii")
    return cls(**values)


def _findings(d: dict[str, Any]) -> tuple[Finding, ...]:
    """The findings of an info.json; one written before they were typed has sentences as notes and warnings."""
    if "findings" in d:
        return tuple(Finding.from_json_dict(f) for f in d["findings"])
    old = [Finding("note", WARNING, str(w)) for w in d.get("warnings", ())]
    return tuple(old + [Finding("note", INFO, str(n)) for n in d.get("notes", ())])
