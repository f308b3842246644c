"""Pre-flight: parameters, memory and seconds per epoch of a config, measured on its device before Start.

The sizes come from the model built on the "meta" device first (no memory), so a config that cannot
fit is refused before anything is allocated; then one real batch goes forward and backward (peak
CUDA memory on a GPU, the tensors autograd saves on the CPU), and a few real training steps after a
warm-up are timed and scaled to the epoch, with a timed validation pass and checkpoint added: what a
real epoch pays beyond its steps.
"""

from __future__ import annotations

import copy
import json
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.fitted import fit_to_data
from nnlab.core.forecast import Forecast
from nnlab.core.limits import run_memory_budget
from nnlab.core.text import format_duration, plural
from nnlab.data import Dataset, load_dataset
from nnlab.data.batches import iterate_batches
from nnlab.data.registry import check
from nnlab.engine.memory import MB, planned_mb, static_memory, tensor_bytes
from nnlab.engine.threads import device_label, set_threads, threads_for_idle_cpus
from nnlab.engine.train import Trainer, resolve_device
from nnlab.models import build_model
from nnlab.store import calibration
from nnlab.store.runfolder import RunFolder

WARMUP_STEPS = 3  # the first steps pay one-off costs (allocator, oneDNN primitives, cuDNN autotuning)
EVAL_SAMPLES = 2048  # validation examples timed; the pass is scaled to the whole split


@dataclass(frozen=True)
class Budget:
    """How much a pre-flight may take: memory it may plan for and seconds it may spend timing steps."""

    max_memory_mb: float | None = None  # None: the run memory budget (CPU) or the GPU's free memory
    override_mb: float | None = None  # the local operator's budget for this run (see core.limits)
    max_seconds: float = 8.0
    # the largest model (weights, gradients, optimizer state, best copy) built to be measured; a larger one is
    # sized from its parameter counts alone (nothing allocated) and its time is not measured
    max_build_mb: float = 1024.0
    eval_samples: int = EVAL_SAMPLES  # validation examples timed
    always: bool = False  # time at least one step however slow (a run measuring itself), never refuse for time


@dataclass(frozen=True)
class Estimate:
    """What a run will cost: sizes, memory by part (MB), and seconds, all measured on `device`."""

    params: int
    trainable_params: int
    memory_mb: float  # weights + gradients + optimizer state + activations (+ the best-weights copy)
    seconds_per_epoch: float | None  # None when refused before measuring
    seconds_total: float | None  # setup + every epoch + the test pass, if early stopping never triggers
    device: str
    weights_mb: float = 0.0
    gradients_mb: float = 0.0
    optimizer_mb: float = 0.0
    activations_mb: float = 0.0
    best_weights_mb: float = 0.0  # the copy early stopping keeps to restore the best epoch
    data_mb: float = 0.0  # the train and validation tensors the trainer keeps on the device
    available_mb: float | None = None  # free memory on the device
    fits: bool = True
    steps_per_epoch: int = 0
    step_seconds: float = 0.0
    validation_seconds: float = 0.0
    checkpoint_seconds: float = 0.0
    setup_seconds: float = 0.0  # loading the data and building the model
    timed_steps: int = 0
    epochs: int = 0
    reason: str = ""  # why it does not fit, or what was refused
    calibration: float = 1.0  # the seconds are the measured ones times this (see nnlab.store.calibration)

    def to_json(self) -> dict[str, Any]:
        """The JSON object `train --dry-run --json` prints (rounded for people)."""
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, float):
                out[k] = round(v, 4 if "seconds" in k else 2)
        return out


def available_mb(device: torch.device) -> float | None:
    """Free memory of the device in MB: CUDA's free memory, the system's available memory for the CPU."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free / MB
    meminfo = Path("/proc/meminfo")
    if device.type == "cpu" and meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024 / MB
    return None


def memory_limit(device: torch.device, budget: Budget) -> tuple[float | None, str]:
    """The MB a run may plan for on its device, and how a sentence names that figure: the budget's own figure
    when given; on a GPU its free memory; on the CPU the run memory budget (not the free memory, which moves)."""
    if budget.max_memory_mb is not None:
        return budget.max_memory_mb, f"the {budget.max_memory_mb:,.0f} MB at hand"
    if device.type == "cuda":
        free = available_mb(device)
        return free, f"the {free:,.0f} MB free on the GPU"
    run_budget = run_memory_budget(budget.override_mb)
    return run_budget.mb, run_budget.text


def data_mb(data: Dataset) -> float:
    """The train and validation tensors the trainer moves to the device."""
    tensors = [t for s in (data.train, data.val) for t in (s.x, s.y, s.lengths) if t is not None]
    return tensor_bytes(tensors) / MB


class _SavedTensors:
    """Counts the bytes autograd saves for backward (the activations), each storage once, parameters excluded."""

    def __init__(self, model: nn.Module):
        self.skip = {p.untyped_storage().data_ptr() for p in model.parameters()}
        self.seen: dict[int, int] = {}

    def pack(self, t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in self.skip:
            self.seen[storage.data_ptr()] = storage.nbytes()
        return t

    @property
    def mb(self) -> float:
        return sum(self.seen.values()) / MB


def measure_activations(trainer: Trainer, batch_size: int | None = None) -> float:
    """MB of activations for one real forward and backward at the run's batch size (or at batch_size)."""
    gen = torch.Generator().manual_seed(trainer.cfg.seed)
    size = batch_size or trainer.cfg.batch_size
    x, y, lengths = next(iterate_batches(trainer.train_split, size, True, gen))
    dev = trainer.device
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        before = torch.cuda.memory_allocated(dev)
        trainer._step(x, y, lengths)  # the gradients and optimizer state are counted apart
        torch.cuda.synchronize(dev)
        extra = tensor_bytes(p.grad for p in trainer.model.parameters() if p.grad is not None)
        extra += tensor_bytes(t for s in trainer.optimizer.state.values() for t in s.values() if torch.is_tensor(t))
        return max(0.0, (torch.cuda.max_memory_allocated(dev) - before - extra) / MB)
    counter = _SavedTensors(trainer.model)
    with torch.autograd.graph.saved_tensors_hooks(counter.pack, lambda t: t):
        trainer._step(x, y, lengths)
    return counter.mb


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(trainer: Trainer, max_seconds: float, always: bool = False) -> tuple[float, int]:
    """(seconds per step, steps timed): a warm-up, then real steps until the budget or an epoch's worth. A slow
    model (a step over a third of the budget) warms up with one step and times one more past the budget; one
    whose first step outruns the whole budget is refused, unless `always` (a run measuring itself: two of its
    steps are a small share of its epoch)."""
    gen = torch.Generator().manual_seed(trainer.cfg.seed + 1)
    began = time.perf_counter()
    deadline, warmup = began + max_seconds, WARMUP_STEPS
    want = warmup + min(trainer.steps_per_epoch, 50)
    done, start, loss = 0, 0.0, torch.zeros(())
    while done < want:
        for x, y, lengths in iterate_batches(trainer.train_split, trainer.cfg.batch_size, True, gen):
            if done == warmup:
                _sync(trainer.device)
                start = time.perf_counter()
            loss = trainer.train_step(x, y, lengths)
            done += 1
            took = time.perf_counter() - began
            if done == 1 and max_seconds / 3 < took and (always or took <= max_seconds):
                warmup, want = 1, 2  # slow steps: one to warm up, one timed
            if done >= want or (time.perf_counter() > deadline and done > warmup):
                break
            if time.perf_counter() > deadline and done < warmup:  # the warm-up alone outran the budget
                break
        if time.perf_counter() > deadline or done >= want:
            break
    loss.detach().item()  # the steps ran asynchronously on a GPU: wait for the last one
    timed = done - warmup
    if timed <= 0:
        raise NNLabError(
            f"The first {plural(done, 'training step')} took longer than the estimate's {max_seconds:g} s budget, so it "
            "was not finished; this run trains very slowly here: use a smaller model, batch or image size."
        )
    return (time.perf_counter() - start) / timed, timed


def time_validation(trainer: Trainer, samples: int = EVAL_SAMPLES) -> float:
    """Seconds of one validation pass: a slice of the split timed (after a warm-up on a smaller one), scaled to
    the whole split."""
    split = trainer.val_split
    n = min(len(split), samples)
    part = split.subset(torch.arange(n, device=split.y.device))
    trainer.evaluate(part.subset(torch.arange(min(n, 2 * trainer.cfg.batch_size), device=split.y.device)))  # warm-up
    t0 = time.perf_counter()
    trainer.evaluate(part)
    return (time.perf_counter() - t0) * len(split) / max(n, 1)


def time_checkpoint(trainer: Trainer) -> float:
    """Seconds of an epoch's checkpoint work, done for real in a scratch folder: the best-weights copy, best.pt
    and last.pt."""
    with tempfile.TemporaryDirectory(prefix="nnlab-preflight-") as tmp:
        t0 = time.perf_counter()
        best = copy.deepcopy(trainer.model.state_dict())
        RunFolder(Path(tmp)).save_checkpoint(trainer.state_dict(), best)
        return time.perf_counter() - t0


def _size_fields(sizes: dict[str, float]) -> dict[str, Any]:
    """The Estimate fields static_memory() gives."""
    counts = {k: int(sizes[k]) for k in ("params", "trainable_params")}
    return counts | {k: sizes[k] for k in ("weights_mb", "gradients_mb", "optimizer_mb", "best_weights_mb")}


def _refuse(
    cfg: RunConfig, sizes: dict[str, float], device: torch.device, avail: float | None, why: str, fits: bool = False
) -> Estimate:
    """The sizes counted on the meta device, nothing measured: refused (fits=False) or too large to measure."""
    return Estimate(
        **_size_fields(sizes),
        memory_mb=planned_mb(sizes),
        seconds_per_epoch=None,
        seconds_total=None,
        device=device_label(device),
        available_mb=avail,
        fits=fits,
        epochs=cfg.epochs,
        reason=why,
    )


def estimate(
    cfg: RunConfig,
    leave_core: bool = False,
    budget: Budget = Budget(),
    data: Dataset | None = None,
    root: Path | None = None,
) -> Estimate:
    """Measure what the run cfg describes would cost on its device; creates no run and writes nothing. data: the
    run's dataset when it is loaded already; root: the workspace whose history of estimates calibrates this one."""
    check(cfg)
    if data is None:  # a run measuring itself has set its threads already
        set_threads(cfg, leave_core)
    device = resolve_device(cfg.device)
    t0 = time.perf_counter()  # no global seeding: the dashboard's runs draw from streams of their own
    data = data if data is not None else load_dataset(cfg)
    cfg = fit_to_data(cfg, len(data.train))  # batch size and epochs given as 0: as the run will fit them
    sizes, avail = static_memory(cfg, data.facts), available_mb(device)
    limit, named = memory_limit(device, budget)
    planned = planned_mb(sizes)
    on_device = data_mb(data) if device.type != "cpu" else 0.0  # on the CPU the data is loaded already
    if limit is not None and planned + on_device > limit:
        why = (
            f"The model needs {planned:,.0f} MB for its weights, gradients and optimizer state, more than "
            f"{named}; use fewer or smaller layers."
        )
        return _refuse(cfg, sizes, device, avail, why)
    if planned > budget.max_build_mb:  # e.g. a 12-layer 8192-wide MLP: not built just to be measured
        why = (
            f"The model is too large for the estimate to build and time ({planned:,.0f} MB before activations, over "
            f"its {budget.max_build_mb:,.0f} MB budget), so memory is counted from its parameters and time is not measured."
        )
        return _refuse(cfg, sizes, device, avail, why, fits=True)
    est = _measure(cfg, data, device, sizes, avail, (limit, named), budget, t0)
    return calibrated(est, calibration.factor(root, est.device, cfg.arch))


def calibrated(est: Estimate, factor: float) -> Estimate:
    """The estimate's seconds scaled by how far off the last estimates on its device and architecture were."""
    if est.seconds_per_epoch is None or factor == 1.0:
        return est
    return replace(
        est,
        seconds_per_epoch=est.seconds_per_epoch * factor,
        seconds_total=(est.seconds_total or 0.0) * factor,
        calibration=factor,
    )


def forecast_of(est: Estimate) -> Forecast | None:
    """What a run keeps of its estimate (None when its time was not measured)."""
    if est.seconds_per_epoch is None:
        return None
    measured = est.seconds_per_epoch / est.calibration
    return Forecast(est.seconds_per_epoch, est.seconds_total, est.memory_mb, est.device, measured, est.calibration)


def _measure(
    cfg: RunConfig,
    data: Dataset,
    device: torch.device,
    sizes: dict[str, float],
    avail: float | None,
    limit: tuple[float | None, str],
    budget: Budget,
    t0: float,
) -> Estimate:
    trainer = Trainer(cfg, build_model(cfg, data.facts), data, device)
    setup = time.perf_counter() - t0
    try:
        activations = measure_activations(trainer)
    except torch.OutOfMemoryError:
        return _refuse(cfg, sizes, device, avail, "One batch does not fit in the GPU's memory; lower the batch size.")
    times = _epoch_times(trainer, budget)
    per_epoch = times["step_seconds"] * trainer.steps_per_epoch + times["validation_seconds"]
    per_epoch += times["checkpoint_seconds"]
    test = times["validation_seconds"] * len(data.test) / max(len(data.val), 1)
    memory = planned_mb(sizes) + activations
    needed = memory + (data_mb(data) if device.type != "cpu" else 0.0)
    fits = limit[0] is None or needed <= limit[0]
    return Estimate(
        **_size_fields(sizes),
        **times,
        memory_mb=memory,
        seconds_per_epoch=per_epoch,
        seconds_total=setup + per_epoch * cfg.epochs + test + times["checkpoint_seconds"],
        device=device_label(device),
        activations_mb=activations,
        data_mb=data_mb(data),
        available_mb=avail,
        fits=fits,
        steps_per_epoch=trainer.steps_per_epoch,
        setup_seconds=setup,
        epochs=cfg.epochs,
        reason="" if fits else f"The run needs about {needed:,.0f} MB, more than {limit[1]}.",
    )


def _epoch_times(trainer: Trainer, budget: Budget) -> dict[str, Any]:
    """What an epoch pays, measured: a training step, the validation pass, the checkpoint."""
    step, timed = time_steps(trainer, budget.max_seconds, budget.always)
    return {
        "step_seconds": step,
        "timed_steps": timed,
        "validation_seconds": time_validation(trainer, budget.eval_samples),
        "checkpoint_seconds": time_checkpoint(trainer),
    }


def dry_run(cfg: RunConfig, as_json: bool, root: Path | None = None, override_mb: float | None = None) -> int:
    """Print the estimate of cfg (one JSON object with --json), calibrated by the workspace at root; exit 0 when
    it fits, 1 when it does not."""
    if not cfg.threads:  # the threads `nnlab train` would take: no more than the CPUs idle now
        torch.set_num_threads(threads_for_idle_cpus())
    est = estimate(cfg, budget=Budget(override_mb=override_mb), root=root)
    if as_json:
        print(json.dumps(est.to_json()))
    else:
        print(describe(est))
    return 0 if est.fits else 1


def describe(est: Estimate) -> str:
    """The estimate in a few lines for a person."""
    lines = [
        f"parameters     {est.params:,} ({est.trainable_params:,} trainable)",
        f"memory         {est.memory_mb:,.1f} MB: weights {est.weights_mb:,.1f}, gradients {est.gradients_mb:,.1f}, "
        f"optimizer {est.optimizer_mb:,.1f}, activations {est.activations_mb:,.1f}, best copy {est.best_weights_mb:,.1f}",
        f"device         {est.device}",
    ]
    if est.seconds_per_epoch is not None:
        lines.append(
            f"per epoch      {format_duration(est.seconds_per_epoch, fine=True)} ({plural(est.steps_per_epoch, 'step')})"
        )
        lines.append(
            f"whole run      {format_duration(est.seconds_total or 0, fine=True)} for {plural(est.epochs, 'epoch')} at most"
        )
    if est.reason:
        lines.append(f"warning        {est.reason}")
    return "\n".join(lines)
