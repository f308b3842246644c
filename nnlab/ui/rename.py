"""A run's name and note: its heading on the run's pages, and a popover that renames it and edits the note
(kept in the run store, so every table, picker and the report show them)."""

from __future__ import annotations

import streamlit as st

from nnlab.analysis.naming import default_name, run_name
from nnlab.core.errors import NNLabError
from nnlab.core.naming import MAX_NAME, MAX_NOTE
from nnlab.core.records import RunRecord
from nnlab.ui import flash, lab, md, show_error, status_badge
from nnlab.ui.keys import KEY_RUN_NAME, KEY_RUN_NOTE, KEY_RUN_SAVE


def run_heading(rec: RunRecord) -> None:
    """The run's name with its status and the rename popover beside it, its note under it."""
    # a row that wraps on narrow windows, so neither the button nor the badge is ever cut short
    with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
        st.subheader(md(run_name(rec)), anchor=False, width="stretch")
        rename_popover(rec)
        status_badge(rec.status)
    note_caption(rec)


def note_caption(rec: RunRecord) -> None:
    """The user's note on the run, as typed (line breaks kept, no markdown)."""
    if rec.note:
        st.caption("  \n".join(md(line) for line in rec.note.splitlines()))


def rename_popover(rec: RunRecord) -> None:
    """A popover with the run's name and note; Save writes them to the store."""
    popover = st.popover("Name and note", icon=":material/edit_note:")
    with popover, st.form(f"run_rename_{rec.run_id}", border=False):
        name = st.text_input(
            "Name",
            value=rec.name,
            max_chars=MAX_NAME,
            placeholder=default_name(rec.config),
            key=KEY_RUN_NAME.format(run=rec.run_id),
            help="Shown in the runs tables, the pickers and the report; empty for the default name.",
        )
        note = st.text_area(
            "Note",
            value=rec.note,
            max_chars=MAX_NOTE,
            placeholder="What you tried, what you noticed…",
            key=KEY_RUN_NOTE.format(run=rec.run_id),
        )
        if st.form_submit_button(
            "Save", type="primary", icon=":material/save:", key=KEY_RUN_SAVE.format(run=rec.run_id)
        ):
            save(rec, name, note)


def save(rec: RunRecord, name: str, note: str) -> None:
    """Store the typed name and note (the default name typed back means none) and show the page again."""
    try:
        flash(lab().rename(rec.run_id, name, note))
    except NNLabError as exc:
        show_error(exc)
        return
    st.rerun()
