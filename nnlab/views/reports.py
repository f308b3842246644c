"""The three offline reports built from a store by name: a run, a comparison of two runs or seed groups, a sweep.
Each returns (a safe file name, the HTML); front ends hand the HTML to a download button or to Lab.report."""

from __future__ import annotations

from nnlab.core.errors import NNLabError
from nnlab.store.runs import RunStore


def run_report(store: RunStore, run_id: str) -> tuple[str, str]:
    """The report of one run that has test results."""
    from nnlab.analysis.groups import no_such_run
    from nnlab.views.report import build_report, report_filename

    rec = store.find(run_id)
    if rec is None:
        instead = "report one of its runs, or compare the group with another: `report {group} OTHER`"
        raise NNLabError(no_such_run(store.list(), run_id, instead))
    folder = store.folder(run_id)
    if not folder.has_results():
        raise NNLabError(
            f"Run {run_id} is {rec.status} and has no test results; a report needs a run trained to the end."
        )
    return report_filename(rec), build_report(rec, folder.read_results(), store.metrics(run_id))


def comparison_report(store: RunStore, name_a: str, name_b: str) -> tuple[str, str]:
    """The report of B against A (run ids or seed group ids)."""
    from nnlab.analysis.comparison import compare
    from nnlab.views.comparison_report import build_comparison_report, comparison_filename

    tw = compare(store, name_a, name_b)
    histories = store.metrics_many([m.record.run_id for m in (*tw.a.members, *tw.b.members)])
    return comparison_filename(tw), build_comparison_report(tw, histories)


def sweep_report(store: RunStore, sweep_id: str) -> tuple[str, str]:
    """The report of a sweep, finished or not."""
    from nnlab.views.sweep_report import build_sweep_report, sweep_filename

    return sweep_filename(sweep_id), build_sweep_report(store, sweep_id)
