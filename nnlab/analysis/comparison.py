"""A two-way comparison of runs or seed groups on their test sets: the verdict, what differs, what flipped.

The command line, the Compare page and the exported HTML all read a TwoWay built here; nnlab.analysis.stats does the
statistics, nnlab.analysis.noise the per-example seed noise, nnlab.analysis.sides the resolving of what was named.
Sides whose every seed scored the same test rows (a split seed of their own) are compared on those rows with every
seed counted; sides that scored other rows (the split followed the seed) are compared unpaired, or seed by seed
where some of their runs share rows.
"""

from __future__ import annotations

import dataclasses
import filecmp
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnlab.analysis.groups import NOT_IN_GROUP_KEY
from nnlab.analysis.naming import data_title
from nnlab.analysis.noise import TAG_ORDER, TOWARD_A, TOWARD_B, ExampleNoise, example_noise
from nnlab.analysis.sides import (  # noqa: F401  (resolve and the member helpers are read from here too)
    Member,
    Side,
    abs_error,
    member,
    metric_of_results,
    resolve,
    shared_rows,
    test_fingerprint,
)
from nnlab.analysis.stats import (
    A_BETTER,
    B_BETTER,
    Verdict,
    compare_groups,
    compare_runs,
    compare_shared,
)
from nnlab.analysis.wording import arithmetic_notes, noise_line, p_text, sentence, signed
from nnlab.core.errors import NNLabError
from nnlab.core.records import RunRecord
from nnlab.store.runfolder import Results
from nnlab.store.runs import RunStore

JSON_KEYS = (
    "a",
    "b",
    "metric",
    "a_value",
    "a_ci",
    "b_value",
    "b_ci",
    "diff",
    "diff_ci",
    "test",
    "p_value",
    "verdict",
    "flipped_a_to_b",
    "flipped_b_to_a",
    "config_diff",
    "paired",
    "stable_a_to_b",
    "stable_b_to_a",
    "seed_noise",
    "noise_floor",
    "sentence",
)


@dataclass(frozen=True)
class Flips:
    """Test examples that lean to one side, each list stable flips first, then by how often that side wins, then
    the losing run's most confident mistake first. For one run a side: A right and B wrong (a_better), and the
    reverse; for forecasters "right" means the smaller absolute error."""

    a_better: np.ndarray  # positions in the shared test set
    b_better: np.ndarray


@dataclass(frozen=True)
class TwoWay:
    """Everything a two-way comparison shows."""

    a: Side
    b: Side
    verdict: Verdict
    config_diff: dict[str, tuple[Any, Any]]
    pair: tuple[Member, Member] | None  # the runs whose examples and confusion difference are shown
    flips: Flips | None  # None where the sides share no test rows
    noise: ExampleNoise | None = None  # per example over every seed that shares the test rows

    @property
    def sentence(self) -> str:
        """The verdict as a person reads it."""
        return verdict_sentence(self)

    def to_json(self) -> dict[str, Any]:
        """The machine-readable result, with exactly JSON_KEYS."""
        v, noise = self.verdict, self.noise
        out = {
            "a": self.a.name,
            "b": self.b.name,
            "metric": v.metric,
            "a_value": v.a_value,
            "a_ci": list(v.a_ci),
            "b_value": v.b_value,
            "b_ci": list(v.b_ci),
            "diff": v.diff,
            "diff_ci": list(v.diff_ci),
            "test": v.test,
            "p_value": v.p_value,
            "verdict": v.verdict,
            "flipped_a_to_b": None if self.flips is None else len(self.flips.a_better),
            "flipped_b_to_a": None if self.flips is None else len(self.flips.b_better),
            "config_diff": {k: {"a": _plain(x), "b": _plain(y)} for k, (x, y) in self.config_diff.items()},
            "paired": v.paired,
            "stable_a_to_b": None if noise is None else noise.rows(noise.stable_a_to_b),
            "stable_b_to_a": None if noise is None else noise.rows(noise.stable_b_to_a),
            "seed_noise": None if noise is None else noise.rows(noise.seed_noise),
            "noise_floor": None if noise is None else noise.noise_floor,
            "sentence": self.sentence,
        }
        assert tuple(out) == JSON_KEYS
        return out


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def example_tags(tw: TwoWay) -> np.ndarray | None:
    """Each shared test example's tag (noise.STABLE, SEED_NOISE, ONE_SEED, or "" where it did not flip), by
    position in the shared test set (tw.pair's runs' predictions and examples); None without shared rows."""
    return None if tw.noise is None else tw.noise.tag


def config_diff(a: Side, b: Side) -> dict[str, tuple[Any, Any]]:
    """The config fields whose values differ (for two groups, the seed and where they ran are left out)."""
    ca, cb = dataclasses.asdict(a.config), dataclasses.asdict(b.config)
    skip = NOT_IN_GROUP_KEY if a.is_group and b.is_group else ()
    return {k: (ca[k], cb[k]) for k in ca if ca[k] != cb.get(k) and k not in skip}


def _check_comparable(a: Side, b: Side) -> None:
    ra, rb = a.members[0].results, b.members[0].results
    if ra.task != rb.task:
        raise NNLabError(
            f"{a.name} is a {_task_word(ra)} and {b.name} a {_task_word(rb)}; compare two runs of one kind."
        )
    if a.config.dataset != b.config.dataset or not _same_data(a.config.data_path, b.config.data_path):
        da, db = data_title(a.config), data_title(b.config)
        if da == db:  # one file name in two folders: the folders tell them apart
            da, db = a.config.data_path or da, b.config.data_path or db
        raise NNLabError(
            f"{a.name} was tested on {da} and {b.name} on {db}; a verdict needs runs tested on the same data."
        )
    if ra.classes != rb.classes:
        raise NNLabError(f"{a.name} and {b.name} have different classes; a verdict needs the same test data.")
    both = {m.record.run_id for m in a.members} & {m.record.run_id for m in b.members}
    if both:
        raise NNLabError(f"Run {sorted(both)[0]} is on both sides; give A and B runs of their own.")


def _same_data(a: str, b: str) -> bool:
    """Whether two data paths hold the same data: one path, or two files of the same bytes (a file uploaded to the
    dashboard is kept in the workspace, so its runs name another path than the CLI's runs on the file itself)."""
    if a == b:
        return True
    fa, fb = Path(a).expanduser(), Path(b).expanduser()
    return fa.is_file() and fb.is_file() and filecmp.cmp(fa, fb, shallow=False)


def _task_word(res: Results) -> str:
    return "forecaster" if res.task == "regression" else "classifier"


def _verdict(metric: str, a: Side, b: Side, shared: bool) -> Verdict:
    """The fitting test: McNemar (or a paired permutation) for two runs; a t-test over seeds on shared rows; a
    bootstrap over seeds and examples, each side apart, for sides whose runs scored other rows (unpaired)."""
    va, vb = [m.values for m in a.members], [m.values for m in b.members]
    if len(va) == len(vb) == 1:
        return compare_runs(metric, va[0], vb[0], paired=shared)
    if not shared:
        return compare_groups(metric, va, vb)
    return compare_shared(metric, va, vb)


def _flips(noise: ExampleNoise, pair: tuple[Member, Member]) -> Flips:
    """The examples leaning to each side: stable first, then by share, then the loser's confidence."""
    ma, mb = pair

    def ordered(toward: int, loser: Member, winner: Member) -> np.ndarray:
        pos = np.flatnonzero((noise.toward == toward) & (noise.tag != ""))
        gap = noise.a_share - noise.b_share if toward == TOWARD_A else noise.b_share - noise.a_share
        conf = _confidence(loser, winner, pos)
        return pos[np.lexsort((-conf, -gap[pos], [TAG_ORDER[t] for t in noise.tag[pos]]))]

    return Flips(ordered(TOWARD_A, mb, ma), ordered(TOWARD_B, ma, mb))


def _confidence(loser: Member, winner: Member, pos: np.ndarray) -> np.ndarray:
    """How sure the losing run was of its answer (a classifier's probability; a forecaster's error gap)."""
    pl, pw = loser.results.predictions, winner.results.predictions
    if loser.results.task == "regression":
        return abs_error(pl)[pos] - abs_error(pw)[pos]
    if pl.probs is None:
        return np.zeros(len(pos))
    return pl.probs[pos, pl.y_pred[pos]]


def compare(
    store: RunStore, name_a: str, name_b: str, results: Callable[[RunRecord], Results | None] | None = None
) -> TwoWay:
    """The verdict of B against A, the config fields that differ, and the examples that flipped, tagged."""
    a, b = resolve(store, name_a, results, "A"), resolve(store, name_b, results, "B")
    _check_comparable(a, b)
    metric = metric_of_results(a.members[0].results)
    shared = shared_rows(a, b)
    verdict = _verdict(metric, a, b, shared)
    if not shared:
        return TwoWay(a, b, verdict, config_diff(a, b), None, None)
    index = a.members[0].results.predictions.index
    noise = example_noise(metric, [m.ranked for m in a.members], [m.ranked for m in b.members], index)
    pair = (a.members[0], b.members[0])
    return TwoWay(a, b, verdict, config_diff(a, b), pair, _flips(noise, pair), noise)


def cell_moves(ma: Member, mb: Member, true: int, pred: int) -> tuple[np.ndarray, np.ndarray]:
    """Examples of true class `true` that moved into cell (true, pred) from A to B, and those that moved out;
    each list with the most confident prediction in its new (into) or old (out of) cell first."""
    pa, pb = ma.results.predictions, mb.results.predictions
    row = pa.y_true == true
    into = np.flatnonzero(row & (pb.y_pred == pred) & (pa.y_pred != pred))
    out = np.flatnonzero(row & (pa.y_pred == pred) & (pb.y_pred != pred))
    return _sorted_by(into, pb.probs, pred), _sorted_by(out, pa.probs, pred)


def _sorted_by(idx: np.ndarray, probs: np.ndarray | None, col: int) -> np.ndarray:
    if probs is None or not len(idx):
        return idx
    return idx[np.argsort(-probs[idx, col], kind="stable")]


def error_gap_along_series(ma: Member, mb: Member) -> tuple[np.ndarray, np.ndarray]:
    """For forecasters: each test step's time and |error of B| - |error of A| (negative where B is closer)."""
    res = ma.results
    t = res.examples.t if res.examples.t is not None else np.arange(len(res.predictions.y_true))
    return np.asarray(t), abs_error(mb.results.predictions) - abs_error(ma.results.predictions)


def verdict_sentence(tw: TwoWay) -> str:
    """The verdict as a person reads it (see nnlab.analysis.wording.sentence)."""
    return sentence(tw.verdict, tw.noise)


def wants_more_seeds(tw: TwoWay) -> bool:
    """Whether a side has one seed, so that two more of each would measure the seed-noise floor."""
    return min(len(tw.a.members), len(tw.b.members)) < 2


def describe(tw: TwoWay) -> list[str]:
    """The verdict sentence first, then its evidence: the exact p-value and its test, each side's score, the
    difference, the seed-noise floor, and where the runs did not compute alike (the CLI prints these; the pages
    show them)."""
    v = tw.verdict
    unit, fmt = _unit(v.metric), _formatter(v.metric)
    ci = lambda c: f"[{signed(fmt, c[0], plus='')}, {signed(fmt, c[1], plus='')}]"  # noqa: E731
    return [
        tw.sentence,
        f"p = {p_text(v.p_value)} ({v.test}; {v.pairing}).",
        f"A {tw.a.name}: {unit} {fmt(v.a_value)} {ci(v.a_ci)}{_seeds(tw.a)}.",
        f"B {tw.b.name}: {unit} {fmt(v.b_value)} {ci(v.b_ci)}{_seeds(tw.b)}.",
        f"B − A: {signed(fmt, v.diff)} {ci(v.diff_ci)} (95% intervals).",
        noise_line(v.metric, tw.noise),
        *arithmetic_notes([m.record for m in tw.a.members], [m.record for m in tw.b.members]),
    ]


def _unit(metric: str) -> str:
    return "test RMSE" if metric == "rmse" else "test accuracy"


def _formatter(metric: str) -> Callable[[float], str]:
    return (lambda x: f"{x:.4g}") if metric == "rmse" else (lambda x: f"{x:.3f}")


def score_row(tw: TwoWay) -> tuple[str, str, str]:
    """("test accuracy", A's, B's) to head the differing fields: the side the verdict finds better is marked."""
    v, fmt = tw.verdict, _formatter(tw.verdict.metric)
    mark = {A_BETTER: (" (better)", ""), B_BETTER: ("", " (better)")}.get(v.verdict, ("", ""))
    return _unit(v.metric), fmt(v.a_value) + mark[0], fmt(v.b_value) + mark[1]


def _seeds(side: Side) -> str:
    n = len(side.members)
    return f", mean of {n} seed{'s' if n != 1 else ''}" if side.is_group else ""


def diff_rows(tw: TwoWay) -> list[tuple[str, str, str]]:
    """(field, A's value, B's value) of each differing config field, as text."""
    return [(k, _text(x), _text(y)) for k, (x, y) in tw.config_diff.items()]


def _text(value: Any) -> str:
    """A config value as a flag takes it; a float as the form shows it (0.000744714, not 0.0007447144904083078)."""
    if isinstance(value, float):
        return f"{value:g}"
    return ",".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)
