"""A two-way comparison of runs or seed groups on their test sets: the verdict, what differs, what flipped.

The command line, the Compare page and the exported HTML all read a TwoWay built here; nnlab.analysis.stats does the
statistics. Flipped examples come from one pair of runs that scored the same test examples (for groups,
the first seed both sides share a test set on).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlab.analysis.groups import GROUP_PREFIX, NOT_IN_GROUP_KEY, find_group
from nnlab.analysis.stats import A_BETTER, B_BETTER, Verdict, compare_groups, compare_runs, per_example
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
)


@dataclass(frozen=True)
class Member:
    """One finished run of a side, with its test results and per-example values."""

    record: RunRecord
    results: Results
    fingerprint: str  # equal for runs that scored the same test examples in the same order
    values: np.ndarray  # per test example: 1/0 correct, or squared error


@dataclass(frozen=True)
class Side:
    """What the user named: one run, or a group of seeds."""

    name: str
    members: tuple[Member, ...]

    @property
    def is_group(self) -> bool:
        return self.name.startswith(GROUP_PREFIX)

    @property
    def config(self) -> Any:
        return self.members[0].record.config


@dataclass(frozen=True)
class Flips:
    """Test examples one run got right and the other wrong, each list most confident mistake first.

    For forecasters "right" means the smaller absolute error: a_better lists where A's error is lower."""

    a_better: np.ndarray  # indices into the test set: "A right, B wrong"
    b_better: np.ndarray  # "B right, A wrong"


@dataclass(frozen=True)
class TwoWay:
    """Everything a two-way comparison shows."""

    a: Side
    b: Side
    verdict: Verdict
    config_diff: dict[str, tuple[Any, Any]]
    pair: tuple[Member, Member] | None  # the runs whose examples are shown; None without a shared test set
    flips: Flips | None

    def to_json(self) -> dict[str, Any]:
        """The machine-readable result, with exactly JSON_KEYS."""
        v = self.verdict
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
        }
        assert tuple(out) == JSON_KEYS
        return out


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def metric_of_results(res: Results) -> str:
    """The headline test metric of a run's results: accuracy for classifiers, rmse for forecasters."""
    return "rmse" if res.task == "regression" else "accuracy"


def test_fingerprint(res: Results) -> str:
    """A hash of the test set a run scored (true values and the viewable examples): equal means paired."""
    h = hashlib.sha1()
    arrays = {"y_true": res.predictions.y_true} | {
        f.name: getattr(res.examples, f.name) for f in dataclasses.fields(res.examples)
    }
    for name, arr in sorted(arrays.items()):
        if arr is not None:
            h.update(name.encode())
            h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def member(rec: RunRecord, res: Results) -> Member:
    """A run with results as a side's member."""
    p = res.predictions
    return Member(rec, res, test_fingerprint(res), per_example(metric_of_results(res), p.y_true, p.y_pred))


def resolve(
    store: RunStore, name: str, results: Callable[[RunRecord], Results | None] | None = None, flag: str = "A"
) -> Side:
    """The run or group called `name`, with the members that have test results (`results` may cache)."""
    load = results or (lambda r: _stored_results(store, r))
    records = store.list()
    group = find_group(records, name)
    if group is not None:
        runs = group.runs
    else:
        rec = store.find(name)
        if rec is None:
            raise NNLabError(f"{flag} {name} is neither a run id nor a group id (g-…) in the store at {store.root}.")
        runs = (rec,)
    members = tuple(member(r, res) for r in runs if (res := load(r)) is not None)
    if not members:
        raise NNLabError(f"{flag} {name} has no finished run with test results yet; train it to the end first.")
    return Side(group.group_id if group is not None else name, members)


def _stored_results(store: RunStore, rec: RunRecord) -> Results | None:
    folder = store.folder(rec.run_id)
    return folder.read_results() if folder.has_results() else None


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
    da, db = a.config.dataset, b.config.dataset
    if da != db or a.config.data_path != b.config.data_path:
        raise NNLabError(
            f"{a.name} was tested on {da} and {b.name} on {db}; a verdict needs runs tested on the same data."
        )
    if ra.classes != rb.classes:
        raise NNLabError(f"{a.name} and {b.name} have different classes; a verdict needs the same test data.")


def _task_word(res: Results) -> str:
    return "forecaster" if res.task == "regression" else "classifier"


def matched_pairs(a: Side, b: Side) -> list[tuple[int, int]]:
    """(i, j) of members that scored the same test set, each member used once, in seed order."""
    free = list(range(len(b.members)))
    pairs = []
    for i, m in enumerate(a.members):
        j = next((j for j in free if b.members[j].fingerprint == m.fingerprint), None)
        if j is not None:
            pairs.append((i, j))
            free.remove(j)
    return pairs


def flipped(ma: Member, mb: Member) -> Flips:
    """Examples A got right and B wrong, and the reverse, each sorted with the loser's most confident first."""
    pa, pb = ma.results.predictions, mb.results.predictions
    if ma.results.task == "regression":
        ea, eb = _abs_error(pa), _abs_error(pb)
        a_better, b_better = np.flatnonzero(ea < eb), np.flatnonzero(eb < ea)
        gap = np.abs(eb - ea)
        return Flips(
            a_better[np.argsort(-gap[a_better], kind="stable")], b_better[np.argsort(-gap[b_better], kind="stable")]
        )
    ra, rb = pa.y_pred == pa.y_true, pb.y_pred == pb.y_true
    return Flips(_by_confidence(np.flatnonzero(ra & ~rb), pb), _by_confidence(np.flatnonzero(rb & ~ra), pa))


def _abs_error(p: Any) -> np.ndarray:
    err = np.abs(np.asarray(p.y_pred, dtype=np.float64) - np.asarray(p.y_true, dtype=np.float64))
    return err.reshape(len(err), -1).mean(axis=1)


def _by_confidence(idx: np.ndarray, loser: Any) -> np.ndarray:
    """Indices sorted by the wrong run's probability of its wrong answer, highest first."""
    if loser.probs is None or not len(idx):
        return idx
    conf = loser.probs[idx, loser.y_pred[idx]]
    return idx[np.argsort(-conf, kind="stable")]


def compare(
    store: RunStore, name_a: str, name_b: str, results: Callable[[RunRecord], Results | None] | None = None
) -> TwoWay:
    """The verdict of B against A, the config fields that differ, and the examples that flipped."""
    a, b = resolve(store, name_a, results, "A"), resolve(store, name_b, results, "B")
    _check_comparable(a, b)
    metric = metric_of_results(a.members[0].results)
    pairs = matched_pairs(a, b)
    if not a.is_group and not b.is_group:
        verdict = compare_runs(metric, a.members[0].values, b.members[0].values, paired=bool(pairs))
    else:
        verdict = compare_groups(metric, [m.values for m in a.members], [m.values for m in b.members], pairs)
    pair = (a.members[pairs[0][0]], b.members[pairs[0][1]]) if pairs else None
    return TwoWay(a, b, verdict, config_diff(a, b), pair, flipped(*pair) if pair else None)


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
    return np.asarray(t), _abs_error(mb.results.predictions) - _abs_error(ma.results.predictions)


def describe(tw: TwoWay) -> list[str]:
    """The verdict and its evidence as a few sentences (the CLI prints them; the pages show them)."""
    v = tw.verdict
    unit, fmt = _unit(v.metric), _formatter(v.metric)
    ci = lambda c: f"[{fmt(c[0])}, {fmt(c[1])}]"  # noqa: E731
    lines = [
        f"{v.verdict[0].upper()}{v.verdict[1:]} (p {_p_text(v.p_value)}, {v.test}).",
        f"A {tw.a.name}: {unit} {fmt(v.a_value)} {ci(v.a_ci)}{_seeds(tw.a)}.",
        f"B {tw.b.name}: {unit} {fmt(v.b_value)} {ci(v.b_ci)}{_seeds(tw.b)}.",
        f"B − A: {'+' if v.diff >= 0 else '−'}{fmt(abs(v.diff))} {ci(v.diff_ci)} (95% intervals; {v.pairing}).",
    ]
    if tw.flips is not None:
        right = "closer" if v.metric == "rmse" else "right"
        lines.append(
            f"Flipped examples: {len(tw.flips.a_better)} A {right}, B {'not' if right == 'closer' else 'wrong'}; "
            f"{len(tw.flips.b_better)} B {right}, A {'not' if right == 'closer' else 'wrong'}."
        )
    else:
        lines.append("No flipped examples: the two sides were tested on different splits (other seeds).")
    return lines


def _unit(metric: str) -> str:
    return "test RMSE" if metric == "rmse" else "test accuracy"


def _formatter(metric: str) -> Callable[[float], str]:
    return (lambda x: f"{x:.4g}") if metric == "rmse" else (lambda x: f"{x:.3f}")


def score_row(tw: TwoWay) -> tuple[str, str, str]:
    """("test accuracy", A's, B's) to head the differing fields: the side the verdict finds better is marked."""
    v, fmt = tw.verdict, _formatter(tw.verdict.metric)
    mark = {A_BETTER: (" (better)", ""), B_BETTER: ("", " (better)")}.get(v.verdict, ("", ""))
    return _unit(v.metric), fmt(v.a_value) + mark[0], fmt(v.b_value) + mark[1]


def _p_text(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _seeds(side: Side) -> str:
    n = len(side.members)
    return f", mean of {n} seed{'s' if n != 1 else ''}" if side.is_group else ""


def diff_rows(tw: TwoWay) -> list[tuple[str, str, str]]:
    """(field, A's value, B's value) of each differing config field, as text."""
    return [(k, _text(x), _text(y)) for k, (x, y) in tw.config_diff.items()]


def _text(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)
