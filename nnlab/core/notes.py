"""The findings of a run or a preview: the data check's (kept in the data's facts) and those of the values fitted
to the training split. One source for the Train form's preview, the run's page, Results, the report and the
command line."""

from __future__ import annotations

from nnlab.core.config import RunConfig
from nnlab.core.facts import DataFacts
from nnlab.core.findings import Finding, ordered
from nnlab.core.fitted import fit_findings
from nnlab.core.records import RunRecord


def run_findings(rec: RunRecord, facts: DataFacts) -> tuple[Finding, ...]:
    """A run's findings: its data's, and those of the values fitted to its training split; warnings first."""
    return data_findings(facts, rec.config, rec.summary.get("train_size"))


def data_findings(facts: DataFacts, cfg: RunConfig, train_size: int | None) -> tuple[Finding, ...]:
    """A dataset's findings and those of the values fitted to its training size for cfg; warnings first."""
    fitted = fit_findings(cfg, train_size) if train_size else []
    return ordered((*facts.findings, *fitted))
