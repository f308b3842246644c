"""Streamlit pieces of a classifier's possible label errors on the Results page: a badge for the gallery captions,
the gallery of the test examples whose label looks wrong, the training-label check (started through the lab in a
background process, its progress read from the run's folder), its gallery, and "exclude these and retrain"."""

from __future__ import annotations

import dataclasses

import numpy as np
import streamlit as st

from nnlab.analysis.label_report import LabelReport, check_state, label_report
from nnlab.core.errors import NNLabError
from nnlab.core.records import RunRecord
from nnlab.core.text import format_duration, plural
from nnlab.lab.labels import DEFAULT_FOLDS, RETRAINED_FROM
from nnlab.store.runfolder import Examples, Results
from nnlab.ui import COMPARE_PAGE, TRAIN_PAGE, flash, go, lab, md, show_error, store
from nnlab.ui.keys import KEY_LABEL_TABS, QUERY_A, QUERY_B
from nnlab.ui.results import example_cards
from nnlab.views.report_words import form_words

SHOWN = 48  # examples per gallery
POLL_S = 2.0  # how often a running check's progress is read
TABS = ("Test examples", "Training and validation examples")


@st.cache_data(show_spinner=False, max_entries=16)
def _report(run_id: str, split: str, stamp: float) -> LabelReport:
    return label_report(store(), run_id, split)


def test_flags(res: Results, rec: RunRecord) -> np.ndarray:
    """(N,) whether each test example's label looks wrong (all False for a forecaster)."""
    if res.task != "classification" or res.predictions.probs is None:
        return np.zeros(len(res.predictions.y_true), dtype=bool)
    return _report(rec.run_id, "test", rec.updated).issues.flagged


def label_errors_section(rec: RunRecord, res: Results, records: list[RunRecord]) -> None:
    """Possible label errors: the test examples', and the training rows' once checked (with exclude and retrain)."""
    st.subheader("Possible label errors", anchor=False)
    st.caption(
        "Examples whose given label a model that never trained on them confidently disagrees with (confident "
        "learning): worth a look before trusting the label, or the score."
    )
    _retrained_links(rec, records)
    # tracked, so the tab stays open over reruns: the check's button, its progress and its end each rerun the page
    key = KEY_LABEL_TABS.format(run=rec.run_id)
    test_tab, train_tab = st.tabs(list(TABS), key=key, on_change="rerun")
    with test_tab:
        _gallery(res, _report(rec.run_id, "test", rec.updated))
    with train_tab:
        _training(rec, res)


def _captions(report: LabelReport, positions: np.ndarray) -> list[str]:
    iss, names = report.issues, report.classes
    return [
        f"{report.name(int(p))} · labelled {names[int(iss.labels[p])]} · model: {names[int(iss.suggested[p])]} "
        f"(p(label) {iss.self_confidence[p]:.0%})"
        for p in positions
    ]


def _gallery(res: Results, report: LabelReport) -> None:
    """The flagged examples of a report as thumbnails, reviews or rows, most likely wrong first."""
    st.markdown(md(report.sentence()))
    order = report.issues.order
    if not len(order):
        return
    kept = [(p, report.viewable(int(p))) for p in order]
    kept = [(p, v) for p, v in kept if v is not None][:SHOWN]
    positions = np.array([p for p, _ in kept], dtype=np.int64)
    shown = np.array([v for _, v in kept], dtype=np.int64)
    view = dataclasses.replace(res, examples=Examples(**report.examples)) if report.split == "train" else res
    example_cards(view, shown, _captions(report, positions))
    if len(order) > len(shown):
        st.caption(f"The first {len(shown)} are shown; `nnlab label-issues {report.run_id} --json` lists them all.")


def _training(rec: RunRecord, res: Results) -> None:
    state = check_state(store(), rec.run_id)
    if state is not None and state.running:
        _progress(rec.run_id)
        return
    if state is None or state.status != "finished":
        if state is not None:  # how the last check ended, its reason in the form's words (not --data)
            st.warning(md(form_words(state.sentence())))
        _start_button(rec)
        return
    st.caption(md(state.sentence()))
    report = _report(rec.run_id, "train", rec.updated + state.started)
    _gallery(res, report)
    _exclude_button(rec, report)


def _start_button(rec: RunRecord) -> None:
    epochs = max(1, rec.best_epoch or rec.epochs_done)
    eta = rec.seconds * epochs / max(rec.epochs_done, 1) * DEFAULT_FOLDS
    st.caption(
        f"The training examples have no out-of-sample predictions yet: the check trains {DEFAULT_FOLDS} models with this "
        f"run's config, each on the other folds, for {plural(epochs, 'epoch')} (about {format_duration(eta)} here)."
    )
    if st.button(
        "Check the training labels",
        icon=":material/fact_check:",
        key=f"label_check_{rec.run_id}",
        on_click=_open_training_tab,
        args=(rec.run_id,),
    ):
        try:
            flash(lab().start_label_check(rec.run_id), kind="info")
        except NNLabError as exc:
            show_error(exc)
            return
        st.rerun()


def _open_training_tab(run_id: str) -> None:
    """Keep the training rows' tab open for the check just started: its progress and then its gallery are there."""
    st.session_state[KEY_LABEL_TABS.format(run=run_id)] = TABS[1]


@st.fragment(run_every=POLL_S)
def _progress(run_id: str) -> None:
    """The running check's progress and time left; the page reruns once it ends."""
    state = check_state(store(), run_id)
    if state is None or not state.running:
        st.rerun()
    st.progress(min(max(state.fraction, 0.0), 1.0), text=md(state.sentence()))


def _exclude_button(rec: RunRecord, report: LabelReport) -> None:
    rows = [int(r) for r in report.flagged_rows]
    if not rows:
        return
    if not report.indexed:
        st.caption("This run kept no original row numbers, so its examples cannot be left out of a new run.")
        return
    label = f"Exclude these {plural(len(rows), 'example')} and retrain"
    if st.button(label, icon=":material/cleaning_services:", key=f"label_exclude_{rec.run_id}"):
        try:
            started = lab().retrain_without(rec.run_id, rows)
        except NNLabError as exc:
            show_error(exc)
            return
        flash(started.message, run_id=started.run_id, status="queued" if started.place else "")
        go(TRAIN_PAGE, started.run_id)


def _retrained_links(rec: RunRecord, records: list[RunRecord]) -> None:
    """A link to the comparison with the run this one was retrained from, or with the runs retrained from it."""
    parent = rec.summary.get(RETRAINED_FROM)
    children = [r for r in records if r.summary.get(RETRAINED_FROM) == rec.run_id and r.test_value is not None]
    links = [(parent, rec.run_id, f"Compare with {parent}, the run before it")] if parent else []
    links += [(rec.run_id, c.run_id, f"Compare with {c.run_id}, without the doubtful labels") for c in children]
    for a, b, label in links:  # one run id each: two and the words did not fit a link at 820 px
        st.page_link(COMPARE_PAGE, label=label, icon=":material/balance:", query_params={QUERY_A: a, QUERY_B: b})
