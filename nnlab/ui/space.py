"""Home's disk card: what the workspace takes against its quota, and a button that reclaims space (through the
lab: unused uploads and the last checkpoints of finished runs)."""

from __future__ import annotations

import streamlit as st

from nnlab.core.limits import size_text
from nnlab.ui import flash, lab

KEY_RECLAIM = "home_reclaim"


def space_card() -> None:
    """The workspace's disk use against its quota; over it, why new work is refused; a reclaim button."""
    used, free = lab().space(), lab().reclaimable()
    with st.container(border=True):
        st.markdown("**Workspace disk**")
        st.markdown(f"### :material/hard_drive: {size_text(used.total)} of {size_text(used.quota)}")
        st.progress(min(used.total / max(used.quota, 1), 1.0))
        unpacked = (
            f" Unpacked archives take {size_text(used.unpacked)} more, of their own {size_text(used.unpacked_quota)}."
            if used.unpacked
            else ""
        )
        st.caption(f"Uploads {size_text(used.uploads)} · run folders {size_text(used.runs)}.{unpacked}")
        if used.full():
            st.error(lab().space_problem() or "", icon=":material/block:")
        if free.total:
            reclaim_button(free.text, free.total)


def reclaim_button(what: str, size: int) -> None:
    """A confirmation in a popover, then the lab reclaims the space."""
    with st.popover(f"Reclaim {size_text(size)}", icon=":material/cleaning_services:"):
        st.write(
            f"Delete {what}? Runs keep their results, weights and best checkpoint; a finished run's last "
            "checkpoint only serves to resume it, and it never resumes."
        )
        st.button("Yes, reclaim the space", key=KEY_RECLAIM, type="primary", on_click=_reclaim)


def _reclaim() -> None:
    flash(lab().reclaim())
