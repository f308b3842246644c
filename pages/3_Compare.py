"""Compare runs: a filterable runs table, overlaid curves, hyperparameters against the score, config diff."""

import streamlit as st

from nnlab.compare import common_metric, config_diff, hyperparameter_frame, runs_table, task_of
from nnlab.errors import NNLabError
from nnlab.metrics import per_class_f1
from nnlab.plots import compare_curves_figure, confusion_diff_figure, f1_change_figure, parallel_figure
from nnlab.records import higher_is_better
from nnlab.ui import page_setup, show_error, store
from nnlab.ui.compare import filters, rerun_ui, runs_table_ui
from nnlab.ui.manage import delete_selected
from nnlab.ui.results import results_of

page_setup("Compare runs")
st.title("Compare runs")

records = store().list()
if not records:
    st.info("No runs yet: train a few models on the Train page, then compare them here.")
    st.stop()
by_id = {r.run_id: r for r in records}

shown = filters(runs_table(records))
st.caption(f"{len(shown)} of {len(records)} runs. Click a column header to sort; tick rows to compare them.")
selected = [by_id[i] for i in runs_table_ui(shown)]
if len(selected) == 1:
    rerun_ui(selected[0])
delete_selected(selected)

if selected:
    st.subheader("Validation curves", anchor=False)
    tasks = {task_of(r) for r in selected}
    if len(tasks) > 1:
        st.caption(
            "The selection mixes classifiers and forecasters: the right axis holds accuracy for some, RMSE for others."
        )
    histories = store().metrics_many([r.run_id for r in selected])
    st.plotly_chart(compare_curves_figure({k: v for k, v in histories.items() if v}, tasks.pop()), key="compare_curves")
else:
    st.info("Tick two or more runs in the table to overlay their curves and see what differs.")

st.subheader("Hyperparameters against the test score", anchor=False)
pool = selected if len(selected) >= 2 else list(shown["run"].map(by_id))
metric = common_metric(pool)
hp = hyperparameter_frame([r for r in pool if r.test_metric == metric]) if metric else None
if hp is None or hp.shape[1] < 2:
    st.caption(
        "Parallel coordinates appear once two or more runs scored by the same test metric differ in some setting."
    )
else:
    st.caption(
        f"{len(hp)} runs scored by test {metric} ({'higher' if higher_is_better(metric) else 'lower'} is better); "
        "drag along an axis to highlight a range."
    )
    st.plotly_chart(parallel_figure(hp, "test_value", f"test {metric}"), key="compare_parallel")

if len(selected) >= 2:
    st.subheader("Config differences", anchor=False)
    diff = config_diff(selected)
    if diff.empty:
        st.caption("The selected runs share every setting (only the random outcome differs).")
    else:
        st.dataframe(diff.astype(str), width="stretch")

if len(selected) == 2 and selected[0].dataset == selected[1].dataset:
    a, b = sorted(selected, key=lambda r: r.created)
    try:
        ra, rb = results_of(a), results_of(b)
    except NNLabError as exc:
        show_error(exc)
        ra = rb = None
    if ra and rb and ra.task == rb.task == "classification" and ra.classes == rb.classes:
        st.subheader(f"What changed from {a.run_id} to {b.run_id}", anchor=False)
        st.plotly_chart(
            f1_change_figure(per_class_f1(ra.report), per_class_f1(rb.report), a.run_id, b.run_id), key="compare_f1"
        )
        st.plotly_chart(
            confusion_diff_figure(ra.report["confusion"], rb.report["confusion"], ra.classes, a.run_id, b.run_id),
            key="compare_confusion_diff",
            width="content",
        )
