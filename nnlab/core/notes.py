"""What nnlab did to the user's data, and what looks wrong with it, as sentences: one source for the
Train form's preview, the run's page and the report."""

from __future__ import annotations

from dataclasses import dataclass

from nnlab.core.config import RunConfig
from nnlab.core.facts import DataFacts
from nnlab.core.fitted import fit_notes
from nnlab.core.records import RunRecord


@dataclass(frozen=True)
class DataNotes:
    """done: what was changed or chosen (a dropped index column, filled blanks, a fitted batch size);
    warnings: what looks wrong and may need the user (an ID column, a copy of the label, imbalance)."""

    done: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.done or self.warnings)


def run_notes(rec: RunRecord, info: DataFacts) -> DataNotes:
    """The notes of a run: its data's, and those of the values fitted to its training split."""
    return data_notes(info, rec.config, rec.summary.get("train_size"))


def data_notes(info: DataFacts, cfg: RunConfig, train_size: int | None) -> DataNotes:
    """The notes of a dataset's facts and of the values fitted to its training size for cfg."""
    fitted = fit_notes(cfg, train_size) if train_size else []
    return DataNotes(info.notes + tuple(fitted), info.warnings)
