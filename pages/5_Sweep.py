"""Sweep: search hyperparameters (?sweep=<id> shows one sweep, live while it runs)."""

import streamlit as st

from nnlab.ui import page_setup
from nnlab.ui.keys import QUERY_SWEEP
from nnlab.ui.sweep import sweep_form
from nnlab.ui.sweep_view import sweep_list, sweep_view

page_setup("Sweep")

sweep_id = st.query_params.get(QUERY_SWEEP)
if sweep_id:
    sweep_view(sweep_id)
else:
    st.title("Sweep hyperparameters")
    st.caption(
        "Set the base run as on Train, tick the fields to vary and their ranges, then let Optuna propose "
        "the trials; hopeless ones can be pruned early. Every trial is an ordinary run."
    )
    sweep_form()
    st.subheader("Earlier sweeps", anchor=False)
    sweep_list()
