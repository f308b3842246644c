"""A two-way verdict in words: the sentence a person reads first, the exact p-value, the seed-noise floor, and
where the runs compared did not compute alike. Pieces only; nnlab.analysis.comparison puts them together."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from nnlab.analysis.noise import ExampleNoise
from nnlab.analysis.stats import A_BETTER, B_BETTER, Verdict
from nnlab.core.arithmetic import changes, recorded
from nnlab.core.records import RunRecord
from nnlab.core.text import plural

HEADS = {B_BETTER: "B is better", A_BETTER: "A is better"}
NO_DIFFERENCE_HEAD = "No difference the test rows can show"


def p_text(p: float) -> str:
    """The exact p-value: "0.012", "3.1e-05"."""
    return f"{p:.2g}" if p < 0.001 else f"{p:.3f}"


def _size(metric: str, x: float) -> str:
    """A difference or spread in the metric's units: points of accuracy, or RMSE."""
    return f"{x * 100:.1f}" if metric == "accuracy" else f"{x:.4g}"


def signed(fmt: Callable[[float], str], x: float, plus: str = "+") -> str:
    """x with its sign as written: "+2.1", "−0.4"; a value that rounds to zero takes `plus` ("+0.0", never "−0.0")."""
    text = fmt(abs(x))
    return (plus if x >= 0 or float(text) == 0 else "−") + text


def _signed(metric: str, x: float, plus: str = "+") -> str:
    return signed(lambda v: _size(metric, v), x, plus)


def _flip(n: int, thing: str) -> str:
    """'1 example flips', '3 examples flip'."""
    return plural(n, thing) + (" flips" if n == 1 else " flip")


def _difference(v: Verdict) -> str:
    """ "+2.1 points [1.2, 3.0]" or "RMSE −0.012 [−0.02, −0.004]", with the seed spread where it is known."""
    lo, hi = (_signed(v.metric, c, plus="") for c in v.diff_ci)
    unit = " points" if v.metric == "accuracy" else ""
    text = f"{'RMSE ' if v.metric == 'rmse' else ''}{_signed(v.metric, v.diff)}{unit} [{lo}, {hi}]"
    if v.seed_spread is not None:
        relation = "larger than" if abs(v.diff) > v.seed_spread else "within"
        text += f", {relation} the seed spread ({_size(v.metric, v.seed_spread)})"
    return text


def _flips(metric: str, noise: ExampleNoise | None) -> str:
    """How many examples flip toward each side, and with the seed alone (or why that is not known)."""
    thing = "test step" if metric == "rmse" else "example"
    if noise is None:
        return f"the sides scored different test rows (their splits differ), so no {thing} is compared one to one"
    if noise.one_seed:
        toward = [int(((noise.toward == d) & (noise.tag != "")).sum()) for d in (1, -1)]
        floor = (
            "the seed-noise floor is unknown with one seed on a side"
            if noise.noise_floor is None
            else f"with one seed on a side no flip can be told from seed noise (floor {noise.noise_floor:.1f})"
        )
        return f"{_flip(toward[0], thing)} toward B, {toward[1]} toward A; {floor}"
    b, a, k = len(noise.stable_b_to_a), len(noise.stable_a_to_b), len(noise.seed_noise)
    return f"{_flip(b, thing)} toward B in every seed, {a} toward A; {_flip(k, 'other')} with the seed alone"


def sentence(v: Verdict, noise: ExampleNoise | None) -> str:
    """The verdict as a person reads it, e.g. "B is better: +2.1 points [1.2, 3.0], larger than the seed spread
    (0.6); 187 examples flip toward B in every seed, 41 toward A; 63 others flip with the seed alone"."""
    return f"{HEADS.get(v.verdict, NO_DIFFERENCE_HEAD)}: {_difference(v)}; {_flips(v.metric, noise)}."


def noise_line(metric: str, noise: ExampleNoise | None) -> str:
    """The seed-noise floor in a sentence."""
    things = "test steps" if metric == "rmse" else "test examples"
    if noise is None:
        return "Seed-noise floor: not measured, the sides share no test rows."
    if noise.noise_floor is None:
        return "Seed-noise floor: unknown, each side has one seed; two more seeds of each would measure it."
    a, b = noise.seeds
    return (
        f"Seed-noise floor: two seeds of one config disagree on {noise.noise_floor:.1f} {things} on average "
        f"({a} + {b} seeds on the shared rows)."
    )


def _used(records: Sequence[RunRecord]) -> set[str]:
    return {u.text for r in records if (u := recorded(r.summary)) is not None and u.device}


def arithmetic_notes(a: Sequence[RunRecord], b: Sequence[RunRecord]) -> list[str]:
    """Sentences where the runs compared did not compute alike: other threads, device or precision between or
    within the sides, or a resume that had to use something else."""
    ua, ub = _used(a), _used(b)
    notes = [
        f"{side}'s seeds trained with different arithmetic ({' and '.join(sorted(u))}): their spread includes it."
        for side, u in (("A", ua), ("B", ub))
        if len(u) > 1
    ]
    if len(ua) == len(ub) == 1 and ua != ub:
        notes.append(
            f"A trained with {next(iter(ua))} and B with {next(iter(ub))}: rounding differs between them, a small "
            "part of any difference."
        )
    for rec in (*a, *b):
        notes += [f"Run {rec.run_id}: {c.sentence}" for c in changes(rec.summary)]
    return notes
