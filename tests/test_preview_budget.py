"""The form's preview and the pre-flight estimate stay within a size and time budget: a 12-layer 8192-wide MLP
(about 740 million parameters, 2.8 GB of weights) is counted without being built, and an estimate whose steps
outrun the time budget is refused with one sentence."""

from __future__ import annotations

import resource

import pytest
import torch
from torch.optim.lr_scheduler import OneCycleLR

from nnlab.core.errors import DataError, NNLabError
from nnlab.core.limits import DATA_ENV
from nnlab.data import load_dataset
from nnlab.data.registry import make_config
from nnlab.engine.lrpreview import lr_preview
from nnlab.engine.preflight import Budget, estimate
from nnlab.engine.train import make_scheduler
from tests.helpers import app_at
from tests.test_data_files import write_image_dir

HUGE = {"hidden_sizes": (8192,) * 12, "expert": True, "epochs": 1}
GB = 2**30


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KB


def test_a_model_too_large_to_measure_is_sized_from_its_parameters_without_being_built():
    before = _peak_rss()
    est = estimate(make_config("mlp", **HUGE), budget=Budget(max_memory_mb=10**9))  # as if the machine had room
    assert _peak_rss() - before < GB  # built, its weights alone would take 2.8 GB
    assert est.fits and est.params > 700_000_000 and est.weights_mb > 2500
    assert est.seconds_per_epoch is None and est.activations_mb == 0
    assert "too large for the estimate to build" in est.reason and "not measured" in est.reason


def test_an_estimate_whose_steps_outrun_the_time_budget_is_refused_in_one_sentence():
    with pytest.raises(NNLabError, match=r"took longer than the estimate's 0 s budget") as err:
        estimate(make_config("mlp", hidden_sizes=(32,), epochs=1, threads=1), budget=Budget(max_seconds=0))
    assert str(err.value).count(". ") == 0 and str(err.value).endswith(".")


def test_the_form_counts_a_huge_models_parameters_without_building_it():
    at = app_at("pages/1_Train.py").run()
    at.toggle("tr_expert").set_value(True).run()
    before = _peak_rss()
    at.text_input("tr_mlp_hidden_sizes").set_value(",".join(["8192"] * 12)).run()
    assert not at.exception
    assert _peak_rss() - before < GB
    params = next(m.value for m in at.metric if m.label == "Parameters")
    assert int(params.replace(",", "")) > 700_000_000


def test_a_data_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV, "0.001")  # about 1 KB
    path = tmp_path / "big.csv"
    path.write_text("a,label\n" + "1,0\n2,1\n" * 1000)
    with pytest.raises(DataError) as err:
        load_dataset(make_config("mlp", dataset="csv", data_path=str(path)))
    assert str(err.value).startswith("big.csv is 7.8 KB, more than the 1.0 KB a data file may have here; use a sample")


def test_the_lr_preview_of_a_long_one_cycle_run_reads_each_epoch_instead_of_stepping_every_batch(monkeypatch):
    cfg, steps = make_config("mlp", schedule="onecycle", epochs=40, lr=3e-3), 25
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.lr)
    sched, stepped = make_scheduler(cfg, opt, steps), []
    for _ in range(cfg.epochs):  # what a run's optimizer sees at the start of each epoch
        stepped.append(opt.param_groups[0]["lr"])
        for _ in range(steps):
            opt.step()
            sched.step()
    calls = []
    step = OneCycleLR.step
    monkeypatch.setattr(OneCycleLR, "step", lambda self, *a: (calls.append(1), step(self, *a))[1])
    assert lr_preview(cfg, steps) == pytest.approx(stepped)
    assert len(calls) < cfg.epochs  # with expert settings (10,000 epochs, batch 1) stepping took minutes


def test_images_that_would_not_fit_in_memory_are_refused_before_they_are_decoded(tmp_path, monkeypatch):
    root = write_image_dir(tmp_path / "src", per_class=8)  # 24 images
    monkeypatch.setenv(DATA_ENV, "1")  # 1 MB: 24 images of 3 x 256 x 256 bytes take 4.5 MB
    with pytest.raises(DataError) as err:
        load_dataset(make_config("cnn", dataset="image-folder", data_path=str(root), image_size=256))
    assert str(err.value).startswith("photos has 24 images, 4.5 MB at 256x256 pixels, more than the 1.0 MB")
