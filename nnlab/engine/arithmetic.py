"""Settle a run's arithmetic before it trains: the threads, device and precision it started with (or was
planned to start with) when there is a record, and the machine's rule when there is none (nnlab.core.arithmetic)."""

from __future__ import annotations

import torch

from nnlab.core.arithmetic import Arithmetic
from nnlab.core.config import RunConfig
from nnlab.engine.threads import default_threads, usable_cores
from nnlab.engine.train import resolve_device


def _precision(cfg: RunConfig, device: torch.device) -> str:
    """What the trainer's autocast does with cfg.precision on this device."""
    return "bf16" if cfg.precision == "bf16" or (device.type == "cuda" and cfg.precision == "auto") else "fp32"


def _device(plan: Arithmetic | None, cfg: RunConfig) -> tuple[torch.device, str]:
    """The planned device when it is here, else the config's choice; and "device" when the plan was not kept."""
    if plan is None or not plan.device:
        return resolve_device(cfg.device), ""
    try:
        return resolve_device(plan.device), ""
    except Exception:  # recorded on a machine with a GPU, resumed on one without
        return resolve_device("auto" if cfg.device == plan.device else cfg.device), "device"


def settle(cfg: RunConfig, plan: Arithmetic | None, leave_core: bool) -> tuple[Arithmetic, torch.device, str]:
    """Apply the run's threads and pick its device and precision: the plan's where it has them (whatever the
    load), the machine's rule where not. Returns what it used, the device, and why it differs from the plan
    (a key of nnlab.core.arithmetic.CAUSES; "" when it does not)."""
    plan = plan or Arithmetic()
    device, cause = _device(plan, cfg)
    threads = plan.threads or default_threads(cfg, leave_core)
    cores = usable_cores()
    if threads > cores and threads != cfg.threads:  # planned on a machine with more cores
        threads, cause = cores, cause or "cores"
    precision = plan.precision if plan.precision and cause != "device" else _precision(cfg, device)
    torch.set_num_threads(threads)
    return Arithmetic(threads, device.type, precision), device, cause
