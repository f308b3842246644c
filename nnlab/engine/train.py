"""The training loop: fit() = train_one_epoch + evaluate + schedule, with a few named callback events."""

from __future__ import annotations

import copy
import math
import threading
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.findings import weights_on
from nnlab.core.fitted import fit_to_data
from nnlab.core.records import EpochRecord, Progress, improves
from nnlab.data.base import Dataset, Split
from nnlab.data.batches import iterate_batches, make_transform, num_batches
from nnlab.engine import fastmlp, lean
from nnlab.engine.randomness import CPUDropout as CPUDropout  # re-exported: callers import them from here
from nnlab.engine.randomness import fast_dropout as fast_dropout
from nnlab.engine.randomness import global_rng_state, run_generator, set_global_rng_state
from nnlab.engine.randomness import seed_everything as seed_everything

lean.defer()  # the loop never compiles: torch.optim's calls into TorchDynamo need not load it (1.4 s)

if TYPE_CHECKING:
    from nnlab.core.forecast import Forecast

PROGRESS_INTERVAL_S = 0.5  # how often the loop reads the loss back and tells listeners


class Diverged(NNLabError):
    """The loss became NaN or infinite."""


@dataclass
class FitResult:
    """How fit() ended: "finished", "early_stopped", "stopped" or "diverged", and the history."""

    status: str
    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    reason: str = ""


class Callback:
    """A listener; override any of these. A listener that lacks a hook is simply not called."""

    def on_estimate(self, trainer: Trainer, forecast: Forecast) -> None: ...
    def on_fit_start(self, trainer: Trainer) -> None: ...
    def on_progress(self, trainer: Trainer, progress: Progress) -> None: ...
    def on_epoch_end(self, trainer: Trainer, record: EpochRecord, improved: bool) -> None: ...
    def on_fit_end(self, trainer: Trainer, result: FitResult) -> None: ...


class EarlyStopping(Callback):
    """Ends fit() after `patience` epochs without improvement and restores the best weights (Lightning's shape).

    A lowered rate gets one full patience once per best epoch: the plateau schedule lowers the rate after
    lr_patience bad epochs, one short of the early-stopping patience, and the new rate deserves its own chance.
    """

    state_key = "early_stopping"

    def __init__(self, patience: int, plateau: bool):
        self.patience, self.plateau = patience, plateau
        self.bad_epochs, self.renewed = 0, False
        self.best_model: dict[str, torch.Tensor] | None = None

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord, improved: bool) -> None:
        if improved:
            self.bad_epochs, self.renewed = 0, False
            self.best_model = copy.deepcopy(trainer.model.state_dict())
        elif self.plateau and trainer.optimizer.param_groups[0]["lr"] < record.lr and not self.renewed:
            self.bad_epochs, self.renewed = 0, True  # the schedule just lowered the rate
        else:
            self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            trainer.should_stop = True

    def on_fit_end(self, trainer: Trainer, result: FitResult) -> None:
        if self.best_model is not None and result.status != "diverged":
            trainer.model.load_state_dict(self.best_model)

    def state_dict(self) -> dict[str, Any]:
        return {"bad": self.bad_epochs, "renewed": self.renewed, "best_model": self.best_model or {}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.bad_epochs, self.renewed = state["bad"], state.get("renewed", False)
        self.best_model = state.get("best_model") or None


def resolve_device(name: str) -> torch.device:
    """auto: CUDA, then Apple MPS, then CPU; an unavailable explicit choice is refused."""
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if (name == "cuda" and not cuda) or (name == "mps" and not mps):
        raise NNLabError(f"Device {name} is not available on this machine; choose auto or cpu.")
    return torch.device(name)


def balanced_weights(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """scikit-learn's "balanced" class weights, n / (classes present * count), from the training labels (absent:
    0)."""
    counts = np.bincount(y.cpu().numpy(), minlength=num_classes)
    present = counts > 0
    weights = np.zeros(num_classes, dtype=np.float32)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return torch.from_numpy(weights)


def _to(t: torch.Tensor | None, device: torch.device) -> torch.Tensor | None:
    return None if t is None else t.to(device)


def make_optimizer(cfg: RunConfig, params: list[nn.Parameter], device: torch.device) -> torch.optim.Optimizer:
    """Adam, AdamW or SGD with momentum; the fused kernel where PyTorch has one for this device."""
    kinds = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
    extra = {"momentum": cfg.momentum} if cfg.optimizer == "sgd" else {}
    cls = kinds[cfg.optimizer]
    for speed in ({"fused": True}, {"foreach": True}, {}):
        try:
            return cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay, **extra, **speed)
        except (RuntimeError, TypeError, ValueError):
            continue
    raise AssertionError("unreachable")


def make_scheduler(cfg: RunConfig, opt: torch.optim.Optimizer, steps_per_epoch: int) -> Any:
    """The LR schedule; one-cycle steps per batch, the others per epoch."""
    s = torch.optim.lr_scheduler
    if cfg.schedule == "plateau":
        return s.ReduceLROnPlateau(opt, mode="min", patience=cfg.lr_patience, factor=0.1)
    if cfg.schedule == "step":
        return s.StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma)
    if cfg.schedule == "cosine":
        return s.CosineAnnealingLR(opt, T_max=cfg.epochs)
    if cfg.schedule == "onecycle":
        return s.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch)
    return None


class Trainer:
    """Holds the model, optimizer, schedule and data on the device, and runs the epochs."""

    def __init__(
        self,
        cfg: RunConfig,
        model: nn.Module,
        data: Dataset,
        device: torch.device,
        callbacks: list[Callback] | tuple[Callback, ...] = (),
        stop: threading.Event | None = None,
    ):
        self.given = cfg  # as the user gave it; self.cfg has "fit to the data" (0) values filled in
        self.cfg, self.device, self.data = fit_to_data(cfg, len(data.train)), device, data
        cfg = self.cfg
        self.regression = data.task == "regression"
        self.weighted = not self.regression and weights_on(cfg.class_weights, data.train.y.bincount().tolist())
        self.model = model.to(device)
        # convolutions run faster on NHWC: tensor cores on CUDA, oneDNN on the CPU (measured in `nnlab bench`)
        self.channels_last = device.type in ("cuda", "cpu") and any(isinstance(m, nn.Conv2d) for m in model.modules())
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.rng = run_generator(cfg.seed, device)
        if device.type == "cpu":
            fast_dropout(self.model, self.rng)
        self.train_split, self.val_split = data.train.to(device), data.val.to(device)
        self.transform = make_transform(data.facts, cfg.augment, device, self.rng)
        weights = balanced_weights(data.train.y, data.facts.num_classes) if self.weighted else None
        self.loss_fn = nn.MSELoss() if self.regression else nn.CrossEntropyLoss(weight=_to(weights, device))
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.steps_per_epoch = num_batches(len(data.train), cfg.batch_size)
        self.optimizer = make_optimizer(cfg, params, device)
        self.scheduler = make_scheduler(cfg, self.optimizer, self.steps_per_epoch)
        # early stopping first: the listeners after it (the checkpoint) see its state of this epoch
        stopper = [EarlyStopping(cfg.patience, cfg.schedule == "plateau")] if cfg.early_stopping else []
        self.callbacks: list[Callback] = [*stopper, *callbacks]
        self.stop = stop or threading.Event()
        self.should_stop = False  # set by a listener (early stopping) to end fit() after this epoch
        # bf16 autocast: by default on CUDA; on the CPU only when asked for (it pays on CPUs with native bf16,
        # such as AVX512-BF16 or AMX, for convolutions and LSTMs; see `nnlab bench`)
        self.amp = cfg.precision == "bf16" or (device.type == "cuda" and cfg.precision == "auto")
        self.history: list[EpochRecord] = []
        self.best_loss, self.best_epoch = math.inf, 0
        self._fast = fastmlp.MLPStep(self) if fastmlp.applies(self) else None  # the MLP's step without autograd
        self._fit_start = time.perf_counter()

    # -- events ---------------------------------------------------------------------------------
    def emit(self, event: str, *args: Any) -> None:
        """Call `event` on every listener that has it."""
        for cb in self.callbacks:
            hook = getattr(cb, event, None)
            if hook is not None:
                hook(self, *args)

    # -- one pass -------------------------------------------------------------------------------
    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16) if self.amp else nullcontext()

    def _forward(self, x: torch.Tensor, lengths: torch.Tensor | None, train: bool) -> torch.Tensor:
        x = self.transform(x, train)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        with self._autocast():
            out = self.model(x, lengths) if lengths is not None else self.model(x)
        return out.float()

    def train_one_epoch(self, epoch: int) -> float:
        """One pass over the training split; returns the mean training loss."""
        self.model.train()
        gen = torch.Generator().manual_seed(self.cfg.seed * 1000 + epoch)
        n, seen, total = len(self.train_split), 0, 0.0
        start = last_tick = time.perf_counter()
        smooth, tick_loss, tick_n = math.nan, torch.zeros((), device=self.device), 0
        for x, y, lengths in iterate_batches(self.train_split, self.cfg.batch_size, True, gen):
            if self.stop.is_set():
                break
            loss = self.train_step(x, y, lengths)
            tick_loss.add_(loss.detach(), alpha=len(y))  # summed on the device: no sync per batch
            seen, tick_n = seen + len(y), tick_n + len(y)
            now = time.perf_counter()
            if now - last_tick >= PROGRESS_INTERVAL_S:  # the only per-batch read-back, a few per second
                tick_sum = tick_loss.item()
                total += tick_sum
                avg = self._finite(tick_sum / tick_n, epoch)
                smooth = avg if math.isnan(smooth) else 0.7 * smooth + 0.3 * avg
                tick_loss.zero_()
                tick_n, last_tick = 0, now
                self.emit("on_progress", self._progress(epoch, seen / n, seen / (now - start), smooth))
        total += tick_loss.item()
        self._last_epoch_rate = seen / max(time.perf_counter() - start, 1e-9)
        return self._finite(total / max(seen, 1), epoch)

    def train_step(self, x: torch.Tensor, y: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """One optimisation step as training takes it: the MLP's fast step where it applies (nnlab.engine.fastmlp),
        else autograd's; returns the batch's mean loss, still on the device."""
        if self._fast is None:
            return self._step(x, y, lengths)
        loss = self._fast(self.transform(x, True), y)
        self._step_onecycle()
        return loss

    def _step(self, x: torch.Tensor, y: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """One optimisation step on a batch through autograd; returns the batch's mean loss, still on the device."""
        loss = self.loss_fn(self._forward(x, lengths, True), y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self._step_onecycle()
        return loss

    def _step_onecycle(self) -> None:
        if self.cfg.schedule == "onecycle" and self.scheduler.last_epoch < self.scheduler.total_steps - 1:
            self.scheduler.step()

    def _finite(self, value: float, epoch: int) -> float:
        if not math.isfinite(value):
            raise Diverged(
                f"Training diverged in epoch {epoch}: the loss became {value}; lower the learning rate "
                f"(now {self.cfg.lr:g}), or try gradient-friendlier settings such as Adam or batch normalisation."
            )
        return value

    def _progress(self, epoch: int, fraction: float, rate: float, loss: float) -> Progress:
        return Progress(epoch, self.cfg.epochs, fraction, rate, self.eta_s(epoch, fraction, rate), loss)

    def eta_s(self, epoch: int, fraction: float, rate: float = 0.0) -> float:
        """Seconds left if every epoch runs: at the pace of the last finished epochs (validation and checkpoints
        included, so it holds still within an epoch); in the first epoch, at the training rate so far."""
        left = self.cfg.epochs - epoch + 1 - fraction  # epochs still to run, the current one's rest included
        done = [r.seconds for r in self.history[-3:] if r.seconds > 0]
        per_epoch = sum(done) / len(done) if done else len(self.train_split) / max(rate, 1e-9)
        return max(left, 0.0) * per_epoch

    @torch.no_grad()
    def predict(self, split: Split, batch_size: int = 512) -> torch.Tensor:
        """Model outputs for a whole split, in order, on the CPU (logits or forecasts)."""
        self.model.eval()
        outs = [self._forward(x, lengths, False).cpu() for x, _, lengths in iterate_batches(split, batch_size)]
        return torch.cat(outs) if outs else torch.empty(0)

    def evaluate(self, split: Split) -> tuple[float, float]:
        """(loss, metric) on a split: accuracy for classifiers, RMSE in data units for regressors."""
        out = self.predict(split)
        y = split.y.cpu()
        loss = float(self.loss_fn(out, y))
        if self.regression:
            facts = self.data.facts
            return loss, facts.scaler.unscale_spread(float(torch.sqrt(((out - y) ** 2).mean())), facts.target_index)
        return loss, float((out.argmax(1) == y).float().mean())

    # -- the loop -------------------------------------------------------------------------------
    def fit(self) -> FitResult:
        """Train until the epochs run out, early stopping triggers, the stop flag is set, or the loss diverges."""
        self._fit_start, self.should_stop = time.perf_counter(), False
        self.emit("on_fit_start")
        result = FitResult("finished", self.history)
        try:
            for epoch in range(len(self.history) + 1, self.cfg.epochs + 1):
                self._run_epoch(epoch)
                if self.should_stop:
                    result.status = "early_stopped"
                    break
                if self.stop.is_set():
                    result.status = "stopped"
                    break
        except Diverged as exc:
            result.status, result.reason = "diverged", str(exc)
        if self.stop.is_set() and result.status != "diverged":
            result.status = "stopped"
        result.best_epoch = self.best_epoch
        self.emit("on_fit_end", result)
        return result

    def _run_epoch(self, epoch: int) -> None:
        """Train, evaluate, step the schedule, record and tell the listeners."""
        t0 = time.perf_counter()
        lr = self.optimizer.param_groups[0]["lr"]
        train_loss = self.train_one_epoch(epoch)
        if self.stop.is_set():
            return  # a partial epoch is not recorded; the last checkpoint stays the resume point
        val_loss, val_metric = self.evaluate(self.val_split)
        self._finite(val_loss, epoch)
        self._step_schedule(val_loss)
        record = EpochRecord(
            epoch, train_loss, val_loss, val_metric, lr, time.perf_counter() - t0, self._last_epoch_rate
        )
        self.history.append(record)
        improved = improves(val_loss, self.best_loss, self.cfg.min_delta)
        if improved:
            self.best_loss, self.best_epoch = val_loss, epoch
        self.emit("on_epoch_end", record, improved)

    def _step_schedule(self, val_loss: float) -> None:
        if self.scheduler is None or self.cfg.schedule == "onecycle":
            return
        if self.cfg.schedule == "plateau":
            self.scheduler.step(val_loss)
        else:
            self.scheduler.step()

    # -- checkpoints ----------------------------------------------------------------------------
    def _stateful(self) -> list[Callback]:
        """The listeners with state of their own to checkpoint (Lightning's state_key)."""
        return [cb for cb in self.callbacks if hasattr(cb, "state_key")]

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume after the last completed epoch (tensors and plain values only)."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else {},
            "history": [asdict(r) for r in self.history],
            "best": {"loss": self.best_loss, "epoch": self.best_epoch},
            "callbacks": {cb.state_key: cb.state_dict() for cb in self._stateful()},
            "config": self.cfg.to_json(),
            "rng": self.rng.get_state() if self.rng is not None else torch.empty(0, dtype=torch.uint8),
            "global_rng": global_rng_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a state_dict() (loaded with weights_only=True)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"]:
            self.scheduler.load_state_dict(state["scheduler"])
        self.history[:] = [EpochRecord.from_dict(r) for r in state["history"]]
        best = state["best"]
        self.best_loss, self.best_epoch = best["loss"], best["epoch"]
        # checkpoints written before early stopping was a listener kept its state beside the best epoch
        legacy = {EarlyStopping.state_key: {**best, "best_model": state.get("best_model", {})}}
        for cb in self._stateful():
            cb.load_state_dict(state.get("callbacks", legacy)[cb.state_key])
        if self.rng is not None and state.get("rng") is not None and state["rng"].numel():
            self.rng.set_state(state["rng"])  # a resumed run draws the masks an uninterrupted one would
        if "global_rng" in state:  # and whatever draws from the global streams (torch, numpy, random) too
            set_global_rng_state(state["global_rng"])
