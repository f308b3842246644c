"""What is wrong with a config's values on their own, in sentences a person can act on: out of range (naming the
field, the value and the range in force), not one of the choices, fractions that leave nothing to train on.
nnlab.data.registry adds what depends on the data."""

from __future__ import annotations

import math
from typing import Any

from nnlab.core.config import AUGMENTATIONS, CHOICES, LABELS, RANGES, Range, RunConfig, number_text


def _check_number(name: str, value: Any, expert: bool) -> str | None:
    rng, label = RANGES[name], LABELS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return f"{label} must be a number, not {value!r}."
    return None if rng.holds(value, expert) else _outside(f"{label} {number_text(value)} is", rng, expert)


def _outside(subject: str, rng: Range, expert: bool, values: str = "a value") -> str:
    lo, hi = rng.bounds(expert)
    zero = " (or 0)" if rng.zero_ok else ""
    wider = " or give --expert" if not expert and rng.bounds(True) != (lo, hi) else ""  # the dashboard: turn it on
    return f"{subject} outside {number_text(lo)} to {number_text(hi)}{zero}; pick {values} in range{wider}."


def _sizes_problem(sizes: tuple[int, ...], expert: bool) -> str | None:
    """One sentence for the hidden layer sizes out of range (forty layers of 4096 are one mistake, not forty)."""
    rng = RANGES["hidden"]
    bad = [number_text(size) for size in dict.fromkeys(sizes) if not rng.holds(size, expert)]
    if len(bad) < 2:
        return _outside(f"Hidden layer size {bad[0]} is", rng, expert) if bad else None
    return _outside(f"Hidden layer sizes {', '.join(bad[:-1])} and {bad[-1]} are", rng, expert, "values")


def field_problems(cfg: RunConfig) -> list[str]:
    """Every problem of cfg's values on their own (ranges, choices, fractions); nnlab.data.registry adds the rest."""
    problems = [p for name in RANGES if (p := _check_number(name, getattr(cfg, name), cfg.expert))]
    if (sizes := _sizes_problem(cfg.hidden_sizes, cfg.expert)) is not None:
        problems.append(sizes)
    for name, options in CHOICES.items():
        if getattr(cfg, name) not in options:
            problems.append(f"{LABELS[name]} {getattr(cfg, name)!r} is not one of {', '.join(options)}.")
    if bad_aug := [a for a in cfg.augment if a not in AUGMENTATIONS]:
        problems.append(f"Augmentation {', '.join(bad_aug)} is unknown; use {', '.join(AUGMENTATIONS)}.")
    if cfg.classical == "residual" and cfg.horizon > 1:
        problems.append(
            "--classical residual corrects a one-step forecast; use --horizon 1, or --classical blend or none."
        )
    if cfg.val_fraction + cfg.test_fraction >= 0.8:
        problems.append(
            "Validation and test fractions together leave too little to train on; keep their sum under 0.8."
        )
    return problems
