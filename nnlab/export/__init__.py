"""A run handed over: as a plain PyTorch script folder that trains without nnlab (script), or as the trained model
in a file that runs without nnlab, with its preprocessing facts and a predict.py for raw inputs (torchscript, and
torch-export: a torch.export program). `python -m nnlab export RUN_ID --format FORMAT --out DIR`.

What a run can be exported as follows from its architecture's ArchSpec (its script template, the model formats it
cannot be saved in) and its data; anything missing is one sentence from export_problem, never an exception.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from nnlab.core.errors import NNLabError
from nnlab.export.model import FACTS, MODEL_FILES, PREDICT, export_model, model_problem
from nnlab.export.script import export_script, script_problem
from nnlab.models import MODELS

FORMATS = ("script", "torchscript", "torch-export")
TORCHSCRIPT, PROGRAM = MODEL_FILES["torchscript"], MODEL_FILES["torch-export"]

__all__ = ["FACTS", "FORMATS", "PREDICT", "PROGRAM", "TORCHSCRIPT", "export_problem", "export_run", "export_zip"]


def export_problem(store: Any, run_id: str, fmt: str) -> str | None:
    """Why the run cannot be exported in fmt, in one sentence; None when it can (checked without exporting)."""
    cfg = store.get(run_id).config
    if fmt not in FORMATS:
        return f"Format {fmt} is unknown; use {', '.join(FORMATS)}."
    if cfg.arch not in MODELS:
        return (
            f"Architecture {cfg.arch} is not registered here; import the module that registers it (see NNLAB_MODELS)."
        )
    if (problem := _classical_problem(store, run_id, fmt)) is not None:
        return problem
    if fmt == "script":
        return script_problem(cfg)
    return model_problem(cfg.arch, fmt, store.folder(run_id).has_weights())


def _classical_problem(store: Any, run_id: str, fmt: str) -> str | None:
    """A series run whose forecasts use a classical forecaster: a model export carries a blend (preprocessing.json
    says it, predict.py fits the forecaster with statsmodels), not a residual base; the training script trains
    the network alone, so it is not the run's forecasts."""
    folder = store.folder(run_id)
    facts = folder.read_facts() if (folder.path / "info.json").is_file() else None
    if getattr(facts, "base", ""):
        return (
            f"Run {run_id} corrects a classical forecaster, not exported yet; train it with --classical none or blend."
        )
    if fmt == "script" and getattr(facts, "blend", "") and facts.blend_weight < 1:
        return (
            f"Run {run_id} blends its forecasts with a classical forecaster, which the training script leaves out; "
            "export the model (TorchScript or torch.export), or train it with --classical none."
        )
    return None


def export_run(store: Any, run_id: str, fmt: str, out: Path) -> list[Path]:
    """Export in one of FORMATS into the empty or new folder out; returns the files written."""
    problem = export_problem(store, run_id, fmt)
    if problem:
        raise NNLabError(problem)
    try:
        return export_script(store, run_id, out) if fmt == "script" else export_model(store, run_id, fmt, out)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise NNLabError(f"Writing the export failed ({why}); free disk space or choose another folder.") from None


def export_zip(store: Any, run_id: str, fmt: str) -> bytes:
    """The export folder as a zip (for a download button)."""
    with tempfile.TemporaryDirectory(prefix="nnlab-export-") as tmp:
        folder = Path(tmp) / f"nnlab-{run_id}-{fmt}"
        files = export_run(store, run_id, fmt, folder)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for f in files:
                z.write(f, f"{folder.name}/{f.name}")
        return buf.getvalue()
