"""The only part of nnlab that imports Streamlit: the process-wide store and job manager, session keys,
and widgets shared by the pages."""

from __future__ import annotations

import os

import streamlit as st

from nnlab.errors import NNLabError
from nnlab.jobs import JobManager
from nnlab.runs import RunRecord, RunStore, default_home

# st.session_state keys (short-lived UI state only; durable facts live in the store)
KEY_FLASH = "nnlab_flash"  # a one-time message shown at the top of the next page run
QUERY_RUN = "run"  # st.query_params key holding the run a page shows, so refresh and new tabs re-attach

STATUS_ICONS = {"queued": "⏳", "running": "🏃", "finished": "✅", "stopped": "⏹️", "failed": "❌",
                "diverged": "💥", "interrupted": "⚠️"}


@st.cache_resource(show_spinner=False)
def _manager(home: str) -> JobManager:
    return JobManager(RunStore(home))


def manager() -> JobManager:
    """The one job manager of this server process (shared by every session and tab)."""
    return _manager(str(os.path.abspath(default_home())))


def store() -> RunStore:
    """The run store the manager writes to."""
    return manager().store


def page_setup(title: str, icon: str = "🧪") -> None:
    """Page config and any message left by the previous action."""
    st.set_page_config(page_title=f"{title} · nnlab", page_icon=icon, layout="wide")
    flash = st.session_state.pop(KEY_FLASH, None)
    if flash:
        kind, text = flash
        getattr(st, kind)(text)


def flash(text: str, kind: str = "success") -> None:
    """Show `text` at the top of the next run of a page (it survives st.rerun / st.switch_page)."""
    st.session_state[KEY_FLASH] = (kind, text)


def status_label(rec: RunRecord) -> str:
    """'✅ finished' and the like."""
    return f"{STATUS_ICONS.get(rec.status, '')} {rec.status}"


def run_label(rec: RunRecord) -> str:
    """One line naming a run in pickers."""
    score = f" · test {rec.test_metric} {rec.test_score:.3f}" if rec.test_score is not None else ""
    return f"{rec.run_id} · {rec.arch} on {rec.dataset} · {rec.status}{score}"


def pick_run(runs: list[RunRecord], label: str = "Run", key: str = "run_picker") -> RunRecord | None:
    """A selectbox of runs that follows and updates ?run=<id> in the URL; None when there are none."""
    if not runs:
        return None
    ids = [r.run_id for r in runs]
    wanted = st.query_params.get(QUERY_RUN)
    index = ids.index(wanted) if wanted in ids else 0
    chosen = st.selectbox(label, ids, index=index, format_func=lambda i: run_label(runs[ids.index(i)]), key=key)
    if st.query_params.get(QUERY_RUN) != chosen:
        st.query_params[QUERY_RUN] = chosen
    return runs[ids.index(chosen)]


def show_error(exc: NNLabError) -> None:
    """A user's mistake as one sentence in an error box (never a traceback)."""
    st.error(str(exc), icon="🚫")
