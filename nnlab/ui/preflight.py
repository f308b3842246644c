"""The pre-flight estimate in the Train and Sweep previews: measured on a background thread on request, never in
the form's script run, and shown as figures with the parts behind them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from nnlab.core.config import RunConfig
from nnlab.core.text import format_duration, plural
from nnlab.engine.estimates import Estimates
from nnlab.engine.preflight import Estimate
from nnlab.sweeps.preflight import SweepEstimate, estimate_sweep
from nnlab.sweeps.store import SweepSpec
from nnlab.ui import md, store

KEY_ESTIMATE = "tr_estimate"  # the "Estimate time and memory" button
KEY_SWEEP_ESTIMATE = "sw_estimate"
POLL_S = 1.0


@st.cache_resource(show_spinner=False)
def estimates() -> Estimates:
    """The process-wide queue of pre-flight estimates (one measured at a time)."""
    return Estimates(leave_core=True, root=store().root)


def preflight_panel(cfg: RunConfig) -> Estimate | None:
    """The estimate of cfg once measured; a button to measure it; progress while it runs off this thread."""
    found = job_panel(
        cfg.to_json(),
        lambda: estimates().request(cfg),
        ("Estimate time and memory", KEY_ESTIMATE),
        "Builds the model and times a few real training steps on the chosen device (a few seconds).",
    )
    if isinstance(found, Estimate):
        _show(found)
        return found
    return None


def sweep_panel(spec: SweepSpec) -> SweepEstimate | None:
    """The sweep's estimate once measured (corners of its space timed off this thread), or a button to measure."""
    key = f"sweep {spec.to_json()}"
    found = job_panel(
        key,
        lambda: estimates().submit(key, lambda: estimate_sweep(spec, store().root)),
        ("Estimate the sweep's time and memory", KEY_SWEEP_ESTIMATE),
        "Times a few real training steps at corners of the search space, with the threads each trial will have.",
    )
    return found if isinstance(found, SweepEstimate) else None


def job_panel(key: str, request: Callable[[], None], button: tuple[str, str], help_text: str) -> Any:
    """A pre-flight job's result (a warning when it gave a sentence instead), its progress while it runs, or the
    button that starts it."""
    found = estimates().outcome(key)
    if isinstance(found, str):
        st.warning(md(found), icon=":material/warning:")
        return None
    if found is not None:
        return found
    if estimates().busy(key):
        _wait(key)
        return None
    if st.button(button[0], key=button[1], icon=":material/timer:", help=help_text):
        request()
        st.rerun()
    return None


def _wait(key: str) -> None:
    @st.fragment(run_every=POLL_S)
    def waiting() -> None:
        if not estimates().busy(key):
            st.rerun()  # the whole page: the preview and Start read the result
        st.caption(":material/hourglass_top: Measuring: one batch forward and backward, then a few timed steps…")

    waiting()


def _show(est: Estimate) -> None:
    """One line of figures that wraps in a narrow column, the parts behind them, and any memory warning."""
    figures = [f":material/memory: **{_mb(est.memory_mb)}** memory"]
    if est.seconds_per_epoch is not None:
        figures.append(f":material/timer: **{format_duration(est.seconds_per_epoch, fine=True)}** per epoch")
        figures.append(f"**≤ {format_duration(est.seconds_total or 0, fine=True)}** for the whole run")
    st.markdown(" · ".join(figures), help=_memory_help(est))
    timing = f" {_time_help(est)}" if est.seconds_per_epoch is not None else ""
    done = "Measured on" if est.seconds_per_epoch is not None else "Counted for"
    st.caption(f"{done} {est.device}.{timing}{_busy_note()}")
    if est.fits and est.reason:  # too large to measure: sized from its parameters only
        st.info(est.reason, icon=":material/info:")


def _mb(mb: float) -> str:
    return f"{mb / 1024:,.1f} GB" if mb >= 1024 else f"{mb:,.1f} MB" if mb >= 1 else f"{mb * 1024:,.0f} KB"


def _memory_help(est: Estimate) -> str:
    return (
        f"Weights {_mb(est.weights_mb)}, gradients {_mb(est.gradients_mb)}, optimizer state "
        f"{_mb(est.optimizer_mb)}, activations of one batch {_mb(est.activations_mb)}, best-weights copy "
        f"{_mb(est.best_weights_mb)}. {est.trainable_params:,} of {est.params:,} parameters train. The whole run: "
        "loading, every epoch and the test pass; early stopping can end it sooner."
    )


def _time_help(est: Estimate) -> str:
    return (
        f"An epoch: {plural(est.steps_per_epoch, 'step')} of {format_duration(est.step_seconds, fine=True)} "
        f"({plural(est.timed_steps, 'real step')} timed), validation {format_duration(est.validation_seconds, fine=True)}, checkpoint "
        f"{format_duration(est.checkpoint_seconds, fine=True)}."
    )


def _busy_note() -> str:
    running = store().list("running", limit=1)
    return " A run was training at the same time, so these times may be too long." if running else ""
