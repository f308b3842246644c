"""The Sweep page while a sweep runs and after: header and actions, the trials table (click a row to open the
run), best so far, every trial's curve, parallel coordinates, slice plots and parameter importance."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from nnlab.core.errors import NNLabError
from nnlab.core.text import format_duration, plural
from nnlab.sweeps.preflight import seconds_left
from nnlab.sweeps.results import Trial, best_run_of, best_so_far, best_trial, ended, summary, trials_of
from nnlab.sweeps.store import ACTIVE_SWEEPS, RESUMABLE_SWEEPS, SweepRecord, SweepStore
from nnlab.ui import (
    RESULTS_PAGE,
    ROW_CLICKS,
    STATUS_ICONS,
    TRAIN_PAGE,
    clicked_row,
    flash,
    go,
    lab,
    md,
    show_error,
    start_runs,
    status_badge,
    store,
)
from nnlab.ui.keys import QUERY_SWEEP
from nnlab.ui.sweep import OBJECTIVE_LABELS, PRUNER_LABELS, STRATEGY_LABELS
from nnlab.ui.sweep_confirm import confirmation_panel
from nnlab.views.reports import sweep_report
from nnlab.views.sweep_report import sweep_filename

POLL_S = 1.5
KEY_TABLE = "sw_table"
KEY_FILTER = "sw_filter"
STATES = ("finished", "pruned", "failed", "stopped", "running", "queued", "paused")
# how a trial state reads: "paused" is a trial cut by the sweep's Stop (or by a restart): it resumes with the sweep
STATE_LABELS = {"stopped": "stopped by hand", "paused": "resumes with the sweep"}
FEW_TRIALS = 10  # parameter importance from fewer finished trials than this comes with a caveat


def sweeps() -> SweepStore:
    """The sweeps table of the server's store."""
    return SweepStore(store())


def sweep_view(sweep_id: str) -> None:
    """A sweep's header and actions, then its live panel."""
    try:
        rec = sweeps().get(sweep_id)
    except NNLabError:  # the link's text is not echoed, nor the server's folders the store's sentence names
        st.warning("The sweep in this link is not in the store; it may have been deleted.", icon=":material/link_off:")
        new_sweep_button()
        return
    with st.container(horizontal=True, vertical_alignment="center"):  # the badge wraps below on narrow screens
        st.subheader(rec.spec.title, anchor=False, width="content")
        status_badge(rec.status)
    space = " · ".join(f"{d.label} {d.spec()}" for d in rec.spec.dims)
    where = "" if rec.spec.runs_on.is_local else f" · on {rec.spec.runs_on.where}"
    st.caption(
        f"{rec.sweep_id} · {STRATEGY_LABELS[rec.spec.strategy]} · {plural(rec.spec.trials, 'trial')} · "
        f"{PRUNER_LABELS[rec.spec.pruner].split(':')[0]} · {OBJECTIVE_LABELS[rec.spec.objective]} · {space}{where}"
    )
    actions(rec)
    live_panel(sweep_id, rec.status)


def new_sweep_button() -> None:
    """Back to an empty form."""
    if st.button("New sweep", key="sw_new", icon=":material/add:"):
        del st.query_params[QUERY_SWEEP]
        st.rerun()


def actions(rec: SweepRecord) -> None:
    """Stop, pause, resume, re-run failed, train the best for longer, new sweep."""
    cols = [st.container(horizontal=True)] * 5  # one row that wraps on narrow screens
    running = rec.status in ACTIVE_SWEEPS
    if cols[0].button("Stop", icon=":material/stop:", key="sw_stop", disabled=not running,
                      help="Stop the running trials now (they can resume) and start no more."):  # fmt: skip
        flash(lab().stop_sweep(rec.sweep_id), "info")
        st.rerun()
    if cols[1].button("Pause", icon=":material/pause:", key="sw_pause", disabled=not running,
                      help="Let the running trials finish and start no more until you resume."):  # fmt: skip
        flash(lab().pause_sweep(rec.sweep_id), "info")
        st.rerun()
    if cols[2].button("Resume", icon=":material/play_arrow:", key="sw_resume",
                      disabled=running or rec.status not in RESUMABLE_SWEEPS or rec.status == "finished"):  # fmt: skip
        resume(rec.sweep_id, rerun_failed=False)
    failed = summary(store(), rec)["failed"]
    if cols[3].button(f"Re-run failed ({failed})", icon=":material/replay:", key="sw_rerun",
                      disabled=running or not failed,
                      help="Train the failed trials' configs again, as new trials. Trials stopped by hand are "
                      "not re-run."):  # fmt: skip
        resume(rec.sweep_id, rerun_failed=True)
    with cols[4]:
        new_sweep_button()
    cols[4].download_button(
        "Report (HTML)", lambda: sweep_report(store(), rec.sweep_id)[1], file_name=sweep_filename(rec.sweep_id),
        mime="text/html", key="sw_report", on_click="ignore", icon=":material/download:",
        help="One file with the trials table, the best configs and the charts; it opens offline.",
    )  # fmt: skip


def resume(sweep_id: str, rerun_failed: bool) -> None:
    """Drive the sweep again in the server (after queueing its failed trials again if asked)."""
    try:
        flash(lab().resume_sweep(sweep_id, rerun_failed), "info")
    except NNLabError as exc:
        show_error(exc)
        return
    st.rerun()


def live_panel(sweep_id: str, status: str) -> None:
    """The panel, polled while the sweep runs; reruns the page when the status changes."""

    @st.fragment(run_every=POLL_S if status in ACTIVE_SWEEPS else None)
    def panel() -> None:
        rec = sweeps().get(sweep_id)
        if rec.status != status:
            st.rerun()
        trials = trials_of(store(), rec)
        summary_row(rec, trials)
        confirmation_panel(rec)
        trials_table(rec, trials)
        charts(rec, trials)

    panel()


def summary_row(rec: SweepRecord, trials: list[Trial]) -> None:
    """Trials done, pruned, failed, the best value and the time so far."""
    s = summary(store(), rec)
    cols = [st.container(horizontal=True, gap="medium")] * 5  # wraps on narrow screens instead of cutting values
    cols[0].metric("Trials done", f"{ended(s)} / {rec.spec.trials}")
    cols[1].metric("Pruned", s["pruned"])
    cols[2].metric("Failed", s["failed"])
    if s["stopped"]:
        cols[2].metric("Stopped by hand", s["stopped"], help="Stopped on their run's page; not re-run as failed.")
    cols[3].metric("Best", f"{s['best_value']:.4f}" if s["best_value"] is not None else "–",
                   help=OBJECTIVE_LABELS[rec.spec.objective])  # fmt: skip
    cols[4].metric("Time", format_duration(rec.elapsed))
    if rec.status == "running":
        left = seconds_left(store(), rec)
        cols[4].metric("Time left", format_duration(left), help="The runs left times the mean time of the ended ones.")
    if rec.reason:
        st.caption(md(rec.reason))
    best = best_trial(rec, trials)
    if best is not None and st.button("Train the best config for longer", icon=":material/trending_up:",
                                      key="sw_longer", disabled=rec.status == "running"):  # fmt: skip
        train_longer(best_run_of(rec, best).config)


def train_longer(cfg: Any) -> None:
    """The best config with twice the epochs (within the range), as a new run in the Train page's live view."""
    from nnlab.core.config import RANGES

    epochs = min(cfg.epochs * 2, int(RANGES["epochs"].bounds(cfg.expert)[1]))
    run_id = start_runs(
        cfg.replace(epochs=epochs), message=f"Run {{run_id}} trains the best config for {epochs} epochs."
    )
    if run_id:
        go(TRAIN_PAGE, run_id)


def trial_status(t: Trial) -> str:
    """A trial's state as the table shows it: cut short by the sweep's Stop or by a restart, it says so and that
    it resumes with the sweep; stopped on its run page, 'stopped by hand'."""
    if t.state != "paused":
        return f"{STATUS_ICONS.get(t.state, '')} {STATE_LABELS.get(t.state, t.state)}"
    if any(r.status == "interrupted" for r in t.runs):
        return f"{STATUS_ICONS['interrupted']} interrupted (resumes with the sweep)"
    return f"{STATUS_ICONS['stopped']} stopped with the sweep (resumes with it)"


def trials_rows(rec: SweepRecord, trials: list[Trial]) -> pd.DataFrame:
    """One row per trial: state, params, value, epochs, duration, run id."""
    rows = []
    for t in trials:
        run = t.runs[0]
        row: dict[str, Any] = {"trial": t.number, "status": trial_status(t)}
        row |= {d.label: t.params[d.name] for d in rec.spec.dims}
        row |= {"value": t.value, "epochs": run.epochs_done, "duration": format_duration(t.seconds)}
        rows.append(row | {"run": run.run_id})
    return pd.DataFrame(rows)


def trials_table(rec: SweepRecord, trials: list[Trial]) -> None:
    """The trials, filtered by state; clicking a row (any of its cells) opens its run: Results when it has them,
    the live view otherwise."""
    st.markdown("##### Trials")
    shown = st.pills("Show", STATES, selection_mode="multi", default=list(STATES), key=KEY_FILTER,
                     format_func=lambda s: STATE_LABELS.get(s, s))  # fmt: skip
    picked = [t for t in trials if t.state in (shown or STATES)]
    if not picked:
        st.caption("No trials yet." if not trials else "No trial has these states.")
        return
    event = st.dataframe(
        trials_rows(rec, picked), hide_index=True, width="stretch", on_select="rerun",
        selection_mode=ROW_CLICKS, key=KEY_TABLE, height=min(400, 38 + 35 * len(picked)),
        column_config={"value": st.column_config.NumberColumn(format="%.4f")}, placeholder="–",
    )  # fmt: skip
    st.caption("Click a trial to open its run. A pruned, failed or stopped trial has no value (–).")
    row = clicked_row(event)
    if row is not None and row < len(picked):
        run = picked[row].runs[0]
        go(RESULTS_PAGE if run.test_value is not None else TRAIN_PAGE, run.run_id)


def charts(rec: SweepRecord, trials: list[Trial]) -> None:
    """Progress (best so far, curves), parameters (parallel coordinates, slices) and importance."""
    from nnlab.views import sweep_plots

    objective = rec.spec.objective
    progress, params, importance = st.tabs(["Progress", "Parameters", "Importance"])
    with progress:
        left, right = st.columns(2)
        left.markdown("##### Best so far")
        best = best_so_far(rec, trials)
        if not best:  # an empty chart reads as broken
            left.caption("Appears once a trial has finished.")
        else:
            left.plotly_chart(sweep_plots.best_so_far_figure(best, trials, objective),
                              key="sw_best", config={"displayModeBar": False})  # fmt: skip
        right.markdown("##### Every trial's curve (pruned: dotted, ✕ where cut)")
        histories = store().metrics_many([t.runs[0].run_id for t in trials])
        if not any(histories.values()):
            right.caption("Each trial's validation curve appears after its first epoch.")
        else:
            right.plotly_chart(sweep_plots.curves_figure(trials, histories, objective), key="sw_curves",
                               config={"displayModeBar": False})  # fmt: skip
    finished = sum(t.value is not None for t in trials)
    if finished < 2:
        for tab in (params, importance):
            tab.caption("These appear once two trials have finished.")
        return
    study = _study(rec.sweep_id, _journal_size(rec.sweep_id))
    with params:
        st.plotly_chart(sweep_plots.parallel_figure(study, objective), key="sw_parallel")
        st.caption("Brushing an axis does not filter the table; use the state filter and the table's sorting.")
        st.plotly_chart(sweep_plots.slice_figure(study, objective), key="sw_slice")
    with importance:
        scores = sweep_plots.importance(study)
        if not scores:
            st.caption("Importance needs three finished trials.")
        else:
            if finished < FEW_TRIALS:
                st.warning(
                    f"Only {finished} trials have finished: these shares are a rough guide, and can change a lot as "
                    f"more finish (from about {FEW_TRIALS} on they settle).",
                    icon=":material/info:",
                )
            st.plotly_chart(sweep_plots.importance_figure(scores), key="sw_importance")
            st.caption("Optuna's fANOVA evaluator: the share of the objective's variance each field explains.")


def _journal_size(sweep_id: str) -> int:
    path = sweeps().journal_path(sweep_id)
    return path.stat().st_size if path.exists() else 0


@st.cache_resource(max_entries=4, show_spinner=False)
def _study(sweep_id: str, journal_size: int) -> Any:
    """The sweep's Optuna study as of this journal size (read only: replayed, never written here)."""
    from nnlab.sweeps.driver import open_study

    return open_study(sweeps(), sweeps().get(sweep_id))


def sweep_list() -> None:
    """Earlier sweeps; pick one to see it."""
    rows = sweeps().list()
    if not rows:
        st.caption("No sweeps yet.")
        return
    for rec in rows[:20]:
        s = summary(store(), rec)
        done = ended(s)
        best = f" · best {s['best_value']:.4f}" if s["best_value"] is not None else ""
        label = f"{rec.sweep_id} · {rec.spec.title} · {rec.status} · {done}/{rec.spec.trials}{best}"
        if st.button(label, key=f"sw_open_{rec.sweep_id}", type="tertiary", icon=":material/tune:"):
            st.query_params[QUERY_SWEEP] = rec.sweep_id
            st.rerun()
