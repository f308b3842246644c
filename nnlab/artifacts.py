"""A finished run's artifacts read back safely: JSON, NumPy without pickles, weights without code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nnlab.errors import NNLabError
from nnlab.runner import WEIGHTS

INFO, REPORT, PREDICTIONS, EXAMPLES = "info.json", "report.json", "predictions.npz", "examples.npz"


@dataclass(frozen=True)
class Predictions:
    """Test-set outputs: classes (y_true, y_pred (N,), probs (N, classes)) or forecasts (N, horizon) with naive."""

    y_true: np.ndarray
    y_pred: np.ndarray
    probs: np.ndarray | None = None
    naive: np.ndarray | None = None


@dataclass(frozen=True)
class Examples:
    """The test split in viewable form; which fields are set depends on the data kind."""

    images: np.ndarray | None = None  # (N, H, W, C) uint8
    texts: np.ndarray | None = None  # (N,) str
    rows: np.ndarray | None = None  # (N, F) features as the user gave them
    t: np.ndarray | None = None  # (N,) time step of each forecast's first value
    series: np.ndarray | None = None  # (T,) the whole target series


@dataclass(frozen=True)
class Results:
    """Everything the Results page and the report show about one run's test set."""

    run_id: str
    info: dict[str, Any]
    report: dict[str, Any]
    predictions: Predictions
    examples: Examples

    @property
    def task(self) -> str:
        return self.report.get("task", self.info.get("task", "classification"))

    @property
    def kind(self) -> str:
        return self.info.get("kind", "")

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.report.get("classes", self.info.get("classes", []))]


def _missing(run_dir: Path, name: str) -> NNLabError:
    return NNLabError(f"Run {run_dir.name} has no {name}; it has not finished, or its folder was changed.")


def read_json(run_dir: Path, name: str) -> dict[str, Any]:
    """A JSON artifact of the run folder as a dict."""
    path = run_dir / name
    if not path.is_file():
        raise _missing(run_dir, name)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise NNLabError(f"{name} of run {run_dir.name} cannot be read ({type(exc).__name__}).") from exc


def read_arrays(run_dir: Path, name: str) -> dict[str, np.ndarray]:
    """The arrays of an .npz artifact; object arrays (pickles) are refused."""
    path = run_dir / name
    if not path.is_file():
        raise _missing(run_dir, name)
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise NNLabError(f"{name} of run {run_dir.name} cannot be read safely ({type(exc).__name__}).") from exc


def _pick(cls: type, arrays: dict[str, np.ndarray]) -> Any:
    return cls(**{k: v for k, v in arrays.items() if k in cls.__dataclass_fields__})


def load_info(run_dir: Path) -> dict[str, Any]:
    """Facts learned from the data (classes, input shape, normalisation, vocabulary, window)."""
    return read_json(run_dir, INFO)


def load_results(run_dir: Path) -> Results:
    """Report, predictions and examples of a finished run; NNLabError naming what is missing."""
    return Results(
        run_id=run_dir.name,
        info=load_info(run_dir),
        report=read_json(run_dir, REPORT),
        predictions=_pick(Predictions, read_arrays(run_dir, PREDICTIONS)),
        examples=_pick(Examples, read_arrays(run_dir, EXAMPLES)) if (run_dir / EXAMPLES).is_file() else Examples(),
    )


def has_results(run_dir: Path) -> bool:
    """Whether the run wrote its test report (finished, or stopped after at least one epoch)."""
    return (run_dir / REPORT).is_file() and (run_dir / PREDICTIONS).is_file()


def load_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    """The trained state dict (model.pt), loaded without running pickled code."""
    path = run_dir / WEIGHTS
    if not path.is_file():
        raise _missing(run_dir, WEIGHTS)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged or foreign file: one sentence, not a traceback
        raise NNLabError(f"{WEIGHTS} of run {run_dir.name} cannot be loaded ({type(exc).__name__}).") from exc
    if not isinstance(state, dict):
        raise NNLabError(f"{WEIGHTS} of run {run_dir.name} holds no state dict.")
    return state


def weights_bytes(run_dir: Path) -> bytes:
    """model.pt as bytes, for a download button."""
    path = run_dir / WEIGHTS
    if not path.is_file():
        raise _missing(run_dir, WEIGHTS)
    return path.read_bytes()
