"""The Home page's parts: the device that will train, the one-click first model, and the recent runs."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.navigation.page import StreamlitPage

from nnlab.analysis.naming import default_name, run_name
from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.records import RunRecord
from nnlab.core.text import format_duration, plural
from nnlab.data import DATASETS
from nnlab.data.registry import make_config
from nnlab.engine.device import DeviceInfo, detect_device
from nnlab.models import MODELS
from nnlab.sweeps.results import ended, summary
from nnlab.sweeps.store import SweepStore
from nnlab.ui import (
    RESULTS_PAGE,
    ROW_CLICKS,
    SWEEP_PAGE,
    TRAIN_PAGE,
    clicked_row,
    flash,
    go,
    lab,
    show_error,
    start_runs,
    status_label,
    store,
)
from nnlab.ui.cluster import cluster_card
from nnlab.ui.keys import KEY_RECENT, KEY_RECENT_SWEEPS, KEY_RESUME_ALL, QUERY_SWEEP

RECENT_LIMIT = 10
SWEEPS_SHOWN = 5


def first_model_config() -> RunConfig:
    """The default first run: the reference MLP on the built-in handwritten digits (a few seconds on a CPU)."""
    return make_config("mlp", dataset="digits")


@st.cache_resource(show_spinner=False)
def device() -> DeviceInfo:
    """The training device, found once per server process."""
    return detect_device()


def device_card() -> None:
    """Which device will train, and what that means."""
    info = device()
    with st.container(border=True):
        st.markdown("**Training device**")
        st.markdown(f"### {':material/bolt:' if info.is_gpu else ':material/memory:'} {info.headline}")
        st.caption(info.detail)
    cluster_card()


def first_model_card() -> None:
    """One click trains a good default model and opens its live view."""
    cfg = first_model_config()
    with st.container(border=True):
        first = not store().list(limit=1)  # "New here?" only where no run was ever trained
        st.markdown(f"**{'New here? Train your first model' if first else 'Train the reference model'} in one click.**")
        st.caption(
            f"The reference {MODELS[cfg.arch].title} ({', '.join(map(str, cfg.hidden_sizes))} units) learns to read "
            f"{DATASETS[cfg.dataset].title.lower()}: {f'up to {cfg.epochs}' if cfg.epochs else 'as many'} "
            "epochs as the data needs, stopping early when it stops improving. You will watch it learn, then see which digits it confuses."
        )
        if st.button(
            "Train a first model",
            icon=":material/rocket_launch:",
            type="primary",
            key="home_first_model",
            width="stretch",
        ):
            start_first_model(cfg)
        st.page_link(TRAIN_PAGE, label="Or choose the data, model and settings yourself", icon=":material/tune:")


def start_first_model(cfg: RunConfig) -> None:
    """Submit the default run and go to its live view on the Train page."""
    run_id = start_runs(
        cfg, message=f"Run {{run_id}} started: {default_name(cfg)}. The curves grow as each epoch ends."
    )
    if run_id:
        go(TRAIN_PAGE, run_id)


def time_so_far(rec: RunRecord) -> float:
    """Seconds a run has trained: its finished epochs, plus the part of the epoch under way while it runs."""
    p = rec.progress
    if rec.status != "running" or p is None or p.fraction >= 1 or not p.samples_per_s:
        return rec.seconds
    return rec.seconds + p.fraction * rec.summary.get("train_size", 0) / p.samples_per_s


def runs_frame(runs: list[RunRecord]) -> pd.DataFrame:
    """The recent runs as a table a person reads."""
    return pd.DataFrame(
        {
            "run": [r.run_id for r in runs],
            "name": [run_name(r) for r in runs],
            "status": [status_label(r) for r in runs],
            "test score": [r.score_text for r in runs],
            "epochs": [r.epochs_done for r in runs],
            "time": [format_duration(time_so_far(r)) for r in runs],
            "started (UTC)": [r.created_iso for r in runs],
            "note": [r.note for r in runs],
        }
    )


def recent_runs() -> None:
    """The last runs; clicking a row opens its live view or its results."""
    runs = store().list(limit=RECENT_LIMIT, sweep_id="")  # a sweep's trials are with their sweep, below
    if not runs:
        st.info("No runs yet. Click **Train a first model** above, or go to **Train** to choose your own.")
        return
    resume_all()
    in_progress()
    st.caption("Click a row to open the run: live view while it trains, results once it has finished.")
    event = st.dataframe(
        runs_frame(runs),
        key=KEY_RECENT,
        on_select="rerun",
        selection_mode=ROW_CLICKS,
        hide_index=True,
        width="stretch",
    )
    row = clicked_row(event)
    if row is not None and row < len(runs):
        open_run(runs[row])


def in_progress() -> None:
    """How many runs train now and how many wait in line ('1 run training, 2 waiting', not '3 in progress')."""
    training, waiting = len(store().list("running")), len(store().list("queued"))
    parts = [f"{plural(training, 'run')} training"] if training else []
    if waiting:
        parts.append(f"{waiting} waiting in line" if training else f"{plural(waiting, 'run')} waiting in line")
    if parts:
        st.caption(", ".join(parts) + ".")


def recent_sweeps() -> None:
    """The last sweeps, each a click away (their trials no longer fill Recent runs)."""
    sweeps = SweepStore(store()).list()[:SWEEPS_SHOWN]
    if not sweeps:
        return
    st.subheader("Recent sweeps", anchor=False)
    st.caption("Click a row to open the sweep: its trials, best config and charts.")
    found = [summary(store(), rec) for rec in sweeps]
    frame = pd.DataFrame(
        {
            "sweep": [rec.sweep_id for rec in sweeps],
            "model and data": [default_name(rec.spec.base) for rec in sweeps],
            "status": [rec.status for rec in sweeps],
            "trials done": [f"{ended(s)} / {rec.spec.trials}" for s, rec in zip(found, sweeps, strict=True)],
            "best": [s["best_value"] for s in found],
            "started (UTC)": [rec.created_iso for rec in sweeps],
        }
    )
    event = st.dataframe(
        frame,
        key=KEY_RECENT_SWEEPS,
        on_select="rerun",
        selection_mode=ROW_CLICKS,
        hide_index=True,
        width="stretch",
        column_config={"best": st.column_config.NumberColumn(format="%.4f")},
        placeholder="–",
    )
    row = clicked_row(event)
    if row is not None and row < len(sweeps):
        st.switch_page(SWEEP_PAGE, query_params={QUERY_SWEEP: sweeps[row].sweep_id})


def resume_all() -> None:
    """One button for every interrupted run (after a restart or a crash), not a sweep's: its sweep resumes it."""
    n = sum(1 for r in store().list("interrupted") if not r.sweep_id)
    if not n:
        return
    label = f"Resume all {n} interrupted runs" if n > 1 else "Resume the interrupted run"
    if st.button(
        label, key=KEY_RESUME_ALL, icon=":material/play_arrow:", help="Each continues from its last checkpoint."
    ):
        try:
            ids = lab().resume_all()
        except NNLabError as exc:
            show_error(exc)
            return
        many = len(ids) != 1
        flash(
            f"{len(ids)} run{'s' if many else ''} queued to continue from {'their' if many else 'its'} last checkpoint."
        )
        st.rerun()


def open_run(rec: RunRecord) -> None:
    """Results for a run that has them, the live view otherwise."""
    if rec.test_value is not None:
        go(RESULTS_PAGE, rec.run_id)
    go(TRAIN_PAGE, rec.run_id)


ICONS = {
    "Train": ":material/model_training:",
    "Results": ":material/analytics:",
    "Compare": ":material/compare_arrows:",
    "Playground": ":material/touch_app:",
    "Sweep": ":material/tune:",
}  # drawn with Streamlit's bundled icon font (a st.Page icon would also become a favicon from the internet)


def page_links(pages: list[StreamlitPage]) -> None:
    """A card per page (as app.py declares them)."""
    blurbs = {
        "Train": "Choose data, model and settings; watch it learn.",
        "Results": "Report, confusion matrix, the examples behind it.",
        "Compare": "Runs side by side: curves, settings, a verdict.",
        "Playground": "Try a trained model on your own input.",
        "Sweep": "Search hyperparameters; prune hopeless trials.",
    }
    row = st.container(horizontal=True, gap="small")  # as many cards a row as fit: five wide, two at 800 px
    for page in pages:
        with row.container(border=True, height=136, width=168):
            st.page_link(page, label=f"**{page.title}**", icon=ICONS.get(page.title))
            st.caption(blurbs.get(page.title, ""))
