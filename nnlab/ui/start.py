"""The Train form's start box: how many seeds, the run's name and note, where it trains, and Start."""

from __future__ import annotations

import streamlit as st

from nnlab.analysis.naming import default_name
from nnlab.core.config import RunConfig
from nnlab.core.facts import DataFacts
from nnlab.core.limits import MAX_SEEDS, MAX_VISITOR_SEEDS
from nnlab.core.naming import MAX_NAME, MAX_NOTE
from nnlab.core.placement import Placement
from nnlab.engine.preflight import Estimate, forecast_of
from nnlab.ui import QUERY_RUN, lab, show_error, start_runs
from nnlab.ui.auth import visitor
from nnlab.ui.cluster import executor_picker
from nnlab.ui.keys import KEY_NEW_NAME, KEY_NEW_NOTE, KEY_SEEDS, KEY_START


def start_box(
    cfg: RunConfig, blocked: bool, raised: float | None, estimate: Estimate | None, facts: DataFacts | None = None
) -> None:
    """Seeds, name and note, where to train, and Start (disabled while `blocked`: a problem is shown above);
    facts: the data's, as the preview loaded them (the lab counts the run's memory from them)."""
    shared = bool(visitor())  # the lab refuses a visitor's start of more seeds: the field offers no more
    seeds = st.number_input(
        "Seeds",
        min_value=1,
        max_value=MAX_VISITOR_SEEDS if shared else MAX_SEEDS,
        value=1,
        key=KEY_SEEDS,
        help="Run this config once per seed, from the Seed under Advanced upward: the runs form one group, "
        "and Compare shows their mean with a 95% band, so a difference can be told from the noise of a seed."
        + (f" A visitor of this shared dashboard starts {MAX_VISITOR_SEEDS} at most." if shared else ""),
    )
    name, note = name_and_note(cfg)
    executor, where_problem = executor_picker()
    full = lab().space_problem()  # the workspace is at its disk quota
    for problem in (where_problem, full):
        if problem:
            show_error(problem)
    if st.button(
        "Start training" if seeds == 1 else f"Start {seeds} runs",
        icon=":material/play_arrow:",
        type="primary",
        key=KEY_START,
        disabled=blocked or bool(where_problem or full),
        width="stretch",
        help="Fix the problems above first." if blocked else "Queue the run; training starts at once.",
    ):
        start_run(cfg, seeds, executor, raised, estimate, name, note, facts)


def name_and_note(cfg: RunConfig) -> tuple[str, str]:
    """What to call the run (empty: the default name, shown as the placeholder) and a note kept with it."""
    # one under the other: the preview's column is narrow, and the default name shows whole as the hint
    name = st.text_input(
        "Run name (optional)",
        key=KEY_NEW_NAME,
        placeholder=default_name(cfg),
        max_chars=MAX_NAME,
        help="Shown in the runs tables, the pickers and the report; empty keeps the default name. "
        "With several seeds, every run of the group gets it.",
    )
    note = st.text_input(
        "Note (optional)",
        key=KEY_NEW_NOTE,
        max_chars=MAX_NOTE,
        placeholder="what this run tries",
        help="Kept with the run: on its page, in the runs tables and in the report.",
    )
    return name, note


def start_run(
    cfg: RunConfig,
    seeds: int,
    placement: Placement | None,
    raised: float | None,
    est: Estimate | None,
    name: str = "",
    note: str = "",
    facts: DataFacts | None = None,
) -> None:
    """Start the run (or one run per seed, a group), here or on Ray, named and noted, with the budget the local
    operator raised and the estimate measured before; show the first one's live view (its id goes in the URL)."""
    forecast = forecast_of(est) if est else None
    run_id = start_runs(cfg, seeds, placement, name, note, memory_budget_mb=raised, forecast=forecast, data_facts=facts)
    if run_id:
        st.session_state.pop(KEY_NEW_NAME, None)  # the next run is another one: its own name, if any
        st.session_state.pop(KEY_NEW_NOTE, None)
        st.query_params[QUERY_RUN] = run_id
        st.rerun()
