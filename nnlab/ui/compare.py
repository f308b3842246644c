"""The Compare page: the runs (or seed groups) table with filters, a verdict for two, curves with bands,
hyperparameters against the score, config differences, and the test examples that flipped."""

from __future__ import annotations

import streamlit as st

from nnlab.analysis.comparison import TwoWay
from nnlab.analysis.groups import group_hyperparameter_frame, groups_of, groups_table
from nnlab.analysis.naming import data_label
from nnlab.analysis.runs_table import common_metric, hyperparameter_frame, runs_table, scored_config_diff, task_of
from nnlab.core.records import RunRecord, higher_is_better
from nnlab.core.text import plural
from nnlab.engine.metrics import per_class_f1
from nnlab.ui import store
from nnlab.ui.comparison import flips_section, two_way, verdict_section
from nnlab.ui.keys import QUERY_A, QUERY_B
from nnlab.ui.manage import delete_selected
from nnlab.ui.rename import rename_popover
from nnlab.ui.runs_table import filters, group_toggle, groups_table_ui, rerun_ui, runs_table_ui, score_pool
from nnlab.views.comparison_plots import f1_change_figure, group_curves_figure
from nnlab.views.comparison_report import labelled_diff
from nnlab.views.runs_plots import parallel_figure

Members = dict[str, list[RunRecord]]  # a ticked run or group -> its runs


def compare_page() -> None:
    """The whole page, top to bottom."""
    st.title("Compare runs")
    records = store().list()
    if not records:
        st.info("No runs yet: train a few models on the Train page, then compare them here.")
        return
    grouped = group_toggle()
    visible, members = pick(records, grouped)
    tw = verdict(members, records)
    curves(members, grouped)
    hyperparameters(members, visible, grouped)
    if len(members) > 2 and not grouped:
        config_differences([r for runs in members.values() for r in runs])
    if tw is not None:
        flipped(tw)


def pick(records: list[RunRecord], grouped: bool) -> tuple[list[RunRecord], Members]:
    """The filtered table (of runs, or of groups of seeds) and what is ticked in it."""
    by_id = {r.run_id: r for r in records}
    shown = filters(runs_table(records))
    visible = [by_id[i] for i in shown["run"]]
    if grouped:
        groups = {g.group_id: g for g in groups_of(visible)}
        st.caption(
            f"{plural(len(groups), 'group')} of {plural(len(visible), 'run')}. Tick two groups for a verdict, more to overlay them."
        )
        chosen = groups_table_ui(groups_table(list(groups.values())))
        return visible, {gid: list(groups[gid].runs) for gid in chosen}
    st.caption(
        f"{len(shown)} of {plural(len(records), 'run')}. Click a column header to sort; tick two runs for a verdict."
    )
    chosen = runs_table_ui(shown) or _asked_pair(by_id)
    if len(chosen) == 1:
        rerun_ui(by_id[chosen[0]])
        rename_popover(by_id[chosen[0]])
    delete_selected([by_id[run_id] for run_id in chosen])
    return visible, {run_id: [by_id[run_id]] for run_id in chosen}


def _asked_pair(by_id: dict[str, RunRecord]) -> list[str]:
    """The two runs a link named (?a=RUN&b=RUN, from a retrained run's Results) while nothing is ticked."""
    pair = [st.query_params.get(QUERY_A), st.query_params.get(QUERY_B)]
    if not all(run_id in by_id for run_id in pair):
        return []
    st.caption(f"Comparing {pair[1]} with {pair[0]}, as the Results page asked; tick runs in the table for others.")
    return pair


def verdict(members: Members, records: list[RunRecord]) -> TwoWay | None:
    """B against A (the later against the earlier) when exactly two are ticked."""
    if len(members) != 2:
        return None
    a, b = sorted(members, key=lambda name: min(r.created for r in members[name]))
    st.subheader(f"B {b} against A {a}", anchor=False)
    tw = two_way(a, b, records)
    if tw is not None:
        verdict_section(tw)
    return tw


def curves(members: Members, grouped: bool) -> None:
    """The validation curves of what is ticked (each group's mean with a 95% band)."""
    if not members:
        st.info("Tick two runs (or groups) in the table for a verdict; tick more to overlay their curves.")
        return
    st.subheader("Validation curves" + (" (mean of each group's seeds, 95% band)" if grouped else ""), anchor=False)
    tasks = {task_of(r) for runs in members.values() for r in runs}
    if len(tasks) > 1:
        st.caption(
            "The selection mixes classifiers and forecasters: the right axis holds accuracy for some, RMSE for others."
        )
    histories = store().metrics_many([r.run_id for runs in members.values() for r in runs])
    lines = {name: [histories[r.run_id] for r in runs if histories[r.run_id]] for name, runs in members.items()}
    st.plotly_chart(group_curves_figure({k: v for k, v in lines.items() if v}, tasks.pop()), key="compare_curves")


def hyperparameters(members: Members, visible: list[RunRecord], grouped: bool) -> None:
    """Parallel coordinates of the settings against the test value (of the ticked runs, else the visible ones)."""
    st.subheader("Hyperparameters against the test value", anchor=False)
    pool = score_pool([r for runs in members.values() for r in runs] if len(members) >= 2 else visible)
    metric = common_metric(pool)
    pool = [r for r in pool if r.test_metric == metric]
    hp = (group_hyperparameter_frame(groups_of(pool)) if grouped else hyperparameter_frame(pool)) if metric else None
    if hp is None or hp.shape[1] < 2:
        st.caption("Parallel coordinates appear once two or more scored runs of one dataset differ in some setting.")
        return
    unit = "groups (mean over seeds)" if grouped else "runs"
    better = "higher" if higher_is_better(metric) else "lower"
    st.caption(
        f"{len(hp)} {unit} on {data_label(pool[0].config)}, scored by test {metric} ({better} is better); "
        "drag along an axis to highlight a range."
    )
    st.plotly_chart(parallel_figure(hp, "test_value", f"test {metric}"), key="compare_parallel")


def config_differences(runs: list[RunRecord]) -> None:
    """The test score and the settings that differ, one row per ticked run."""
    st.subheader("Test score and config differences", anchor=False)
    diff = labelled_diff(scored_config_diff(runs), runs)
    st.dataframe(diff, width="stretch")
    if len(diff) == 1:
        st.caption("The selected runs share every setting (only the random outcome differs).")


def flipped(tw: TwoWay) -> None:
    """Per-class F1 change and the examples that flipped between A and B."""
    st.subheader("What flipped between A and B", anchor=False)
    if tw.pair is not None and tw.pair[0].results.task == "classification":
        ra, rb = tw.pair[0].results, tw.pair[1].results
        names = (tw.pair[0].record.run_id, tw.pair[1].record.run_id)
        st.plotly_chart(f1_change_figure(per_class_f1(ra.report), per_class_f1(rb.report), *names), key="compare_f1")
    flips_section(tw)
