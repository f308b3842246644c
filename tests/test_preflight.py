"""Pre-flight: sizes from the real model, memory measured, refusal before allocating, time within 2x of real epochs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from nnlab.data import load_dataset
from nnlab.data.registry import make_config
from nnlab.engine.preflight import Budget, describe, estimate
from nnlab.engine.runner import execute
from nnlab.engine.train import Callback
from nnlab.models import build_model, count_parameters
from nnlab.store.runs import RunStore

JSON_KEYS = {"params", "trainable_params", "memory_mb", "seconds_per_epoch", "seconds_total", "device"}


def _cli(*args: str, home: os.PathLike) -> subprocess.CompletedProcess:
    env = {**os.environ, "NNLAB_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "nnlab", *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def test_sizes_are_those_of_the_model_the_run_builds():
    cfg = make_config("mlp", hidden_sizes=(64, 32), epochs=2, threads=1)
    est = estimate(cfg, budget=Budget(max_seconds=0.3))
    model = build_model(cfg, load_dataset(cfg).facts)
    assert est.params == count_parameters(model) == est.trainable_params
    assert est.weights_mb == pytest.approx(est.params * 4 / 2**20)
    assert est.optimizer_mb == pytest.approx(2 * est.weights_mb)  # Adam: two moments per weight
    assert est.activations_mb > 0 and est.seconds_per_epoch > 0 and est.fits
    assert est.seconds_total > est.seconds_per_epoch * cfg.epochs  # setup and the test pass come on top
    parts = est.weights_mb + est.gradients_mb + est.optimizer_mb + est.activations_mb + est.best_weights_mb
    assert est.memory_mb == pytest.approx(parts)


@pytest.mark.slow
def test_frozen_backbone_counts_only_the_head_as_trainable(tmp_path):
    import torch
    from torchvision.models import resnet18

    weights = tmp_path / "resnet18.pth"  # a frozen backbone needs weights to start from; any ResNet-18's will do
    torch.save(resnet18().state_dict(), weights)
    cfg = make_config(
        "resnet18", dataset="digits", weights_path=str(weights), hidden=32, epochs=1, batch_size=16, threads=1
    )
    est = estimate(cfg, budget=Budget(max_build_mb=1))  # sized from the parameter counts alone: no step timed
    head = 512 * 32 + 32 + 32 * 10 + 10
    assert est.trainable_params == head < est.params
    assert est.gradients_mb == pytest.approx(head * 4 / 2**20)


def test_activations_are_measured_at_the_batch_size():
    small = estimate(make_config("mlp", batch_size=32, epochs=1, threads=1), budget=Budget(max_seconds=0.5))
    large = estimate(make_config("mlp", batch_size=128, epochs=1, threads=1), budget=Budget(max_seconds=0.5))
    assert large.activations_mb == pytest.approx(4 * small.activations_mb, rel=0.05)
    assert large.weights_mb == small.weights_mb


def test_a_model_too_big_for_the_budget_is_refused_before_it_is_built():
    huge = make_config("mlp", hidden_sizes=(8192,) * 12, expert=True, epochs=1)
    est = estimate(huge, budget=Budget(max_memory_mb=500))
    assert not est.fits and est.seconds_per_epoch is None and est.activations_mb == 0
    assert est.params > 700_000_000 and est.memory_mb > 500
    assert "500 MB" in est.reason and "smaller layers" in est.reason


@pytest.mark.slow
def test_dry_run_prints_one_json_object_and_creates_no_run(tmp_path):
    home = tmp_path / "ws"
    out = _cli("train", "--arch", "mlp", "--hidden-sizes", "32", "--epochs", "2", "--dry-run", "--json", home=home)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    est = json.loads(lines[0])
    assert set(est) >= JSON_KEYS and est["device"].startswith("cpu")
    assert est["params"] == 64 * 32 + 32 + 32 * 10 + 10
    assert not home.exists()  # no store, no run folder


def test_a_refused_estimate_reads_as_a_warning():
    est = estimate(make_config("mlp", hidden_sizes=(8192,) * 4, expert=True), budget=Budget(max_memory_mb=100))
    text = describe(est)
    assert "parameters     201," in text  # four 8192-wide layers: about 201 million weights
    assert "warning        The model needs" in text and "per epoch" not in text


class _EpochClock(Callback):
    """Wall-clock time from the start of fit to the end of each epoch (steps, validation, checkpoint, store)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_fit_start(self, trainer) -> None:
        self.times.append(time.perf_counter())

    def on_epoch_end(self, trainer, record, improved) -> None:
        self.times.append(time.perf_counter())

    @property
    def mean_epoch(self) -> float:
        return (self.times[-1] - self.times[0]) / (len(self.times) - 1)


@pytest.mark.slow
@pytest.mark.parametrize(("arch", "epochs"), [("mlp", 6), ("cnn", 3)])
def test_estimate_is_within_2x_of_the_real_epochs(arch, epochs, tmp_path):
    # one thread: on a shared 2-core machine, OpenMP's two spinning threads make both figures erratic
    flags = ["--arch", arch, "--epochs", str(epochs), "--threads", "1"]
    out = _cli("train", *flags, "--dry-run", "--json", home=tmp_path / "dry")
    assert out.returncode == 0, out.stderr
    predicted = json.loads(out.stdout)["seconds_per_epoch"]
    cfg = make_config(arch, epochs=epochs, threads=1, early_stopping=False)
    store = RunStore(tmp_path / "ws")
    run_id = store.create(cfg)
    store.claim_queued(run_id)
    clock = _EpochClock()
    assert execute(store, run_id, callbacks=(clock,)).status == "finished"
    assert len(clock.times) == epochs + 1
    assert 0.5 <= predicted / clock.mean_epoch <= 2.0, (predicted, clock.mean_epoch)
