"""Findings of the data check: what was seen in the data, what nnlab did about it and how to change that, one
typed record each. Every front end shows the same records (the Train preview, the run page, Results, the report,
the command line's stderr and its --json); code reads their kind and severity, never their sentence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

INFO, WARNING = "info", "warning"  # what nnlab did; what looks wrong and may need the user
SEVERITIES = (WARNING, INFO)  # the order they are shown in

KINDS: dict[str, str] = {  # kind -> a short title
    "id_column": "ID-like column",
    "label_copy": "column that gives the label away",
    "constant": "constant columns",
    "duplicates": "duplicate rows",
    "leakage": "rows shared between training and test",
    "imbalance": "class imbalance",
    "missing": "missing values",
    "numbers": "how numbers were read",
    "columns": "columns dropped or ignored",
    "files": "unreadable files",
    "images": "image size and channels",
    "text": "text lengths and vocabulary",
    "series": "series spacing and season",
    "fitted": "values fitted to the data",
    "base": "classical forecaster the network corrects",
    "excluded": "rows left out of training",
    "note": "note",  # a sentence of a run recorded before findings were typed
}

IMBALANCE_RATIO = 3.0  # largest class over smallest at which the imbalance is strong: class weights turn on
WEIGHTS = ("auto", "on", "off")  # the class-weights setting: on where the imbalance is strong, always, never


@dataclass(frozen=True)
class Finding:
    """One thing the data check found: its kind (a key of KINDS), its severity and one sentence for people."""

    kind: str
    severity: str
    sentence: str

    @property
    def warns(self) -> bool:
        return self.severity == WARNING

    def to_json_dict(self) -> dict[str, Any]:
        """{"kind", "severity", "sentence"}: what the run's info.json and the command line's --json hold."""
        return {"kind": self.kind, "severity": self.severity, "sentence": self.sentence}

    @classmethod
    def from_json_dict(cls, d: dict[str, Any]) -> Finding:
        """The finding a to_json_dict() wrote."""
        return cls(str(d["kind"]), str(d["severity"]), str(d["sentence"]))


def info(kind: str, sentence: str) -> Finding:
    """A finding of what nnlab did (read, filled, dropped, chose)."""
    return Finding(kind, INFO, sentence)


def warning(kind: str, sentence: str) -> Finding:
    """A finding of what looks wrong with the data."""
    return Finding(kind, WARNING, sentence)


def ordered(findings: tuple[Finding, ...] | list[Finding]) -> tuple[Finding, ...]:
    """Warnings first, then what was done, each group in the order found."""
    return tuple(sorted(findings, key=lambda f: SEVERITIES.index(f.severity) if f.severity in SEVERITIES else 2))


def imbalance_ratio(counts: Any) -> float:
    """The largest class's count over the smallest's (inf where a class has none; 1 for fewer than two)."""
    counts = [int(c) for c in counts]
    if len(counts) < 2:
        return 1.0
    return max(counts) / min(counts) if min(counts) else float("inf")


def weights_on(setting: str, counts: Any) -> bool:
    """Whether class weights are used: setting "on", or "auto" where the training classes are strongly imbalanced
    (an old run's True and False read as on and off)."""
    if setting is True or setting == "on":
        return True
    return setting == "auto" and imbalance_ratio(counts) >= IMBALANCE_RATIO
