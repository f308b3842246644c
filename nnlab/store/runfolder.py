"""One run's folder: every file name in it and every read and write of it (atomic saves, safe loads).

torch and numpy are imported where a file needs them, so the store (which creates and deletes folders)
and `python -m nnlab runs` never load them.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import traceback
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError

if TYPE_CHECKING:
    import numpy as np
    import torch

    from nnlab.core.facts import DataFacts

CONFIG, LOG = "config.json", "log.txt"
CHECKPOINT_LAST, CHECKPOINT_BEST, WEIGHTS = "last.pt", "best.pt", "model.pt"
INFO, REPORT, PREDICTIONS, EXAMPLES = "info.json", "report.json", "predictions.npz", "examples.npz"
LABEL_CHECK, LABEL_PROBS = "label_check.json", "label_check.npz"  # the training rows' label check: state, results


FILES = (CONFIG, LOG, CHECKPOINT_LAST, CHECKPOINT_BEST, WEIGHTS, INFO, REPORT, PREDICTIONS, EXAMPLES)


def _run_file(name: str) -> str:
    if name not in FILES:
        raise NNLabError(f"{name!r} is not a file of a run folder.")
    return name


@dataclass(frozen=True)
class Predictions:
    """Test-set outputs: classes (y_true, y_pred (N,), probs (N, classes)) or forecasts (N, horizon) with naive;
    index (N,): each test example's original row in the data (a forecast: its first target's time step), and
    val_index the validation rows'. Runs saved before the split was stored have neither (None). classical (N,): a
    series run's one-step forecasts of its first target steps by the classical forecaster with the lowest test RMSE
    (None for other runs and series runs saved before it was kept)."""

    y_true: np.ndarray
    y_pred: np.ndarray
    probs: np.ndarray | None = None
    naive: np.ndarray | None = None
    index: np.ndarray | None = None
    val_index: np.ndarray | None = None
    classical: np.ndarray | None = None


@dataclass(frozen=True)
class Examples:
    """The test split in viewable form; which fields are set depends on the data kind."""

    images: np.ndarray | None = None  # (N, H, W, C) uint8
    texts: np.ndarray | None = None  # (N,) str
    rows: np.ndarray | None = None  # (N, F) features as the user gave them
    t: np.ndarray | None = None  # (N,) time step of each forecast's first value
    series: np.ndarray | None = None  # (T,) the whole target series
    files: np.ndarray | None = None  # (N,) str: each test image's file in a folder of images ("cat/img_017.jpg")


@dataclass(frozen=True)
class Results:
    """Everything the Results page and the report show about one run's test set."""

    run_id: str
    facts: DataFacts
    report: dict[str, Any]
    predictions: Predictions
    examples: Examples = field(default_factory=Examples)

    @property
    def task(self) -> str:
        return self.report.get("task", self.facts.task)

    @property
    def kind(self) -> str:
        return self.facts.kind

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.report.get("classes", self.facts.classes)]


def _pick(cls: type, arrays: dict[str, Any]) -> Any:
    return cls(**{k: v for k, v in arrays.items() if k in cls.__dataclass_fields__})


def load_tensors(path: Path, mmap: bool = False) -> Any:
    """The one torch.load of nnlab: weights_only=True, so a file can hold tensors but never run code (mmap: the
    tensors are mapped from the file, not read, for a caller that only looks at the plain values)."""
    import torch

    return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)


def _temporary(path: Path) -> Path:
    """Where atomic_write writes path first; a kill during the write leaves it behind."""
    return path.with_name(f".{path.name}.tmp")


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """write() to a temporary file, then rename: a crash never leaves a half-written file."""
    tmp = _temporary(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez_compressed to exactly `path` (given a name, numpy would append .npz to it)."""
    import numpy as np

    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


class RunFolder:
    """The files of one run: config, checkpoints, weights, data facts, test outputs, report and log."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def run_id(self) -> str:
        return self.path.name

    def _missing(self, name: str) -> NNLabError:
        return NNLabError(f"Run {self.run_id} has no {name}; it has not finished, or its folder was changed.")

    def damaged(self, name: str, exc: BaseException) -> NNLabError:
        """One sentence for a run file that is there but cannot be read: the run, the file, what to do."""
        return NNLabError(
            f"{name} of run {self.run_id} is damaged and cannot be read ({type(exc).__name__}); "
            "train the run again (Copy settings to the form), or delete it."
        )

    def _existing(self, name: str) -> Path:
        path = self.path / name
        if not path.is_file():
            raise self._missing(name)
        return path

    # -- the folder -----------------------------------------------------------------------------
    def create(self, cfg: RunConfig, exist_ok: bool = False) -> None:
        """Make the folder and write the run's config into it."""
        self.path.mkdir(parents=True, exist_ok=exist_ok)
        atomic_write(self.path / CONFIG, lambda tmp: tmp.write_text(cfg.to_json()))

    def remove(self) -> None:
        """Delete the folder and everything in it."""
        shutil.rmtree(self.path, ignore_errors=True)

    def log_traceback(self) -> None:
        """Append the exception being handled, with a time stamp, to log.txt."""
        with open(self.path / LOG, "a") as f:
            f.write(time.strftime("%Y-%m-%d %H:%M:%S ") + traceback.format_exc() + "\n")

    # -- whole files, for an executor that trains elsewhere (nnlab.core.placement) --------------------
    def file_states(self) -> dict[str, tuple[int, int]]:
        """(mtime in ns, size) of each run file in the folder (temporary files excluded)."""
        return {
            p.name: (p.stat().st_mtime_ns, p.stat().st_size)
            for p in self.path.iterdir()
            if p.name in FILES and p.is_file()
        }

    def read_file(self, name: str) -> bytes:
        """A run file's bytes, to send to the dashboard's copy of the folder."""
        return self._existing(_run_file(name)).read_bytes()

    def write_file(self, name: str, data: bytes) -> None:
        """A run file received from a worker, written atomically; only the folder's own file names are taken."""
        atomic_write(self.path / _run_file(name), lambda tmp: tmp.write_bytes(data))

    # -- JSON -----------------------------------------------------------------------------------
    def write_json(self, name: str, obj: Any) -> None:
        """A JSON file written atomically."""
        atomic_write(self.path / name, lambda tmp: tmp.write_text(json.dumps(obj)))

    def read_json(self, name: str) -> dict[str, Any]:
        """A JSON file of the folder as a dict; NNLabError naming it when missing or damaged."""
        path = self._existing(name)
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise self.damaged(name, exc) from exc

    # -- tensors --------------------------------------------------------------------------------
    def _save(self, obj: Any, name: str) -> None:
        import torch

        atomic_write(self.path / name, lambda tmp: torch.save(obj, tmp))

    def _load(self, name: str) -> Any:
        return load_tensors(self._existing(name))

    def save_checkpoint(self, state: dict[str, Any], best_model: dict[str, torch.Tensor] | None = None) -> None:
        """The resumable state of the last epoch (and the best weights when they improved); atomic."""
        if best_model is not None:
            self._save(best_model, CHECKPOINT_BEST)
        self._save(state, CHECKPOINT_LAST)

    def has_checkpoint(self) -> bool:
        return (self.path / CHECKPOINT_LAST).is_file()

    def drop_checkpoint(self) -> int:
        """Delete the last checkpoint (what resuming reads; a finished run never resumes); the bytes freed."""
        path = self.path / CHECKPOINT_LAST
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        return size

    def load_checkpoint(self) -> dict[str, Any]:
        """The last checkpoint, read without running pickled code."""
        return self._load(CHECKPOINT_LAST)

    def checkpoint_epochs(self) -> int:
        """How many epochs the last complete checkpoint holds (0: none); its tensors are mapped, not read."""
        if not self.has_checkpoint():
            return 0
        try:
            return len(load_tensors(self.path / CHECKPOINT_LAST, mmap=True)["history"])
        except Exception as exc:  # a damaged or foreign file: one sentence, not a traceback
            raise NNLabError(
                f"{CHECKPOINT_LAST} of run {self.run_id} cannot be read ({type(exc).__name__}), so the run cannot "
                "resume; copy its settings to the form and train it again."
            ) from exc

    def resume_point(self, epochs_recorded: int, ahead: bool = False) -> str:
        """What resuming does, in one sentence: continue after the checkpoint's epoch, and why that is earlier
        than the last recorded epoch when a kill cut that epoch's checkpoint off (or it was never saved). ahead:
        said before the user resumes ('Resume continues after epoch 3.'), not after."""
        done = self.checkpoint_epochs()
        subject, verb = ("Resume", "continues") if ahead else (f"Run {self.run_id}", "resumed")
        if done >= epochs_recorded:
            where = f"after epoch {done}" if done else "from the start"
            return f"{subject} {verb} {where}" + (", from its last checkpoint." if ahead and done else ".")
        cut = any(_temporary(self.path / n).exists() for n in (CHECKPOINT_LAST, CHECKPOINT_BEST))
        why = f"epoch {epochs_recorded}'s checkpoint was {'incomplete' if cut else 'never saved'}"
        if epochs_recorded == done + 1:
            again = f"epoch {epochs_recorded} trains again"
        else:
            again = f"epochs {done + 1} to {epochs_recorded} train again"
        start = f"from the checkpoint after epoch {done}" if done else "from the start"
        return f"{subject} {verb} {start}; {why}, so {again}."

    def save_weights(self, state: dict[str, torch.Tensor]) -> None:
        """The trained model's state dict (model.pt)."""
        self._save(state, WEIGHTS)

    def has_weights(self) -> bool:
        return (self.path / WEIGHTS).is_file()

    def load_weights(self) -> dict[str, torch.Tensor]:
        """The trained state dict, loaded without running pickled code; one sentence when it cannot be."""
        try:
            state = self._load(WEIGHTS)
        except NNLabError:
            raise
        except Exception as exc:  # a damaged or foreign file: one sentence, not a traceback
            raise self.damaged(WEIGHTS, exc) from exc
        if not isinstance(state, dict):
            raise NNLabError(f"{WEIGHTS} of run {self.run_id} holds no state dict.")
        return state

    def weights_bytes(self) -> bytes:
        """model.pt as bytes, for a download button."""
        return self._existing(WEIGHTS).read_bytes()

    # -- data facts and test outputs ------------------------------------------------------------
    def write_facts(self, facts: DataFacts) -> None:
        """Facts learned from the data (classes, input shape, scaler, vocabulary, window)."""
        self.write_json(INFO, facts.to_json_dict())

    def read_facts(self) -> DataFacts:
        """The facts a run saved (by this version or an earlier one); one sentence when they are not readable."""
        from nnlab.core.facts import facts_from_json_dict

        try:
            return facts_from_json_dict(self.read_json(INFO))
        except (KeyError, TypeError, ValueError) as exc:
            raise NNLabError(f"{INFO} of run {self.run_id} does not describe its data ({type(exc).__name__}).") from exc

    def read_arrays(self, name: str) -> dict[str, np.ndarray]:
        """The arrays of an .npz file; object arrays (pickles) are refused."""
        import numpy as np

        path = self._existing(name)
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except Exception as exc:  # a cut or foreign file: BadZipFile, zlib.error, EOFError, a pickle refused...
            raise self.damaged(name, exc) from exc

    def _write_arrays(self, name: str, arrays: dict[str, Any]) -> None:
        import numpy as np

        def write(tmp: Path) -> None:  # np.savez_compressed's format at zlib's fastest level: a quarter of the time
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:  # np.load reads it as is
                for key, value in arrays.items():
                    with z.open(f"{key}.npy", "w", force_zip64=True) as f:
                        np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)

        atomic_write(self.path / name, write)

    def write_results(self, report: dict[str, Any], predictions: Predictions, examples: dict[str, np.ndarray]) -> None:
        """The test set's predictions, viewable examples and report, each atomically (the report last: it marks
        results as complete)."""
        self._write_arrays(PREDICTIONS, {k: v for k, v in vars(predictions).items() if v is not None})
        self._write_arrays(EXAMPLES, examples)
        self.write_json(REPORT, report)

    # -- the label check of the training rows (nnlab.engine.label_check) ---------------------------
    def write_label_check(self, state: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> None:
        """The check's state (running with its progress, finished, failed, stopped) and, once done, its arrays."""
        if arrays is not None:
            atomic_write(self.path / LABEL_PROBS, lambda tmp: _savez(tmp, arrays))
        self.write_json(LABEL_CHECK, state)

    def read_label_check(self) -> dict[str, Any] | None:
        """The check's state, or None when it never ran."""
        return self.read_json(LABEL_CHECK) if (self.path / LABEL_CHECK).is_file() else None

    def read_label_probs(self) -> dict[str, np.ndarray]:
        """The finished check's arrays: index, split, labels, probs and the flagged rows' viewable examples."""
        return self.read_arrays(LABEL_PROBS)

    def drop_results(self) -> None:
        """Delete the test results and the weights they were of (the report first: it marks results complete),
        and the label check made with them: a resumed run trains past that model and is tested again at its end."""
        for name in (REPORT, PREDICTIONS, EXAMPLES, WEIGHTS, LABEL_CHECK, LABEL_PROBS):
            (self.path / name).unlink(missing_ok=True)

    def has_results(self) -> bool:
        """Whether the run wrote its test report (finished, or stopped after at least one epoch)."""
        return (self.path / REPORT).is_file() and (self.path / PREDICTIONS).is_file()

    def read_results(self) -> Results:
        """Report, predictions and examples of a finished run; NNLabError naming what is missing."""
        examples = _pick(Examples, self.read_arrays(EXAMPLES)) if (self.path / EXAMPLES).is_file() else Examples()
        info, report = self.read_facts(), self.read_json(REPORT)
        try:
            predictions = _pick(Predictions, self.read_arrays(PREDICTIONS))
        except TypeError as exc:  # a readable file without y_true or y_pred
            raise self.damaged(PREDICTIONS, exc) from exc
        return Results(self.run_id, info, report, predictions, examples)
