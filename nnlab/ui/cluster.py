"""Where a run trains, in the dashboard: the Train form's choice of this machine or a Ray cluster, and the
Home page's card for a connected cluster. Ray itself is never imported here (its driver is another process)."""

from __future__ import annotations

import streamlit as st

from nnlab.core.errors import NNLabError
from nnlab.core.placement import Placement, default_address, make_placement
from nnlab.ui import lab
from nnlab.ui.keys import KEY_RAY_ADDRESS, KEY_WHERE

WHERE = {"local": "This machine", "ray": "Ray cluster"}


def executor_picker() -> tuple[Placement | None, str]:
    """The executor the form asks for, or (None, the problem in one sentence)."""
    kind = st.radio(  # a radio wraps in a narrow column, where a segmented control is cut off
        "Where to train",
        list(WHERE),
        format_func=WHERE.get,
        horizontal=True,
        key=KEY_WHERE,
        help="This machine trains each run in a process of its own beside the dashboard. A Ray cluster trains on its workers; progress and "
        "results come back here. Runs on a cluster keep training when the dashboard restarts.",
    )
    if kind != "ray":
        return Placement(), ""
    address = st.text_input(
        "Ray address",
        value=default_address(),
        key=KEY_RAY_ADDRESS,
        placeholder="host:6379, or empty for a local instance",
        help="The cluster's head (from `ray start --head`), or `auto` for one started on this machine. "
        "Empty starts a local Ray instance. Token authentication: see the README, Scaling out.",
    )
    try:
        executor = make_placement("ray", address)
    except NNLabError as exc:
        return None, str(exc)
    st.caption(
        f"Trains on {executor.where}; each run asks for one GPU when it wants CUDA, its threads in CPUs otherwise."
    )
    return executor, ""


def cluster_card() -> None:
    """A card per Ray cluster nnlab is connected to (a live driver): nodes, CPUs, GPUs and runs."""
    for info in lab().clusters():
        if "nodes" not in info:
            continue
        with st.container(border=True):
            st.markdown("**Ray cluster**")
            gpus = int(info.get("gpus", 0))
            st.markdown(
                f"### :material/hub: {info['nodes']} node{'s' if info['nodes'] != 1 else ''} · "
                f"{info['cpus']:g} CPUs · {gpus} GPU{'s' if gpus != 1 else ''}"
            )
            runs = int(info.get("runs", 0))
            st.caption(
                f"Connected to {info['where']}; {runs} run{'s' if runs != 1 else ''} training there now. "
                "Choose **Ray cluster** on the Train page to send runs to it."
            )
