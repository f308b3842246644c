"""A sweep's spec made and checked from what a front end gathered: the base config, the varied fields, the
strategy, the pruner, the objective, the budget and the confirmation of its top trials."""

from __future__ import annotations

from typing import Any

from nnlab.core.limits import MAX_CONFIRMED, MAX_PARALLEL, MAX_SEEDS, MAX_TRIALS
from nnlab.core.placement import make_placement
from nnlab.data.registry import check
from nnlab.sweeps.space import Dim, bad_input, check_budget, check_space
from nnlab.sweeps.store import OBJECTIVES, PRUNERS, STRATEGIES, SweepSpec


def data_kind(dataset: str) -> str:
    """The kind of data a dataset holds (image, text, series, tabular)."""
    from nnlab.data import DATASETS

    return DATASETS[dataset].kind


def make_spec(base: Any, dims: list[Dim], trials: int | None, **options: Any) -> SweepSpec:
    """A checked SweepSpec: the base config, every varied field and the budget; ConfigError names the problem."""
    check(base)
    kind = data_kind(base.dataset)
    dims = check_space(dims, base, kind)
    strategy, pruner = options.get("strategy", "tpe"), options.get("pruner", "none")
    objective = options.get("objective", "val_loss")
    for value, allowed, what in ((strategy, STRATEGIES, "Strategy"), (pruner, PRUNERS, "Pruner")):
        if value not in allowed:
            raise bad_input(f"{what} {value!r} is not one of {', '.join(allowed)}.")
    if objective not in OBJECTIVES:
        raise bad_input(f"Objective {objective!r} is not one of {', '.join(OBJECTIVES)}.")
    if objective != "val_loss" and (objective == "val_rmse") != (kind == "series"):
        fits = "val_rmse" if kind == "series" else "val_accuracy"
        raise bad_input(f"Objective {objective} does not fit {base.dataset} ({kind} data); use val_loss or {fits}.")
    if options.get("parallel") is None:  # one trial per GPU, else one
        options["parallel"] = default_parallel()
    bounds = [("parallel", 1, MAX_PARALLEL), ("seeds", 1, MAX_SEEDS), ("time_limit", 0, None)]
    bounds += [("confirm_top", 0, MAX_CONFIRMED), ("confirm_seeds", 0, MAX_SEEDS)]
    for name, low, high in bounds:
        value, words = options.get(name, low), name.replace("_", " ").capitalize()
        if value < low:
            raise bad_input(f"{words} must be at least {low} (got {value}).")
        if high is not None and value > high:
            raise bad_input(f"{words} must be at most {high} (got {value}).")
    if trials is not None and trials > MAX_TRIALS:
        raise bad_input(f"Trials must be at most {MAX_TRIALS} (got {trials}).")
    n = check_budget(dims, strategy, trials)
    seed = options.pop("seed", base.seed)  # one seed for the search and the runs (seed, seed + 1, ... with seeds)
    runs_on = make_placement(options.pop("executor", None), options.pop("ray_address", None))
    where = {"executor": runs_on.kind, "ray_address": runs_on.address}
    return SweepSpec(base=base.replace(seed=seed), dims=tuple(dims), trials=n, seed=seed, **where, **options)


def default_parallel() -> int:
    """Trials at once when none is given: one per GPU, else one."""
    import torch

    return max(1, torch.cuda.device_count())
