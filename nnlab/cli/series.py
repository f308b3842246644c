"""What the command line says of a series run beside the classical forecasters (nnlab.analysis.baselines)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nnlab.core.records import RunRecord
from nnlab.store.runs import RunStore


def series_summary(rec: RunRecord) -> dict[str, Any]:
    """What a series run adds to the command line's JSON summary: each classical forecaster's test RMSE."""
    return {"baselines": rec.summary["baselines"]} if "baselines" in rec.summary else {}


def say_baselines(store: RunStore, records: list[RunRecord], say: Callable[[str], None]) -> None:
    """Each series run's verdict against the classical forecasters fit on its training part, through say (stderr)."""
    from nnlab.analysis.baselines import baseline_test, baseline_verdict, blend_sentence, has_baselines

    for rec in records:
        folder = store.folder(rec.run_id)
        if "baselines" in rec.summary and folder.has_results():
            res = folder.read_results()
            report = res.report
            verdict = baseline_verdict(report, baseline_test(res)) if has_baselines(report) else ""
            for said in (blend_sentence(report), verdict):
                if said:
                    say(said)
