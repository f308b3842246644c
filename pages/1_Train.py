"""Train: pick data, a model and hyperparameters, preview, start; then watch the run live (?run=<id>)."""

import streamlit as st

from nnlab.ui import QUERY_RUN, page_setup
from nnlab.ui.train import live_view, run_form

page_setup("Train")

run_id = st.query_params.get(QUERY_RUN)
if run_id:
    live_view(run_id)
else:
    st.title("Train a model")
    st.caption(
        "Pick a dataset, then a model that fits it, then the training settings; the preview beside the form "
        "(below it on narrow windows) updates as you go. Hover over a field's question mark for its usual range."
    )
    run_form()
