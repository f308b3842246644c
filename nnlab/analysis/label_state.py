"""Where a run's training-label check stands, as its folder records it (no numpy: the lab reads it on every
start, and listing runs must stay light)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from nnlab.core.errors import NNLabError
from nnlab.core.liveness import pid_alive
from nnlab.core.records import RunRecord
from nnlab.core.text import format_duration, plural
from nnlab.store.runs import RunStore


@dataclass(frozen=True)
class CheckState:
    """Where a run's label check stands, as its folder records it."""

    status: str  # "running", "finished", "stopped", "failed" (or "interrupted": its process is gone)
    folds: int
    epochs: int = 0
    fraction: float = 0.0
    elapsed_s: float = 0.0
    eta_s: float = 0.0
    reason: str = ""
    pid: int = 0
    started: float = 0.0

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckState:
        state = cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})
        if state.status == "running" and not pid_alive(state.pid):
            return CheckState(**{**asdict(state), "status": "interrupted", "reason": "Its process ended early."})
        return state

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def running(self) -> bool:
        return self.status == "running"

    def sentence(self) -> str:
        """Where the check is, for a person: progress and time left, or how it ended."""
        if self.running:
            return (
                f"Checking the training labels: {self.fraction:.0%} of {plural(self.folds, 'fold model')} trained, "
                f"about {format_duration(self.eta_s)} left."
            )
        if self.status == "finished":
            return (
                f"Training labels checked with {plural(self.folds, 'fold model')} in {format_duration(self.elapsed_s)}."
            )
        return f"The training-label check {self.status}: {self.reason or 'start it again.'}"


def check_state(store: RunStore, run_id: str) -> CheckState | None:
    """The training-label check's state, or None when it never ran."""
    state = store.folder(run_id).read_label_check()
    return CheckState.from_dict(state) if state else None


def classifier_results(store: RunStore, run_id: str) -> tuple[RunRecord, Any]:
    """The run's record and test results, refused in one sentence unless it is a classifier that wrote them."""
    rec = store.get(run_id)
    folder = store.folder(run_id)
    if not folder.has_results():
        raise NNLabError(f"Run {run_id} is {rec.status} and wrote no test results; label errors need a trained run.")
    res = folder.read_results()
    if res.task != "classification" or res.predictions.probs is None:
        raise NNLabError(f"Run {run_id} forecasts a series; label errors are found for classifiers only.")
    return rec, res
