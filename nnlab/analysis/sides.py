"""The two sides of a comparison: what the user named (a run, a group of seeds, or a comma-separated list of run
ids) resolved to finished runs with their test results, and which of them scored the same test rows."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlab.analysis.groups import GROUP_PREFIX, find_group, group_id
from nnlab.analysis.stats import per_example
from nnlab.core.errors import NNLabError
from nnlab.core.records import RunRecord
from nnlab.store.runfolder import Results
from nnlab.store.runs import RunStore


@dataclass(frozen=True)
class Member:
    """One finished run of a side, with its test results and per-example values."""

    record: RunRecord
    results: Results
    fingerprint: str  # equal for runs that scored the same test examples in the same order
    values: np.ndarray  # per test example: 1/0 correct, or squared error
    rows: str | None = None  # a hash of the test rows' original indices and labels; None where none were kept

    @property
    def ranked(self) -> np.ndarray:
        """What decides which of two runs does better on each example: 1/0 right, or the absolute error."""
        return abs_error(self.results.predictions) if self.results.task == "regression" else self.values


@dataclass(frozen=True)
class Side:
    """What the user named: one run, a group of seeds, or a list of runs."""

    name: str
    members: tuple[Member, ...]

    @property
    def is_group(self) -> bool:
        """Several seeds (a group id or a list of runs), even where only one of them has finished."""
        return self.name.startswith(GROUP_PREFIX) or "," in self.name or len(self.members) > 1

    @property
    def config(self) -> Any:
        return self.members[0].record.config


def abs_error(p: Any) -> np.ndarray:
    """Each forecast's absolute error, averaged over its horizon: (N,)."""
    err = np.abs(np.asarray(p.y_pred, dtype=np.float64) - np.asarray(p.y_true, dtype=np.float64))
    return err.reshape(len(err), -1).mean(axis=1)


def metric_of_results(res: Results) -> str:
    """The headline test metric of a run's results: accuracy for classifiers, rmse for forecasters."""
    return "rmse" if res.task == "regression" else "accuracy"


def test_fingerprint(res: Results) -> str:
    """A hash of the test set a run scored (true values and the viewable examples): equal means paired. It reads
    the content, not the stored index, so a run made before the index existed pairs with one made after.

    A forecaster's test set is its series and the time steps it forecast (examples `series` and `t`); its true
    values are left out, since a run rebuilds them from scaled changes and their last bits differ with what the
    changes were taken from (the last value, or a classical base)."""
    h = hashlib.sha1()
    forecast = res.examples.series is not None and res.examples.t is not None
    arrays = ({} if forecast else {"y_true": res.predictions.y_true}) | {
        f.name: getattr(res.examples, f.name) for f in dataclasses.fields(res.examples)
    }
    for name, arr in sorted(arrays.items()):
        if arr is not None:
            h.update(name.encode())
            h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def test_rows(res: Results) -> str | None:
    """A hash of a classifier's test rows (their original indices in the data, and labels): equal on the same data
    means the same test examples, whatever columns each run read (--keep-ids) or size it gave its images. None for a
    forecaster, whose test steps its fingerprint tells, and for a run saved before the indices were kept."""
    p = res.predictions
    if p.index is None or res.task == "regression":
        return None
    h = hashlib.sha1()
    for arr in (p.index, p.y_true):
        h.update(np.ascontiguousarray(arr, dtype=np.int64).tobytes())
    return h.hexdigest()


def member(rec: RunRecord, res: Results) -> Member:
    """A run with results as a side's member."""
    p = res.predictions
    values = per_example(metric_of_results(res), p.y_true, p.y_pred)
    return Member(rec, res, test_fingerprint(res), values, test_rows(res))


def _stored_results(store: RunStore, rec: RunRecord) -> Results | None:
    folder = store.folder(rec.run_id)
    return folder.read_results() if folder.has_results() else None


def _listed(store: RunStore, name: str, flag: str) -> tuple[RunRecord, ...]:
    """The runs of a comma-separated list, refused unless they are seeds of one config."""
    runs = []
    for run_id in dict.fromkeys(x.strip() for x in name.split(",") if x.strip()):
        rec = store.find(run_id)
        if rec is None:
            raise NNLabError(f"{flag} lists {run_id}, which is not a run id in the store at {store.root}.")
        runs.append(rec)
    if len({group_id(r.config) for r in runs}) > 1:
        raise NNLabError(
            f"The runs listed as {flag} differ in more than their seed; list seeds of one config (one group)."
        )
    return tuple(runs)


def resolve(
    store: RunStore, name: str, results: Callable[[RunRecord], Results | None] | None = None, flag: str = "A"
) -> Side:
    """The run, group or list of runs called `name`, with the members that have test results (`results` may
    cache). Every run of a list must have them; a group's seeds that did not train to their end are left out (a
    stopped seed's test score is of a model cut short)."""
    load = results or (lambda r: _stored_results(store, r))
    group = find_group(store.list(), name) if "," not in name else None
    if "," in name:
        runs = _listed(store, name, flag)
    elif group is not None:
        runs = group.scored
    else:
        rec = store.find(name)
        if rec is None:
            raise NNLabError(f"{flag} {name} is neither a run id nor a group id (g-…) in the store at {store.root}.")
        runs = (rec,)
    loaded = [(r, load(r)) for r in runs]
    missing = [r.run_id for r, res in loaded if res is None]
    if "," in name and missing:
        raise NNLabError(f"Run {missing[0]} of {flag} has no test results yet; train it to the end first.")
    members = tuple(member(r, res) for r, res in loaded if res is not None)
    if not members:
        raise NNLabError(f"{flag} {name} has no finished run with test results yet; train it to the end first.")
    return Side(group.group_id if group is not None else name.replace(" ", ""), members)


def shared_rows(a: Side, b: Side) -> bool:
    """Whether every run of both sides scored the same test rows in the same order (a split seed of their own);
    where the split followed the seed, or the sides' data differ, they did not. Told by the rows' original indices
    where every run kept them (the data itself is checked apart), else by what the runs scored."""
    members = (*a.members, *b.members)
    rows = {m.rows for m in members}
    return len(rows) == 1 if None not in rows else len({m.fingerprint for m in members}) == 1
