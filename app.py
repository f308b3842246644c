"""Home: the device that will train, a one-click first model, recent runs, and the way to every page."""

import streamlit as st

from nnlab.ui import page_setup
from nnlab.ui.home import device_card, first_model_card, page_links, recent_runs

page_setup("Home")

st.title(":material/science: nnlab")
st.markdown(
    "Train neural networks by point and click: watch them learn, find the examples they get wrong, "
    "compare runs, and show the result."
)

left, right = st.columns([3, 2], gap="large")
with left:
    first_model_card()
with right:
    device_card()

page_links()

st.subheader("Recent runs", anchor=False)
recent_runs()
