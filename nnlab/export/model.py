"""The model exports: the trained model as a file that runs without nnlab, with preprocessing.json and predict.py.

torchscript: `torch.jit.script` (or a trace, where the ArchSpec says so), loaded by `torch.jit.load`; deprecated in
this torch, kept while torch still loads it. torch-export: a `torch.export` program (.pt2, any batch size), loaded by
`torch.export.load(path).module()`. Either is checked against the run's model before it is written.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch

from nnlab.analysis.naming import run_name
from nnlab.core.errors import NNLabError
from nnlab.core.facts import DataFacts
from nnlab.export.facts import preprocessing_facts
from nnlab.export.folder import empty_folder, score_line
from nnlab.models import MODELS, ArchSpec

FACTS, PREDICT = "preprocessing.json", "predict.py"
MODEL_FILES = {"torchscript": "model.torchscript.pt", "torch-export": "model.pt2"}
LOADERS = {"torchscript": "torch.jit.load(path)", "torch-export": "torch.export.load(path).module()"}
TITLES = {"torchscript": "TorchScript", "torch-export": "torch.export"}
PREDICT_TEMPLATE = Path(__file__).with_name("templates") / "predict.tmpl"
MAX_GAP = 1e-4


def model_problem(arch: str, fmt: str, has_weights: bool) -> str | None:
    """Why a run of arch cannot be exported in the model format fmt, in one sentence; None when it can."""
    if not has_weights:
        return "The run saved no trained model."
    if fmt in MODELS[arch].cannot:
        return MODELS[arch].cannot[fmt]
    if fmt == "torchscript" and not hasattr(getattr(torch, "jit", None), "script"):
        return f"PyTorch {torch.__version__} no longer saves TorchScript; export torch.export instead."
    return None


def example_input(facts: DataFacts, batch: int = 3) -> tuple[torch.Tensor, ...]:
    """Model inputs of batch rows shaped like the run's: text ids padded to max_len with their lengths."""
    gen = torch.Generator().manual_seed(0)
    if facts.kind == "text":
        ids = torch.randint(1, max(facts.vocab_size, 2), (batch, facts.max_len), generator=gen)
        lengths = torch.tensor([facts.max_len, max(1, facts.max_len // 2), 1][:batch] + [1] * max(0, batch - 3))
        return ids, lengths
    return (torch.randn(batch, *facts.input_shape, generator=gen),)


def _capture(fmt: str, spec: ArchSpec, model: torch.nn.Module, example: tuple[torch.Tensor, ...]) -> Any:
    """The model as TorchScript or a torch.export program; a failure is one sentence naming the other format."""
    model.eval()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # torch 2.14 marks torch.jit deprecated; export warns on internals
            if fmt == "torch-export":
                batch = torch.export.Dim("batch", min=1)
                return torch.export.export(model, example, dynamic_shapes=tuple({0: batch} for _ in example))
            if spec.torchscript == "trace":
                return torch.jit.trace(model, example, check_trace=False)
            return torch.jit.script(model)
    except Exception as exc:  # noqa: BLE001  (any capture failure of a user's architecture: one sentence)
        other = "torch.export" if fmt == "torchscript" else "TorchScript"
        raise NNLabError(
            f"{TITLES[fmt]} could not capture {spec.title} ({type(exc).__name__}); try exporting it as {other}."
        ) from exc


def _runnable(fmt: str, captured: Any) -> Any:
    return captured.module() if fmt == "torch-export" else captured


def _check(run_id: str, fmt: str, captured: Any, model: torch.nn.Module, facts: DataFacts) -> None:
    """The captured model answers like the run's on inputs of several batch sizes, or export stops."""
    runnable = _runnable(fmt, captured)
    with torch.no_grad():
        for batch in (3, 1, 5):
            x = example_input(facts, batch)
            gap = (runnable(*x).float() - model(*x).float()).abs().max().item()
            if not gap <= MAX_GAP:
                raise NNLabError(f"The {TITLES[fmt]} model of run {run_id} differs from the run's model by {gap:.2g}.")


def _save(fmt: str, captured: Any, path: Path) -> None:
    if fmt == "torch-export":
        torch.export.save(captured, str(path))
    else:
        captured.save(str(path))


def export_model(store: Any, run_id: str, fmt: str, out: Path) -> list[Path]:
    """Write the trained model in fmt, preprocessing.json, predict.py and a README into the empty folder out."""
    from nnlab.engine.predict import Predictor

    rec = store.get(run_id)
    spec = MODELS[rec.config.arch]
    out = empty_folder(out)  # a folder that cannot be had is said before the model is captured
    predictor = Predictor.from_run(store.folder(run_id), rec.config)
    try:
        captured = _capture(fmt, spec, predictor.model, example_input(predictor.facts))
        _check(run_id, fmt, captured, predictor.model, predictor.facts)
    except NNLabError:
        out.rmdir()  # nothing was written into it
        raise
    _save(fmt, captured, out / MODEL_FILES[fmt])
    model = {"file": MODEL_FILES[fmt], "format": fmt, "load": LOADERS[fmt]}
    facts = preprocessing_facts(predictor.facts, rec.config, model)
    (out / FACTS).write_text(json.dumps(facts, indent=1) + "\n")
    shutil.copyfile(PREDICT_TEMPLATE, out / PREDICT)
    (out / "README.md").write_text(_readme(rec, fmt, facts))
    return sorted(out.iterdir())


def _readme(rec: Any, fmt: str, facts: dict[str, Any]) -> str:
    file, answer = MODEL_FILES[fmt], "classes" if facts["task"] == "classification" else "forecasts"
    return f"""# {run_name(rec)}: nnlab run {rec.run_id} as a {TITLES[fmt]} model

- `{file}`: load it with `{LOADERS[fmt].replace("path", repr(file))}`; no nnlab needed.
- `{FACTS}`: what the model expects and returns, taken from the data the run used. Raw input:
  {facts["raw"]["as"]}. Model input: {facts["input"]}. Output: {facts["output"]}.
- `{PREDICT}`: `python {PREDICT} INPUT ...` reads raw inputs (an .npy array as the dataset gives them, or image,
  CSV or text files), follows `{FACTS}` and prints one JSON list of the predicted {answer}. It needs torch and
  numpy (and Pillow for image files).{_blend_words(facts)}

{score_line(rec)}
"""


def _blend_words(facts: dict[str, Any]) -> str:
    """What a blended series run's README adds: the forecasts are not the model's alone."""
    blend = facts.get("blend")
    if not blend:
        return ""
    return (
        f"\n- The run's forecasts blend the model's ({blend['weight']:.0%}) with {blend['label']} "
        f"({1 - blend['weight']:.0%}), the mix that forecast its validation steps best; `{PREDICT}` fits that "
        "forecaster on the series it is given, as nnlab's Playground does, and needs statsmodels for it."
    )
