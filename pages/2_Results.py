"""Results of one run: test metrics, classification report, clickable confusion matrix, forecasts, downloads."""

import streamlit as st

from nnlab.core.errors import NNLabError
from nnlab.core.notes import run_findings
from nnlab.engine.metrics import per_class_f1
from nnlab.ui import findings_ui, md, page_setup, pick_run, show_error, store
from nnlab.ui.labels import label_errors_section, test_flags
from nnlab.ui.rename import run_heading
from nnlab.ui.results import (
    arithmetic_note,
    baselines_section,
    cell_examples_section,
    classification_report_table,
    confusion_section,
    confusion_width,
    downloads,
    live_view_link,
    metric_row,
    results_of,
)
from nnlab.views.plots import curves_figure, f1_figure
from nnlab.views.series_plots import forecast_vs_actual_figure, residuals_figure

page_setup("Results")
st.title("Results")

runs = store().list()
rec = pick_run(runs, label="Run")
if rec is None:
    if not runs:
        st.info("No runs yet: train a model on the Train page, then come back here.")
    st.stop()

run_heading(rec)
if rec.active:
    st.info(f"Run {rec.run_id} is {rec.status}; its results appear here when it ends.")
    live_view_link(rec.run_id)
    st.stop()
if rec.status in ("failed", "diverged"):
    show_error(rec.reason or f"Run {rec.run_id} {rec.status} before it wrote any results.")
    st.stop()

try:
    res = results_of(rec)
except NNLabError as exc:
    show_error(exc)
    st.stop()
if res is None:
    st.warning(
        f"Run {rec.run_id} is {rec.status} and wrote no test results; {md(rec.reason or 'resume it to finish.')}"
    )
    st.stop()
if rec.status == "stopped":
    st.caption(f"Stopped after {rec.epochs_done} of {rec.epochs_planned} epochs; these are the best weights so far.")

metric_row(res)
arithmetic_note(rec)
findings_ui(run_findings(rec, res.facts))

if res.task == "regression":
    p, e = res.predictions, res.examples
    t = e.t if e.t is not None else range(len(p.y_true))
    st.subheader("Forecast against actual", anchor=False)
    st.plotly_chart(forecast_vs_actual_figure(t, p.y_true, p.y_pred, p.naive, e.series), key="results_forecast")
    st.subheader("Residuals", anchor=False)
    st.plotly_chart(residuals_figure(t, p.y_true, p.y_pred, p.naive), key="results_residuals")
    baselines_section(rec, res)
else:
    # side by side where they fit, one under the other on narrow windows (the matrix keeps its size)
    with st.container(horizontal=True, gap="large"):
        with st.container(width=confusion_width(res)):
            st.subheader("Confusion matrix", anchor=False)
            cell = confusion_section(res)
        with st.container(width="stretch"):
            st.subheader("Classification report", anchor=False)
            classification_report_table(res)
            st.plotly_chart(f1_figure(per_class_f1(res.report)), key="results_f1")
    if cell is not None:
        cell_examples_section(res, cell, test_flags(res, rec))
    label_errors_section(rec, res, runs)

history = store().metrics(rec.run_id)
if history:  # below the confusion matrix: its cells stay the page's first Plotly points
    with st.expander("Training curves", expanded=False):
        st.plotly_chart(curves_figure(history, res.task), key="results_curves")

st.subheader("Downloads", anchor=False)
downloads(rec, res)
