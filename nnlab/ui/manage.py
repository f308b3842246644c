"""Acting on several runs at once: the queue with each run's place in line and Stop all (Home), and deleting the
runs ticked in a table (Compare)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from nnlab.analysis.naming import run_name
from nnlab.core.errors import NNLabError
from nnlab.core.records import RunRecord
from nnlab.core.text import plural
from nnlab.ui import flash, lab, store
from nnlab.ui.keys import KEY_TABLE

KEY_STOP_ALL, KEY_DELETE = "manage_stop_all", "manage_delete_selected"
NO_SELECTION = {"selection": {"rows": [], "columns": [], "cells": []}}


def queue_frame(running: list[RunRecord], waiting: list[RunRecord]) -> pd.DataFrame:
    """The runs a worker has taken, then the waiting ones in order, with their place in line."""
    return pd.DataFrame(
        {
            "place": ["now"] * len(running) + [str(k) for k in range(1, len(waiting) + 1)],
            "run": [r.run_id for r in running + waiting],
            "model and data": [run_name(r) for r in running + waiting],
            "state": [_state(r) for r in running] + ["waiting"] * len(waiting),
        }
    )


def _state(rec: RunRecord) -> str:
    p = rec.progress
    if rec.status != "running" or p is None:
        return "starting"
    return f"epoch {min(p.epoch, p.epochs)} of {p.epochs}, {p.fraction:.0%}"


def _records(ids: list[str]) -> list[RunRecord]:
    return [r for r in (store().find(i) for i in ids) if r is not None]


def queue_panel() -> None:
    """The runs training and waiting in this server, in order, and a button that stops them all."""
    running, waiting = _records(lab().running()), _records(lab().queued())
    if not running and not waiting:
        return
    st.subheader("Queue", anchor=False)
    st.caption("Runs train one at a time, in the order they were started; the others wait their turn.")
    st.dataframe(queue_frame(running, waiting), hide_index=True, width="stretch")
    with st.popover(f"Stop all ({len(running) + len(waiting)})", icon=":material/stop_circle:"):
        st.write("Stop the running run at its next batch and take every waiting run off the queue?")
        if st.button("Yes, stop them all", key=KEY_STOP_ALL, type="primary"):
            count = lab().stop_all()
            flash(f"Stopped {plural(count, 'run')}: the waiting ones left the queue, the running one stops now.")
            st.rerun()


def delete_selected(selected: list[RunRecord]) -> None:
    """Delete the ticked runs with their files after a confirmation; queued or running ones are left alone."""
    if not selected:
        return
    gone = [r for r in selected if not r.active]
    kept = len(selected) - len(gone)
    with st.popover(f"Delete {plural(len(gone), 'selected run')}", icon=":material/delete:", disabled=not gone):
        also = f" ({plural(kept, 'queued or running run')} left alone: stop it first)" if kept else ""
        st.write(f"Delete {plural(len(gone), 'run')} with their checkpoints and results{also}? This cannot be undone.")
        st.button(
            "Yes, delete them", key=KEY_DELETE, type="primary", on_click=_delete, args=([r.run_id for r in gone],)
        )


def _delete(run_ids: list[str]) -> None:
    """Delete the runs, then untick every row: the table's rows move up, and ticks kept by position would arm
    a second delete of runs nobody chose (a callback: it runs before the table is drawn again)."""
    try:
        flash(lab().delete(run_ids))
    except NNLabError as exc:
        flash(str(exc), "error")
    st.session_state[KEY_TABLE] = NO_SELECTION
