"""The Train page's live view of a run: header, actions (results, stop, resume, again, delete), progress and
curves that grow while it trains. The form that starts a run is in nnlab.ui.form."""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from nnlab.analysis.naming import run_name
from nnlab.core.config import FIELDS, RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.forecast import Forecast
from nnlab.core.notes import run_findings
from nnlab.core.records import ACTIVE, RESUMABLE, RunRecord
from nnlab.core.text import format_duration, plural
from nnlab.models import MODELS
from nnlab.ui import (
    QUERY_RUN,
    RESULTS_PAGE,
    findings_ui,
    flash,
    go,
    lab,
    md,
    show_error,
    store,
)
from nnlab.ui.form import prefill, run_form
from nnlab.ui.keys import KEY_CURVES
from nnlab.ui.rename import run_heading
from nnlab.views.plots import CURVE_HEIGHT, curves_figure

__all__ = ["live_view", "run_form"]

POLL_S = 1.0  # live view refresh while a run is queued or running
WATCH_S = 3.0  # and while it could be resumed (from another tab, the CLI or a restart), to notice that it was
CURVE_REFRESH_S = 3.0  # and of its curves


def _fmt(x: float) -> str:
    return f"{x:g}"


def config_summary(cfg: RunConfig) -> str:
    """The settings that matter most, on one line."""
    sizes = cfg.arch in MODELS and "hidden_sizes" in MODELS[cfg.arch].fields
    model = f"layers {','.join(map(str, cfg.hidden_sizes))}" if sizes else f"hidden {cfg.hidden}"
    parts = [
        model,
        f"dropout {_fmt(cfg.dropout)}",
        f"lr {_fmt(cfg.lr)}",
        f"batch {cfg.batch_size or 'auto'}",
        plural(cfg.epochs, "epoch") if cfg.epochs else "auto epochs",
        FIELDS["optimizer"].option_label(cfg.optimizer),
        f"{FIELDS['schedule'].option_label(cfg.schedule).lower()} schedule",
    ]
    return " · ".join(parts)


def live_view(run_id: str) -> None:
    """A run's header, its actions, and the progress and curves that grow while it trains."""
    rec = store().find(run_id)
    if rec is None:  # the link's text is not echoed: a crafted ?run= must not put its markdown in the page
        st.warning("The run in this link is not in the store; it may have been deleted.")
        new_run_button()
        return
    run_heading(rec)
    when = "queued" if rec.status == "queued" else "created"
    on = "" if rec.placement.is_local else f" · on {md(rec.placement.where)}"  # an address as typed
    st.caption(f"Run {rec.run_id} · {when} {rec.created_iso} UTC{on} · {config_summary(rec.config)}")
    run_data_check(rec)
    run_actions(rec)
    live_panel(rec.run_id, rec.status)


def run_data_check(rec: RunRecord) -> None:
    """The data check's findings of the run, once its data is loaded (the runner writes its facts before training)."""
    try:
        facts = store().folder(rec.run_id).read_facts()
    except NNLabError:
        return
    findings_ui(run_findings(rec, facts))


def new_run_button(rec: RunRecord | None = None) -> None:
    """Back to an empty form."""
    if st.button("New run", key="tr_new_run", icon=":material/add:", help="Configure another run."):
        del st.query_params[QUERY_RUN]
        st.rerun()


def run_actions(rec: RunRecord) -> None:
    """The buttons that fit the run's status, left to right: results, stop or resume, again, new, delete."""
    actions = []
    if rec.test_value is not None:
        actions.append(results_button)
    if rec.status in ACTIVE:
        actions.append(stop_button)
    if rec.status in RESUMABLE and (rec.epochs_done or rec.device):  # stopped in the queue: it never ran
        actions.append(resume_button)
    actions += [again_button, new_run_button, delete_button]
    with st.container(horizontal=True, gap="small"):  # each button as wide as its label; wraps on narrow windows
        for action in actions:
            action(rec)
    if resume_button in actions:
        resume_line(rec)


def resume_line(rec: RunRecord) -> None:
    """Where Resume continues: after the last whole checkpoint's epoch, and why when that is before the last
    epoch recorded (a kill cut its checkpoint)."""
    try:
        said = store().folder(rec.run_id).resume_point(rec.epochs_done, ahead=True)
    except NNLabError as exc:  # a damaged checkpoint: the sentence says it cannot resume, and what to do
        said = str(exc)
    then = f" It trains on up to epoch {rec.epochs_planned}." if rec.epochs_planned > rec.epochs_done else ""
    st.caption(md(said + then))


def results_button(rec: RunRecord) -> None:
    """To the Results page for this run."""
    if st.button(
        "See results",
        key="tr_results",
        type="primary",
        icon=":material/analytics:",
        help="Classification report, confusion matrix and the examples behind each cell.",
    ):
        go(RESULTS_PAGE, rec.run_id)


def stop_button(rec: RunRecord) -> None:
    """Stop at the next batch (a queued run leaves the queue at once)."""
    if st.button("Stop", key="tr_stop", icon=":material/stop_circle:", help="Stop at the end of the current batch."):
        message = lab().stop(rec.run_id)
        if rec.status == "queued":
            flash(message, "info")
            st.rerun()
        st.toast(message, icon=":material/stop_circle:")


def resume_button(rec: RunRecord) -> None:
    """Continue an interrupted or stopped run from its last checkpoint."""
    if st.button("Resume", key="tr_resume", icon=":material/play_arrow:", help="Continue from the last checkpoint."):
        try:
            flash(lab().resume(rec.run_id))
        except NNLabError as exc:
            flash(str(exc), "error")
        st.rerun()


def again_button(rec: RunRecord) -> None:
    """Load the run's settings into the form."""
    if st.button(
        "Copy settings to the form",
        key="tr_again",
        icon=":material/replay:",
        help="Load these settings into the form, change what you like, and start a new run.",
    ):
        prefill(rec.config)
        del st.query_params[QUERY_RUN]
        flash(f"Loaded the settings of run {rec.run_id}; change what you like and start.", "info")
        st.rerun()


def delete_button(rec: RunRecord) -> None:
    """Delete with a confirmation step; not while the run is active."""
    if rec.status in ACTIVE:
        st.button(
            "Delete",
            key="tr_delete_disabled",
            icon=":material/delete:",
            disabled=True,
            help="Stop the run before deleting it.",
        )
        return
    with st.popover("Delete", icon=":material/delete:"):
        st.write(f"Delete run {rec.run_id} with its checkpoints and results? This cannot be undone.")
        if st.button("Yes, delete it", key="tr_delete_confirm", type="primary"):
            try:
                lab().delete([rec.run_id])
            except NNLabError as exc:
                show_error(exc)
                return
            flash(f"Run {rec.run_id} deleted.")
            del st.query_params[QUERY_RUN]
            st.rerun()


def live_panel(run_id: str, status: str) -> None:
    """Progress and curves in a fragment that polls while the run is queued or running, and slowly while another
    tab, the command line or a restart could resume it; a finished run is not polled."""
    every = POLL_S if status in ACTIVE else WATCH_S if status in RESUMABLE else None

    @st.fragment(run_every=every)
    def panel() -> None:
        rec = store().find(run_id)
        if rec is None or rec.status != status:
            st.rerun()  # the whole page: new actions, and polling stops once the run is over
        status_panel(rec)
        curves(rec)

    panel()


def status_panel(rec: RunRecord) -> None:
    """Progress bars and rates while training; the outcome afterwards."""
    if rec.status == "queued":
        st.info(md(rec.reason or queue_text(rec.run_id)), icon=":material/hourglass_top:")  # Ray says why it waits
    elif rec.status == "running":
        running_panel(rec)
    elif rec.status in ("failed", "diverged"):
        show_error(rec.reason or "The run failed.")
    elif rec.status == "interrupted":
        st.warning(md(rec.reason), icon=":material/warning:")
    if rec.status in ("finished", "stopped") or (rec.status != "running" and rec.epochs_done):
        outcome_panel(rec)
    forecast = Forecast.of(rec.summary)
    if forecast is not None and rec.status != "queued":
        st.caption(f":material/timer: Pre-flight: {forecast.sentence()}.", help=_forecast_help(forecast))


def _forecast_help(forecast: Forecast) -> str:
    calibrated = (
        f" It is the measured {format_duration(forecast.measured_per_epoch, fine=True)} times {forecast.calibration:.2f}, "
        "how far off the last estimates on this device for this architecture were."
        if forecast.calibration != 1.0
        else ""
    )
    return f"Measured before the first epoch on {forecast.device}: a few real training steps, a validation pass and a checkpoint.{calibrated}"


def queue_text(run_id: str) -> str:
    """Where a queued run stands: its place in line and the runs it waits for, or that it is starting."""
    place = lab().queue_place(run_id)
    if not place:
        return "Starting: loading the data and building the model…"
    running = [r for r in (store().find(i) for i in lab().running()) if r is not None]
    # names as typed: the caller escapes the whole sentence once
    now = ", ".join(f"{r.run_id} ({run_name(r)})" for r in running) or "the run before it"
    ahead = f" and {plural(place - 1, 'queued run')} before it" if place > 1 else ""
    return (
        f"Queued: number {place} in line. It waits for {now} to finish{ahead}; "
        "runs train one at a time, so each gets the whole machine."
    )


def running_panel(rec: RunRecord) -> None:
    """Overall and within-epoch progress, speed, time left, learning rate and the smoothed loss."""
    p = rec.progress
    if p is None:
        st.info("Loading the data and building the model…", icon=":material/hourglass_top:")
        return
    done = p.epoch - 1 + p.fraction
    st.progress(min(done / max(p.epochs, 1), 1.0), text=f"Overall: epoch {min(p.epoch, p.epochs)} of {p.epochs}")
    st.progress(min(p.fraction, 1.0), text=f"This epoch: {p.fraction:.0%}")
    with metric_row():
        st.metric("Samples/s", f"{p.samples_per_s:,.0f}", width="content")
        st.metric(
            "Time left",
            format_duration(p.eta_s),
            help="At the current speed, if it runs every epoch.",
            width="content",
        )
        st.metric("Learning rate", f"{p.lr if p.lr is not None else rec.config.lr:.3g}", width="content")
        st.metric("Train loss", f"{p.train_loss:.4f}", help="Smoothed over the last batches.", width="content")


def metric_row() -> Any:
    """A row of metric cards, each as wide as its value, that wraps where the window is narrow (five columns cut
    '97.0%' to '97.…' at 820 px)."""
    return st.container(horizontal=True, gap="medium")


def outcome_panel(rec: RunRecord) -> None:
    """Test score, best epoch, duration, speed and device of a run that has ended."""
    s = rec.summary
    with metric_row():
        if rec.test_value is not None:
            if rec.test_metric == "rmse":
                st.metric("Test RMSE", f"{rec.test_value:.4g}", help="Root mean squared error in the data's units.",
                          width="content")  # fmt: skip
            else:
                st.metric(f"Test {rec.test_metric}", f"{rec.test_value:.1%}", width="content")
        early = " (stopped early)" if s.get("stopped_early") else ""
        st.metric("Epochs", f"{rec.epochs_done}{early}", help=f"Best epoch: {rec.best_epoch or '–'}.", width="content")
        st.metric("Time", format_duration(rec.seconds), width="content")
        st.metric("Samples/s", f"{rec.samples_per_s:,.0f}" if rec.samples_per_s else "–", width="content")
        st.metric("Device", device_short(rec.device), help=rec.device or None, width="content")
    if rec.status == "finished" and rec.test_value is not None:
        st.success(
            "Training finished. Click **See results** for the report, the confusion matrix and the "
            "examples the model got wrong.",
            icon=":material/check_circle:",
        )


def device_short(label: str) -> str:
    """'cuda (NVIDIA H100 80GB HBM3)' -> 'NVIDIA H100 80GB HBM3'; 'cpu (2 threads)' -> 'CPU'."""
    if label.startswith("cuda (") and label.endswith(")"):
        return label[6:-1]
    return (label.split(" (")[0] or "–").upper() if label else "–"


def curves(rec: RunRecord) -> None:
    """Loss and score per epoch. The figure is rebuilt only when a new epoch arrives, and while the run trains at
    most every CURVE_REFRESH_S: each redraw costs every watching tab a Plotly render, on the cores training uses."""
    cached = st.session_state.get(KEY_CURVES)
    same = cached is not None and cached[0][:2] == (rec.run_id, rec.status)
    if not (same and rec.active and time.monotonic() - cached[2] < CURVE_REFRESH_S):
        history = store().metrics(rec.run_id)
        signature = (rec.run_id, rec.status, len(history), history[-1] if history else None)
        if cached is None or cached[0] != signature:
            task = MODELS[rec.arch].task if rec.arch in MODELS else "classification"
            last = max(rec.epochs_planned if rec.active else len(history), len(history), 2)
            cached = (signature, curves_figure(history, task, last), time.monotonic())  # the axis the curve will fill
            st.session_state[KEY_CURVES] = cached
    if not cached[0][2] and not rec.active:  # diverged, failed or stopped in epoch 1: no epoch will end
        st.caption("No epoch ended, so the run has no curves.")
        return
    if not cached[0][2]:
        st.caption("The curves appear when the first epoch ends.")
    st.plotly_chart(cached[1], key=f"tr_curves_{rec.run_id}", height=CURVE_HEIGHT, config={"displayModeBar": False})
