"""The run memory budget in the Train preview: Start is disabled, with the reason, for a run whose model would
not fit in it (counted on the meta device: nothing allocated), or whose measured estimate does not; only the
local operator (a dashboard with no password) may raise the budget for one run, and the page says so."""

from __future__ import annotations

import math

import streamlit as st

from nnlab.core.config import RunConfig
from nnlab.core.facts import DataFacts
from nnlab.core.limits import MB, run_memory_budget, size_text
from nnlab.engine.batchsize import BatchFit, largest_batch
from nnlab.engine.memory import over_budget, planned_mb, static_memory
from nnlab.engine.preflight import Estimate
from nnlab.ui import store
from nnlab.ui.auth import password_set
from nnlab.ui.fields import field_key
from nnlab.ui.preflight import estimates, job_panel

KEY_OVERRIDE = "tr_memory_override"
KEY_OVERRIDE_MB = "tr_memory_override_mb"
KEY_FIND_BATCH, KEY_USE_BATCH = "tr_find_batch", "tr_use_batch"


@st.cache_data(show_spinner=False, max_entries=64)
def model_memory_mb(cfg_json: str, facts: DataFacts) -> float:
    """MB of the model's weights, gradients, optimizer state and best copy, counted on the meta device."""
    return planned_mb(static_memory(RunConfig.from_json(cfg_json), facts))


def memory_gate(cfg: RunConfig, facts: DataFacts, est: Estimate | None) -> tuple[str | None, float | None]:
    """(why Start is disabled: the run over its memory budget, or None; the budget the local operator raised for
    this run, or None). Offers the largest batch that fits, too."""
    needed = model_memory_mb(cfg.to_json(), facts)
    batch_finder(cfg)
    measured = est is not None and est.seconds_per_epoch is not None and est.memory_mb > needed
    needed = est.memory_mb if measured else needed  # measured: one batch's activations included
    refused = over_budget(needed, run_memory_budget(), measured)
    if refused is None or password_set():  # a visitor of a shared dashboard never raises it
        return refused, None
    if not st.toggle(
        "Raise the memory budget for this run",
        key=KEY_OVERRIDE,
        help="Only the operator of this machine sees this (the dashboard has no password). The run may then take "
        "the memory other work on the machine needs.",
    ):
        return refused, None
    raised = st.number_input(
        "Memory budget for this run (MB)", min_value=1, value=math.ceil(needed * 1.1), step=256, key=KEY_OVERRIDE_MB
    )
    st.warning(
        f"Memory budget raised by the local operator to {size_text(raised * MB)} for this run (the default is "
        f"{run_memory_budget().text}).",
        icon=":material/warning:",
    )
    return over_budget(needed, run_memory_budget(raised), measured), float(raised)


def batch_finder(cfg: RunConfig) -> None:
    """'Find the largest batch that fits' (measured off the page's thread); then the size, what it costs, and a
    button that puts it in the form."""
    key = f"batch {cfg.to_json()}"
    found = job_panel(
        key,
        lambda: estimates().submit(key, lambda: largest_batch(cfg, run_memory_budget(), store().root)),
        ("Find the largest batch that fits", KEY_FIND_BATCH),
        "Doubles the batch size, then bisects, against the run memory budget; then times an epoch at the size found.",
    )
    if isinstance(found, BatchFit):
        st.caption(found.sentence())
        st.button(
            f"Use batch size {found.batch_size:,}",
            key=KEY_USE_BATCH,
            on_click=_use_batch,
            args=(field_key("batch_size", cfg.arch, cfg.dataset), found.batch_size),
        )


def _use_batch(key: str, size: int) -> None:
    st.session_state[key] = size  # before the next script run draws the slider (it keeps a value off its steps)
