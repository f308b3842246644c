"""The only part of nnlab that imports Streamlit: the process-wide lab (every action that changes state goes
through it), opening a page, and widgets shared by the pages (session-state keys are in nnlab.ui.keys)."""

from __future__ import annotations

import re
import runpy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from nnlab.analysis.naming import run_name
from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.facts import DataFacts
from nnlab.core.findings import Finding
from nnlab.core.forecast import Forecast
from nnlab.core.placement import Placement
from nnlab.core.records import RunRecord
from nnlab.lab import Lab
from nnlab.store.runs import RunStore
from nnlab.ui.auth import require_password, visitor
from nnlab.ui.keys import KEY_FLASH, KEY_LOST_LINK, KEY_RUN_PICKER, QUERY_RUN
from nnlab.ui.server import keep, served_home, take
from nnlab.views.report_words import form_words

FLASH_S = 4.0  # how long a flash message stays through reruns of the page that showed it
# md(): markdown's syntax characters (':' too: :emoji: and :red[...]) are escaped; bare URLs, www. and e-mail
# addresses, which Streamlit links even when escaped, get an invisible word joiner where their pattern starts
_MARKDOWN = re.compile(r"[\\`*_{}\[\]()#+!|<>$~:]")
_AUTOLINK = re.compile(r"(?<=[a-z])(?=://)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)
WORD_JOINER = "\u2060"

STATUS_ICONS = {
    "queued": "⏳",
    "running": "🏃",
    "finished": "✅",
    "stopped": "⏹️",
    "pruned": "✂️",
    "failed": "❌",
    "diverged": "💥",
    "interrupted": "⚠️",
}
STATUS_MATERIAL = {  # Material icons ship with Streamlit, so they render where no emoji font is installed
    "queued": ":material/hourglass_top:",
    "running": ":material/sprint:",
    "finished": ":material/check_circle:",
    "stopped": ":material/stop_circle:",
    "pruned": ":material/content_cut:",
    "failed": ":material/error:",
    "diverged": ":material/trending_up:",
    "interrupted": ":material/warning:",
}
STATUS_COLORS = {
    "queued": "gray",
    "running": "blue",
    "finished": "green",
    "stopped": "orange",
    "pruned": "violet",
    "failed": "red",
    "diverged": "red",
    "interrupted": "orange",
}

FAVICON = Path(__file__).with_name("favicon.png")
ENTRY_POINT = Path(__file__).resolve().parents[2] / "app.py"
_ENTRY = threading.local()  # script runs happen on a thread per session


@contextmanager
def through_entry_point() -> Iterator[None]:
    """app.py runs its navigation inside this, so a page knows it was reached through st.navigation."""
    _ENTRY.active = True
    try:
        yield
    finally:
        _ENTRY.active = False


# the pages app.py declares with st.navigation, by the path st.switch_page and st.page_link take
TRAIN_PAGE, RESULTS_PAGE, COMPARE_PAGE = "pages/1_Train.py", "pages/2_Results.py", "pages/3_Compare.py"
SWEEP_PAGE = "pages/5_Sweep.py"


@st.cache_resource(show_spinner=False)
def _lab(home: str) -> Lab:
    return keep(home, take(home) or Lab.for_dashboard(home))


def lab() -> Lab:
    """The one lab of this server process (shared by every session and tab): every action goes through it. The
    server starts it (nnlab.ui.server); the first page run takes it over, or makes it where no server started one."""
    return _lab(served_home())


def store() -> RunStore:
    """The run store the lab writes to (for reading)."""
    return lab().store


def _entry_point_skipped() -> bool:
    """Whether app.py is the app but this page runs without its navigation around it."""
    ctx = get_script_run_ctx()
    if ctx is None or getattr(_ENTRY, "active", False):
        return False
    return Path(ctx.main_script_path).resolve() == ENTRY_POINT


def page_setup(title: str) -> None:
    """A page's first call: its tab title, the password gate and the last action's message.

    Each page makes it itself, not app.py around page.run(): next to a pages/ folder Streamlit runs a page
    script on its own in a server's first run and in AppTest, and the gate must hold there too."""
    if _entry_point_skipped():
        # A link straight to a page, in a session's first run: Streamlit ran this file on its own, under the pages/
        # folder's old navigation (its sidebar says "app"). Run the entry point instead: it resolves this page.
        runpy.run_path(str(ENTRY_POINT), run_name="__main__")
        st.stop()
    # the tab icon is a file of ours: a Material icon or an emoji there is fetched from the internet
    st.set_page_config(page_title=f"{title} · nnlab", page_icon=str(FAVICON), layout="wide")
    require_password()  # off unless .streamlit/secrets.toml sets a password
    show_flash(title)


@dataclass
class Flash:
    """The message of the last action, kept in the session until shown; with a run and a status, it describes
    that run's state (waiting in line) and goes once the run has moved on."""

    kind: str  # an st function name: "success", "info", "warning" or "error"
    text: str
    run_id: str = ""
    status: str = ""
    page: str = ""  # where it was first shown, and until when it shows again on reruns of that page
    until: float = 0.0

    def outdated(self) -> bool:
        """Whether the run it describes is gone or no longer in the state it describes."""
        if not self.run_id:
            return False
        rec = store().find(self.run_id)
        return rec is None or rec.status != self.status


def show_flash(page: str) -> None:
    """The message of the last action: on the next page run, and on reruns of that page for FLASH_S seconds
    (a live view's status change reruns the page at once, which would otherwise swallow it); one that describes
    a run's state no longer shows once the run has left that state."""
    note = st.session_state.get(KEY_FLASH)
    if not isinstance(note, Flash):
        return
    now = time.monotonic()
    if not note.page:
        note.page, note.until = page, now + FLASH_S
    elif note.page != page or now > note.until or note.outdated():
        del st.session_state[KEY_FLASH]
        return
    getattr(st, note.kind)(md(note.text))  # sentences that may quote a user's names, never markdown of ours


def go(page: str, run_id: str | None = None) -> None:
    """Switch to a page, showing run_id there when given."""
    st.switch_page(page, query_params={QUERY_RUN: run_id} if run_id else None)


def flash(text: str, kind: str = "success", run_id: str = "", status: str = "") -> None:
    """Show `text` at the top of the next run of a page (it survives st.rerun / st.switch_page); kind is an st
    function name: "success", "info", "warning" or "error". With run_id and status, the text describes that run in
    that status (its place in line): it is not shown again once the run has left it."""
    st.session_state[KEY_FLASH] = Flash(kind, text, run_id, status)


def status_label(rec: RunRecord) -> str:
    """'✅ finished' and the like."""
    return f"{STATUS_ICONS.get(rec.status, '')} {rec.status}"


def status_badge(status: str) -> None:
    """The status as a coloured badge."""
    st.badge(status, icon=STATUS_MATERIAL.get(status), color=STATUS_COLORS.get(status, "gray"))


def run_label(rec: RunRecord) -> str:
    """One line naming a run in pickers (plain text: a selectbox shows it as typed)."""
    score = f" · test {rec.test_metric} {rec.test_value:.3f}" if rec.test_value is not None else ""
    return f"{run_name(rec)} · {rec.run_id} · {rec.status}{score}"


NOT_IN_STORE = "The run in this link is not in the store; it may have been deleted. Pick a run here instead."


def pick_run(
    runs: list[RunRecord], label: str = "Run", key: str = KEY_RUN_PICKER, absent: str = NOT_IN_STORE
) -> RunRecord | None:
    """A selectbox of runs that follows and updates ?run=<id> in the URL; None when there are none, or when the
    link names a run the list lacks: then `absent` says so (the link's text is not echoed: a crafted ?run= must
    not put its markdown in the page) and no other run is shown in its place."""
    if not runs:
        return None
    ids = [r.run_id for r in runs]
    wanted = st.query_params.get(QUERY_RUN)
    lost = bool(wanted) and wanted not in ids
    notice = st.empty()  # above the picker, filled when no run is picked
    if lost and st.session_state.get(KEY_LOST_LINK) != wanted:  # a new link: no run this session picked before
        st.session_state.pop(key, None)
        st.session_state[KEY_LOST_LINK] = wanted
    chosen = st.selectbox(
        label,
        ids,
        index=None if lost else ids.index(wanted) if wanted in ids else 0,
        format_func=lambda i: run_label(runs[ids.index(i)]),
        key=key,
        placeholder="choose a run",
    )
    if chosen is None:
        if lost:
            notice.warning(absent, icon=":material/link_off:")
        return None
    if st.query_params.get(QUERY_RUN) != chosen:
        st.query_params[QUERY_RUN] = chosen
    return runs[ids.index(chosen)]


# a table whose row opens something: a click on any cell picks its row (with rows alone, only the checkbox did)
ROW_CLICKS = ["single-row", "single-cell"]


def clicked_row(event: object) -> int | None:
    """The row a click on a ROW_CLICKS table picked: by its checkbox or by any of its cells; None when none."""
    selection = getattr(event, "selection", None)
    if selection is None:
        return None
    if selection.rows:
        return selection.rows[0]
    return selection.cells[0][0] if selection.cells else None


def findings_ui(findings: tuple[Finding, ...]) -> None:
    """The data check's findings in a panel: what looks wrong (amber), then what nnlab did (blue), each sentence in
    the form's words (its labels, not the command line's flags)."""
    if not findings:
        return
    with st.container(border=True, key="data_check"):
        st.markdown("**Data check**")
        for warns, box, icon in ((True, st.warning, ":material/report:"), (False, st.info, ":material/checklist:")):
            shown = [f"- {md(form_words(f.sentence))}" for f in findings if f.warns == warns]
            if shown:
                box("\n\n".join(shown), icon=icon)


def md(text: object) -> str:
    """User data (class, column, file and run names, and messages that quote them) made literal inside Streamlit
    markdown: no link, image, HTML, emphasis, icon or formula can come from it; it reads as it was typed."""
    return _MARKDOWN.sub(lambda m: "\\" + m.group(0), _AUTOLINK.sub(WORD_JOINER, str(text)))


def show_error(exc: NNLabError | str) -> None:
    """A user's mistake as one sentence in an error box (never a traceback); names in it are shown as typed."""
    st.error(md(form_words(str(exc))), icon=":material/error:")  # the form's labels, not the flags


def start_runs(
    cfg: RunConfig,
    seeds: int = 1,
    placement: Placement | None = None,
    name: str = "",
    note: str = "",
    message: str = "",
    memory_budget_mb: float | None = None,
    forecast: Forecast | None = None,
    data_facts: DataFacts | None = None,
) -> str | None:
    """Start cfg (K seeds of it) through the lab and leave its sentence for the next page run (`message`, with
    {run_id}, instead when the run starts at once); the first run's id, or None after showing why not. A budget
    the local operator raised, and the estimate measured before Start, stay with the run."""
    try:
        started = lab().start(cfg, seeds, placement, name, note, memory_budget_mb, forecast, visitor(), data_facts)
    except NNLabError as exc:
        show_error(exc)
        return None
    if started.place:  # "number 2 in line": true while it waits; its live view says where it stands after that
        flash(started.message, run_id=started.run_id, status="queued")
    else:
        flash(message.format(run_id=started.run_id) if message and seeds == 1 else started.message)
    return started.run_id
