"""A run's possible label errors, read from its folder: the test split's (its own predictions are out of sample)
or the training and validation rows' (once the label check has trained its K fold models: nnlab.lab.labels).

Every front end reads a LabelReport built here: the command line's list and JSON, the Results page's badges and
gallery, the exclusion that retrains without them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnlab.analysis.label_issues import LabelIssues, find_label_issues
from nnlab.analysis.label_state import check_state, classifier_results
from nnlab.core.errors import NNLabError
from nnlab.core.text import plural
from nnlab.store.runs import RunStore

SPLITS = ("test", "train")  # "train": the training and validation rows
SHOWN_MAX = 2000  # viewable examples a check keeps: the mistaken rows with the lowest self-confidence
SPLIT_NAMES = ("training", "validation")  # the label check's split codes 0 and 1


@dataclass(frozen=True)
class LabelReport:
    """One split's possible label errors: ranked issues, each example's original row, and what to show of them."""

    run_id: str
    split: str  # "test" or "train"
    classes: list[str]
    issues: LabelIssues
    index: np.ndarray  # (N,) each example's original row in the data (its position where the run kept none)
    indexed: bool
    where: np.ndarray | None = None  # (N,) 0 training, 1 validation (split "train" only)
    examples: dict[str, np.ndarray] = field(default_factory=dict)  # viewable rows (split "train": some only)
    shown: np.ndarray | None = None  # (M,) positions the examples belong to (split "train"); None: all, in order
    files: np.ndarray | None = None  # (N,) each example's file, for a folder of images ("cat/img_017.jpg")

    @property
    def flagged_rows(self) -> np.ndarray:
        """The original rows of the flagged examples, most likely wrong first."""
        return self.index[self.issues.order]

    def viewable(self, position: int) -> int | None:
        """Where example `position` sits in `examples`, or None when it was not kept."""
        if self.shown is None:
            return position
        hit = np.flatnonzero(self.shown == position)
        return int(hit[0]) if len(hit) else None

    def name(self, position: int) -> str:
        """How example `position` is named to a reader: its file in a folder of images, else 'row 17'."""
        return str(self.files[position]) if self.files is not None else f"row {int(self.index[position])}"

    def rows(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The flagged examples as plain records (index: the original row; file: an image's file), most likely
        wrong first."""
        iss, out = self.issues, []
        for pos in iss.order[:limit]:
            row = {
                "index": int(self.index[pos]),
                **({"file": str(self.files[pos])} if self.files is not None else {}),
                "given": self.classes[int(iss.labels[pos])],
                "suggested": self.classes[int(iss.suggested[pos])],
                "self_confidence": round(float(iss.self_confidence[pos]), 4),
            }
            if self.where is not None:
                row["split"] = SPLIT_NAMES[int(self.where[pos])]
            out.append(row)
        return out

    def to_json(self) -> dict[str, Any]:
        """What `nnlab label-issues --json` prints."""
        return {
            "run_id": self.run_id,
            "split": self.split,
            "examples": len(self.index),
            "flagged": len(self.issues.order),
            "estimated_errors": self.issues.estimated_errors,
            "indices": [int(i) for i in self.flagged_rows],
            "indexed": self.indexed,
            "issues": self.rows(),
        }

    def sentence(self) -> str:
        """How many examples look mislabelled, for a person."""
        rows = "test examples" if self.split == "test" else "training and validation rows"
        return f"{plural(len(self.issues.order), 'possible label error')} among {len(self.index):,} {rows}."


def test_report(store: RunStore, run_id: str, rank_by: str = "self_confidence") -> LabelReport:
    """The test examples whose label is probably wrong (the run's own test probabilities are out of sample)."""
    _, res = classifier_results(store, run_id)
    p = res.predictions
    index = getattr(p, "index", None)
    rows = np.asarray(index) if index is not None else np.arange(len(p.y_true))
    issues = find_label_issues(p.y_true, p.probs, rank_by)
    ex = res.examples
    examples = {k: getattr(ex, k) for k in ("images", "texts", "rows") if getattr(ex, k) is not None}
    return LabelReport(run_id, "test", res.classes, issues, rows, index is not None, examples=examples, files=ex.files)


def train_report(store: RunStore, run_id: str, rank_by: str = "self_confidence") -> LabelReport:
    """The training and validation rows whose label is probably wrong, from the finished label check."""
    rec, res = classifier_results(store, run_id)
    state = check_state(store, run_id)
    if state is None or state.status != "finished":
        said = state.sentence() if state else "it has not been run."
        raise NNLabError(f"The training labels of run {run_id} are not checked yet: {said}")
    arrays = store.folder(run_id).read_label_probs()
    issues = find_label_issues(arrays["labels"], arrays["probs"], rank_by)
    examples = {k: arrays[k] for k in ("images", "texts", "rows") if k in arrays}
    return LabelReport(
        run_id,
        "train",
        res.classes,
        issues,
        arrays["index"],
        bool(arrays["indexed"]),
        arrays["split"],
        examples,
        arrays["shown"],
        arrays.get("files"),
    )


def label_report(store: RunStore, run_id: str, split: str = "test", rank_by: str = "self_confidence") -> LabelReport:
    """The test split's or the training rows' report (see SPLITS)."""
    if split not in SPLITS:
        raise NNLabError(f"--split must be test or train (got {split!r}).")
    return test_report(store, run_id, rank_by) if split == "test" else train_report(store, run_id, rank_by)


def shown_positions(labels: np.ndarray, probs: np.ndarray, limit: int = SHOWN_MAX) -> np.ndarray:
    """The positions whose examples a check keeps viewable: rows the models got wrong, lowest self-confidence
    first (every flagged row is one of them), at most `limit`."""
    wrong = np.flatnonzero(probs.argmax(1) != labels)
    conf = probs[wrong, labels[wrong]]
    return np.sort(wrong[np.argsort(conf, kind="stable")[:limit]])
