"""An architecture is complete in one place (its module, its ArchSpec, its export template, a tiny config): every
registered one trains, answers through the Playground's path and exports, or says in one sentence why it cannot;
one registered from a module outside nnlab works in the form, the CLI, export and the Playground, no other file
touched. README, Development: "A new architecture" is the recipe these tests follow."""

from __future__ import annotations

import inspect
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from streamlit.testing.v1 import AppTest

from nnlab.core.records import ACTIVE
from nnlab.data.registry import validate
from nnlab.engine.predict import Predictor
from nnlab.engine.runner import StopFlag, execute
from nnlab.export import FORMATS, PREDICT, PROGRAM, TORCHSCRIPT, export_problem, export_run
from nnlab.export.script import model_part
from nnlab.models import MODELS, load_outside
from nnlab.store.runs import RunStore
from tests.helpers import app_at, isolated, tiny_config, wait_until

BUILT_IN = ("mlp", "cnn", "resnet18", "lstm", "ts-lstm")

# -- a new architecture, written where a user would keep it: outside nnlab ---------------------------------------
OUTSIDE_MODULE = '''"""Softmax regression: one linear layer over the flattened input, registered from outside nnlab."""

import math
from pathlib import Path

from torch import nn

from nnlab.models import ArchSpec, InputSpec, register


class Linear(nn.Module):
    def __init__(self, inputs: int, classes: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(inputs, classes))

    def forward(self, x):
        return self.net(x)  # (B, ...) -> (B, classes)


register(
    ArchSpec(
        "linear",
        "Linear (softmax regression)",
        InputSpec(("tabular", "image")),
        "classification",
        lambda cfg, info: Linear(math.prod(info.input_shape), info.num_classes, cfg.dropout),
        "digits",
        {"dropout": 0.1},
        "One linear layer; a baseline for feature tables and small images.",
        ("dropout",),
        template=Path(__file__).with_name("linear_arch.tmpl"),
        tiny={"dataset": "digits", "epochs": 2},
    )
)
'''
OUTSIDE_TEMPLATE = '''import math

# ---- model ----------------------------------------------------------------------------------------
class Linear(nn.Module):
    """One linear layer over the flattened input."""

    def __init__(self, inputs: int, classes: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(inputs, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, ...) -> (B, classes)


def build_model(facts: dict) -> nn.Module:
    return Linear(math.prod(facts["input_shape"]), len(facts["classes"]), CFG["dropout"])
'''


@pytest.fixture
def outside(tmp_path):
    """The module and template above in a folder outside nnlab, imported as NNLAB_MODELS would import it."""
    folder = tmp_path / "my-architectures"
    folder.mkdir()
    (folder / "linear_arch.py").write_text(OUTSIDE_MODULE)
    (folder / "linear_arch.tmpl").write_text(OUTSIDE_TEMPLATE)
    load_outside(str(folder / "linear_arch.py"))
    assert "linear" in MODELS
    yield folder / "linear_arch.py"
    MODELS.pop("linear", None)
    sys.modules.pop("nnlab_outside_linear_arch", None)


class OneBatch(StopFlag):
    """A stop flag that lets exactly one training batch through (the trainer asks before every batch)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def is_set(self) -> bool:
        self.asked += 1
        return self.asked > 1


def _one_batch_run(store: RunStore, arch: str) -> str:
    """A run of the architecture's tiny config trained for one batch, with its weights and test outputs saved."""
    cfg = tiny_config(arch)
    if (
        "series" in MODELS[arch].inputs.kinds
    ):  # the network's own path: a one-batch network would blend (test_baselines)
        cfg = cfg.replace(classical="none")
    run_id = store.create(cfg)
    store.claim_queued(run_id)
    rec = execute(store, run_id, OneBatch())
    assert rec.status == "stopped", rec.reason
    assert store.folder(run_id).has_weights()
    return run_id


def _playground_answers(store: RunStore, run_id: str) -> np.ndarray:
    """What the Playground shows for the run's own test examples, through nnlab/engine/predict.py."""
    rec = store.get(run_id)
    predictor = Predictor.from_run(store.folder(run_id), rec.config)
    examples = store.folder(run_id).read_results().examples
    if predictor.kind == "image":
        return np.stack([predictor.predict_image(image) for image in examples.images[:3]])
    if predictor.kind == "text":
        return np.stack([predictor.predict_text(str(text)) for text in examples.texts[:3]])
    if predictor.kind == "tabular":
        return predictor.predict_rows(examples.rows[:3])
    return predictor.forecast(examples.series[:-10], 3)


def _downloads(run_id: str) -> None:
    """The Results page's export downloads of one run, alone (an AppTest script)."""
    from nnlab.ui import store
    from nnlab.ui.downloads import export_downloads

    export_downloads(store().get(run_id))


def _rerun(at) -> bool:
    """Run the page again (AppTest ignores run_every); True, so it can sit inside a wait_until condition."""
    at.run()
    return True


def _sentence(text: str) -> bool:
    return text.endswith(".") and "\n" not in text and text[0].isupper()


def test_every_registered_architecture_is_complete_in_its_own_module():
    for name, spec in MODELS.items():
        module = Path(inspect.getfile(spec.build))
        assert spec.template is not None and spec.template.parent == module.parent, name  # beside its module
        imports, code = model_part(spec)
        assert "def build_model(facts: dict)" in code and all(i.startswith(("import ", "from ")) for i in imports)
        assert validate(tiny_config(name)) == [], name  # a tiny config of its own that trains
        assert set(spec.cannot) <= set(FORMATS) and spec.torchscript in ("script", "trace"), name
    assert set(BUILT_IN) <= set(MODELS)


@pytest.mark.slow
@pytest.mark.parametrize("arch", list(MODELS))
def test_every_registered_architecture_trains_predicts_and_exports(store, tmp_path, arch):
    torch.set_num_threads(1)
    run_id = _one_batch_run(store, arch)
    answers = _playground_answers(store, run_id)
    assert np.isfinite(answers).all()
    if MODELS[arch].task == "classification":
        np.testing.assert_allclose(answers.sum(1), 1, atol=1e-5)
    for fmt in FORMATS:
        problem = export_problem(store, run_id, fmt)
        if problem is not None:  # a missing capability is a sentence (a disabled button, a CLI refusal)
            assert arch not in BUILT_IN and _sentence(problem), (arch, fmt, problem)
            continue
        files = {p.name for p in export_run(store, run_id, fmt, tmp_path / fmt)}
        if fmt == "script":
            assert {"train.py", "config.json", "README.md"} <= files
            compile((tmp_path / fmt / "train.py").read_text(), "train.py", "exec")
        else:
            assert {TORCHSCRIPT if fmt == "torchscript" else PROGRAM, PREDICT, "preprocessing.json"} <= files


def test_a_missing_capability_is_a_disabled_button_and_a_cli_refusal(trained, store, monkeypatch, capsys, tmp_path):
    """The drift bug: a registered architecture without a template had an enabled button that raised
    FileNotFoundError. Now export reads what the ArchSpec offers."""
    why = "Bare MLPs keep their weights private, so they leave nnlab as code only."
    monkeypatch.setitem(MODELS, "mlp", replace(MODELS["mlp"], template=None, cannot={"torchscript": why}))
    run_id = trained["digits"]  # an MLP run, its architecture now registered with no template and no TorchScript
    assert "brings no train.py template" in export_problem(store, run_id, "script")
    assert export_problem(store, run_id, "torchscript") == why
    assert export_problem(store, run_id, "torch-export") is None

    at = AppTest.from_function(_downloads, args=(run_id,), default_timeout=60).run()  # the Results page's buttons
    assert not at.exception
    buttons = {b.key: b for b in at.get("download_button")}
    assert buttons["dl_export_script"].disabled and "no train.py template" in buttons["dl_export_script"].help
    assert buttons["dl_export_torchscript"].disabled and buttons["dl_export_torchscript"].help == why
    assert not buttons["dl_export_torch-export"].disabled

    from nnlab.cli.main import main

    for fmt in ("script", "torchscript"):
        assert main(["export", run_id, "--format", fmt, "--out", str(tmp_path / fmt)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("nnlab: ") and err.count("\n") == 1 and "Traceback" not in err
        assert not (tmp_path / fmt).exists()  # refused before anything was written


@pytest.mark.slow
def test_an_architecture_from_a_module_outside_nnlab_works_everywhere(outside, workspace, tmp_path, capsys):
    torch.set_num_threads(1)
    # the Train form offers it for the data its input spec takes, with the fields it reads, and starts it
    at = app_at("pages/1_Train.py").run()
    assert "Linear (softmax regression)" in at.radio("tr_arch").options
    at.radio("tr_arch").set_value("linear").run()
    labels = {w.label for w in [*at.select_slider, *at.slider, *at.number_input, *at.text_input]}
    assert "Dropout" in labels and "Hidden layer sizes" not in labels and not at.exception  # the fields it reads
    at.number_input("tr_epochs").set_value(2).run()
    at.button("tr_start").click().run()
    store = RunStore(workspace)
    form_run = store.list()[0].run_id
    wait_until(lambda: _rerun(at) and store.get(form_run).status not in ACTIVE, "the form's run to end")
    rec = store.get(form_run)
    assert rec.status == "finished" and rec.arch == "linear" and not at.exception, rec.reason  # in its own process

    # the command line trains it and exports it in every format
    from nnlab.cli.main import main

    assert main(["train", "--arch", "linear", "--epochs", "10", "--lr", "0.01", "--threads", "1", "--json"]) == 0
    cli_run = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert cli_run["status"] == "finished" and cli_run["test_accuracy"] > 0.8
    for fmt in FORMATS:
        assert main(["export", cli_run["run_id"], "--format", fmt, "--out", str(tmp_path / fmt)]) == 0
    train = isolated(["train.py"], tmp_path / "script")  # the exported script trains without nnlab
    assert train.returncode == 0 and "test accuracy" in train.stdout, train.stderr[-2000:]
    np.save(tmp_path / "digits.npy", load_digits().images[:20])
    for fmt in ("torchscript", "torch-export"):
        out = isolated([PREDICT, str(tmp_path / "digits.npy")], tmp_path / fmt)
        assert out.returncode == 0 and len(json.loads(out.stdout)) == 20, out.stderr[-2000:]

    # the Playground answers with it
    at = app_at("pages/4_Playground.py", cli_run["run_id"]).run()
    assert not at.exception and at.metric[0].label == "Prediction" and at.metric[0].value in list("0123456789")
