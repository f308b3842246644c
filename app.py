"""nnlab's entry point: every page declared once; Home is the page function below.

`streamlit run app.py` imports this file once to serve it (the `app` below: the lab and its queued runs start with
the server, nnlab.ui.server), then runs it for each page view (as __main__: the navigation)."""

import streamlit as st

from nnlab.ui import page_setup, through_entry_point
from nnlab.ui.auth import locked
from nnlab.ui.home import device_card, first_model_card, page_links, recent_runs, recent_sweeps
from nnlab.ui.manage import queue_panel
from nnlab.ui.server import lifespan
from nnlab.ui.space import space_card


def home() -> None:
    """The device that will train, a one-click first model, the way to every page, and recent runs."""
    page_setup("Home")
    st.title(":material/science: nnlab")
    st.markdown(
        "Train neural networks by point and click: watch them learn, find the examples they get wrong, "
        "compare runs, and show the result."
    )
    with st.container(horizontal=True, gap="large"):  # side by side where both fit, stacked on narrow windows
        with st.container(width=520):
            first_model_card()
        with st.container(width="stretch"):
            device_card()
            space_card()
    page_links(PAGES[1:])
    queue_panel()
    st.subheader("Recent runs", anchor=False)
    recent_runs()
    recent_sweeps()


if __name__ == "__main__":  # a page view (Streamlit runs the script as __main__)
    # No icons on st.Page: a page's icon becomes the tab's favicon, fetched from the internet (the local one stays).
    PAGES = [
        st.Page(home, title="Home", default=True),
        st.Page("pages/1_Train.py", title="Train"),
        st.Page("pages/2_Results.py", title="Results"),
        st.Page("pages/3_Compare.py", title="Compare"),
        st.Page("pages/4_Playground.py", title="Playground"),
        st.Page("pages/5_Sweep.py", title="Sweep"),
    ]
    with through_entry_point():
        st.navigation(PAGES, position="hidden" if locked() else "sidebar").run()
else:  # imported by `streamlit run` to be served
    app = st.App(__file__, lifespan=lifespan)
