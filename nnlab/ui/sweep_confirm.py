"""The Sweep page's confirmation: the headline that says whether the winner holds over more seeds, the confirmed
trials, and a button that re-runs the top trials with more seeds (with the pre-flight time first)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from nnlab.core.errors import NNLabError
from nnlab.core.text import format_duration, plural
from nnlab.sweeps.confirm import Confirmation, confirmation
from nnlab.sweeps.store import ACTIVE_SWEEPS, RESUMABLE_SWEEPS, SweepRecord
from nnlab.ui import flash, lab, md, show_error, store
from nnlab.ui.preflight import estimates
from nnlab.views.sweep_report import confirmed_cells, confirmed_columns

KEY_CONFIRM = "sw_confirm"


def confirmation_panel(rec: SweepRecord) -> None:
    """The confirmation's headline and table once it has one; otherwise the offer to run it."""
    found = confirmation(store(), rec)
    if found is not None:
        headline(found)
    if rec.status in RESUMABLE_SWEEPS and rec.status not in ACTIVE_SWEEPS and (found is None or found.complete):
        confirm_offer(rec)


def headline(found: Confirmation) -> None:
    """ "Best: trial 17, 0.981 ± 0.004 over 3 seeds, ..." or the tie, and each confirmed trial."""
    if not found.complete:
        st.info(md(found.headline), icon=":material/hourglass_top:")
        return
    tie = any(t.tied_with_best for t in found.trials)
    (st.info if tie else st.success)(f"**{md(found.headline)}**", icon=":material/verified:")
    rows = [[str(t.trial), *(text for text, _ in confirmed_cells(found.metric, t))] for t in found.trials]
    table = pd.DataFrame(rows, columns=confirmed_columns(found.metric))  # as the sweep's HTML report has it
    st.table(table.set_index("trial"))  # a few rows that wrap on a narrow window, never cut at its edge


def confirm_offer(rec: SweepRecord) -> None:
    """Re-run the top trials with more seeds: how many runs, their pre-flight time, and the button."""
    try:
        plan = lab().confirm_plan(rec.sweep_id, measure=False)
    except NNLabError as exc:
        show_error(exc)
        return
    if not plan.runs:
        return
    queue = estimates()
    for _, cfg in plan.runs:
        queue.request(cfg)
    found = [queue.result(cfg) for _, cfg in plan.runs]
    seconds = plan.seconds_of([f if not isinstance(f, str) else None for f in found])
    cost = f"about {format_duration(seconds)} (pre-flight estimate)" if seconds is not None else "time being measured…"
    st.caption(
        f"The best trial may partly be its seed's luck: re-running the top {plan.top} trials with {plan.seeds} more "
        f"seeds each ({plural(len(plan.runs), 'run')}, {cost}) says whether it is really ahead."
    )
    if st.button(f"Confirm the top {plan.top} trials", key=KEY_CONFIRM, icon=":material/verified:"):
        try:
            flash(lab().confirm_sweep(rec.sweep_id), "info")
        except NNLabError as exc:
            show_error(exc)
            return
        st.rerun()
