"""Playground: try a finished model on a new input (a drawing, an image, a review, a series, a feature row)."""

import streamlit as st

from nnlab.core.errors import NNLabError
from nnlab.ui import page_setup, pick_run, show_error, store
from nnlab.ui.keys import KEY_MODEL_PICKER
from nnlab.ui.playground import image_input, rows_input, series_input, text_input
from nnlab.ui.results import predictor_of, results_of

NOT_A_MODEL = "The run in this link has no trained model in the store (deleted, or never finished); pick a model here."

page_setup("Playground")
st.title("Playground")
st.caption("Pick a trained model and try it on something new.")

runs = [r for r in store().list(("finished", "stopped")) if store().folder(r.run_id).has_weights()]
rec = pick_run(runs, label="Model", key=KEY_MODEL_PICKER, absent=NOT_A_MODEL)
if rec is None:
    if not runs:
        st.info("No trained model yet: train one on the Train page, then try it here.")
    st.stop()

try:
    predictor = predictor_of(rec)
    res = results_of(rec)
except NNLabError as exc:
    show_error(exc)
    st.stop()

inputs = {"image": image_input, "text": text_input, "tabular": rows_input, "series": series_input}
if predictor.kind not in inputs:
    show_error(f"Run {rec.run_id} has {predictor.kind or 'unknown'} data, which the Playground cannot take yet.")
    st.stop()
try:
    inputs[predictor.kind](predictor, res)
except NNLabError as exc:
    show_error(exc)
