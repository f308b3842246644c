"""The learning rate a run's schedule gives each epoch, for the form's preview (no run, no model)."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from nnlab.core.config import RunConfig
from nnlab.engine.train import make_scheduler


def lr_preview(cfg: RunConfig, steps_per_epoch: int) -> list[float]:
    """The LR at the start of each epoch if validation never stalls (plateau drops only when it does)."""
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=cfg.lr)
    sched = make_scheduler(cfg, opt, max(1, steps_per_epoch))
    lrs = []
    for epoch in range(cfg.epochs):
        if cfg.schedule == "onecycle":  # its closed form at the epoch's first step, not millions of steps (expert)
            sched.last_epoch = epoch * max(1, steps_per_epoch)
            with warnings.catch_warnings(action="ignore"):  # "get_lr called outside step": intended here
                lrs.append(float(sched.get_lr()[0]))
            continue
        lrs.append(opt.param_groups[0]["lr"])
        if sched is not None and cfg.schedule != "plateau":
            opt.step()
            sched.step()
    return lrs
