"""A run's memory against its budget: counted on the "meta" device before anything is allocated, and capped
while the run trains, so a run that grows past its budget fails with advice instead of taking the machine (and
the server) to the kernel's out-of-memory killer."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from nnlab.core.config import RunConfig
from nnlab.core.facts import DataFacts
from nnlab.core.limits import MEMORY_ENV, MemoryBudget, size_text
from nnlab.models import build_model, count_parameters

MB = 2**20
PLANNED = ("weights_mb", "gradients_mb", "optimizer_mb", "best_weights_mb")


def tensor_bytes(tensors: Any) -> int:
    """Bytes held by these tensors."""
    return sum(t.numel() * t.element_size() for t in tensors)


def optimizer_state_floats(cfg: RunConfig, trainable: int) -> int:
    """Numbers the optimizer keeps per run: Adam and AdamW two moments, SGD one momentum buffer."""
    per_param = {"adam": 2, "adamw": 2, "sgd": 1 if cfg.momentum else 0}[cfg.optimizer]
    return per_param * trainable


def static_memory(cfg: RunConfig, facts: DataFacts) -> dict[str, float]:
    """Parameter counts, and weights, gradients, optimizer state and the best-weights copy in MB, from the model
    built on the meta device (shapes only: nothing is allocated)."""
    with torch.device("meta"):
        model = build_model(cfg.replace(pretrained=False, weights_path=""), facts)
    total, trainable = count_parameters(model), count_parameters(model, trainable_only=True)
    per = next(model.parameters()).element_size()
    weights = total * per + tensor_bytes(model.buffers())
    return {
        "params": total,
        "trainable_params": trainable,
        "weights_mb": weights / MB,
        "gradients_mb": trainable * per / MB,
        "optimizer_mb": optimizer_state_floats(cfg, trainable) * per / MB,
        "best_weights_mb": (weights if cfg.early_stopping else 0) / MB,
    }


def planned_mb(sizes: dict[str, float]) -> float:
    """MB known before any batch runs: weights, gradients, optimizer state, the best-weights copy."""
    return sum(sizes[k] for k in PLANNED)


def over_budget(needed: float, budget: MemoryBudget, measured: bool = False) -> str | None:
    """The sentence refusing a run over its budget: by the model's weights, gradients and optimizer state alone,
    or (measured) with one batch's activations too."""
    if needed <= budget.mb:
        return None
    if measured:
        return (
            f"This run needs about {size_text(needed * MB)} with one batch's activations, more than {budget.text}; "
            "lower the batch size or use a smaller model."
        )
    return (
        f"This run needs {size_text(needed * MB)} for the model's weights, gradients and optimizer state alone, "
        f"more than {budget.text}; use fewer or smaller layers."
    )


def memory_problem(cfg: RunConfig, facts: DataFacts, budget: MemoryBudget) -> str | None:
    """Why cfg cannot start within the budget (one sentence), or None; nothing is allocated to find out."""
    return over_budget(planned_mb(static_memory(cfg, facts)), budget)


def grew_past(budget: MemoryBudget) -> str:
    """What a run that ran out of its budget while training is told."""
    raise_it = "" if budget.source == "override" else f" (the operator can raise {MEMORY_ENV})"
    return (
        f"The run grew past its memory budget of {budget.text} while training; lower the batch size or use a "
        f"smaller model{raise_it}."
    )


def out_of_budget(exc: BaseException) -> bool:
    """Whether exc is an allocation refused by the cap (numpy's MemoryError, torch's CPU allocator error)."""
    return isinstance(exc, MemoryError) or (isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc))


def _data_kb() -> int | None:
    """This process's data segment and private writable mappings in KB (what RLIMIT_DATA counts)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmData:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


@contextlib.contextmanager
def capped(budget: MemoryBudget) -> Iterator[bool]:
    """While inside, this process may grow by at most the budget (RLIMIT_DATA above what it holds now): an
    allocation past it fails in the run, not in the kernel's OOM killer. Yields whether the cap is in force
    (not where the platform has no such limit)."""
    try:
        import resource
    except ImportError:  # not on this platform
        yield False
        return
    now = _data_kb()
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = None if now is None else now * 1024 + int(budget.mb * MB)
    if limit is None or (hard != resource.RLIM_INFINITY and limit > hard):
        yield False
        return
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    try:
        yield True
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
