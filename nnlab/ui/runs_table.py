"""Streamlit pieces of the Compare page: the runs table with filters and selection, and re-running a config."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from nnlab.analysis.naming import data_label, run_name
from nnlab.analysis.runs_table import filter_runs
from nnlab.core.records import RunRecord
from nnlab.core.text import plural
from nnlab.ui import TRAIN_PAGE, go, start_runs
from nnlab.ui.keys import KEY_CONFIRM, KEY_FILTER, KEY_GROUP_TABLE, KEY_GROUPED, KEY_SCORE_DATASET, KEY_TABLE

_COLUMNS = {
    "run": st.column_config.TextColumn("run", pinned=True),
    "name": st.column_config.TextColumn("name", help="Rename a run on its Results page, or here with one run ticked"),
    "note": st.column_config.TextColumn("note"),
    "placed": st.column_config.TextColumn("trained on", help="This machine, or the Ray cluster the run was sent to"),
    "sweep": st.column_config.TextColumn("sweep", help="The sweep whose trial the run is (empty: a run of its own)"),
    "lr": st.column_config.NumberColumn("lr", format="%.0e"),
    "weight_decay": st.column_config.NumberColumn("weight decay", format="%.0e"),
    "batch_size": st.column_config.NumberColumn("batch"),
    "dropout": st.column_config.NumberColumn("dropout", format="%.2f"),
    "best_val_metric": st.column_config.NumberColumn("best val value", format="%.4f"),
    "test_metric": st.column_config.TextColumn("test metric"),
    "test_value": st.column_config.NumberColumn("test value", format="%.4f"),
    "seconds": st.column_config.NumberColumn("duration (s)", format="%.1f"),
    "created": st.column_config.DatetimeColumn("created (UTC)", format="YYYY-MM-DD HH:mm"),
}


FILTER_LABELS = {"status": "Status", "arch": "Architecture", "dataset": "Dataset", "sweep": "Sweep"}


def filters(df: pd.DataFrame) -> pd.DataFrame:
    """Multiselects for status, architecture, dataset and sweep, and a name search; the rows that pass."""
    chosen = {}
    for row in (("status", "arch", "dataset"), ("sweep", "name")):
        for col, name in zip(st.columns(3), row, strict=False):
            if name == "name":
                typed = col.text_input("Name contains", key=KEY_FILTER.format(col=name), placeholder="any name")
                continue
            chosen[name] = col.multiselect(
                FILTER_LABELS[name],
                sorted(df[name].unique()),
                key=KEY_FILTER.format(col=name),
                placeholder="all",
                format_func=lambda v: v or "not in a sweep",
            )
    return filter_runs(df, chosen["status"], chosen["arch"], chosen["dataset"], chosen["sweep"], typed)


def runs_table_ui(df: pd.DataFrame) -> list[str]:
    """The sortable runs table with row selection; returns the selected run ids, in table order."""
    event = st.dataframe(
        df,
        key=KEY_TABLE,
        on_select="rerun",
        selection_mode="multi-row",
        hide_index=True,
        width="stretch",
        height=min(36 * (len(df) + 1) + 3, 420),
        column_config=_COLUMNS,
    )
    rows = event.selection.rows if event is not None else []
    return [df["run"].iloc[i] for i in sorted(rows) if i < len(df)]


def rerun_ui(rec: RunRecord) -> None:
    """Re-run a run's exact config after a confirmation; the new run opens on the Train page."""
    if st.session_state.get(KEY_CONFIRM) != rec.run_id:
        if st.button(f"Re-run {rec.run_id} with the same config", icon=":material/replay:"):
            st.session_state[KEY_CONFIRM] = rec.run_id
            st.rerun()
        return
    st.warning(
        f"Queue a new run with the config of {rec.run_id} ({run_name(rec)}, {plural(rec.epochs_planned, 'epoch')})?"
    )
    yes, no = st.columns([1, 4])
    if no.button("Cancel", key="compare_rerun_cancel"):
        st.session_state.pop(KEY_CONFIRM, None)
        st.rerun()
    if yes.button("Yes, queue it", type="primary", key="compare_rerun_yes"):
        st.session_state.pop(KEY_CONFIRM, None)
        run_id = start_runs(rec.config, message=f"Run {{run_id}} queued with the config of {rec.run_id}.")
        if run_id is not None:
            go(TRAIN_PAGE, run_id)


_GROUP_COLUMNS = {
    **_COLUMNS,
    "group": st.column_config.TextColumn("group", pinned=True, help="Runs whose configs differ only in the seed"),
    "seeds": st.column_config.NumberColumn("seeds", help="Runs in the group"),
    "test_value": st.column_config.NumberColumn("test mean", format="%.4f"),
    "test_sd": st.column_config.NumberColumn("± sd", format="%.4f", help="Standard deviation over seeds"),
    "mean ± sd": None,  # the text form is for the command line and exports; the table has the two numbers
}


def group_toggle() -> bool:
    """Whether the table shows one row per group of seeds."""
    return st.toggle(
        "Group runs that differ only in the seed",
        key=KEY_GROUPED,
        help="One row per config: the mean test value over its seeds, its spread and the number of seeds.",
    )


def groups_table_ui(df: pd.DataFrame) -> list[str]:
    """The groups table with row selection; returns the selected group ids, in table order."""
    event = st.dataframe(
        df,
        key=KEY_GROUP_TABLE,
        on_select="rerun",
        selection_mode="multi-row",
        hide_index=True,
        width="stretch",
        height=min(36 * (len(df) + 1) + 3, 420),
        column_config=_GROUP_COLUMNS,
    )
    rows = event.selection.rows if event is not None else []
    return [df["group"].iloc[i] for i in sorted(rows) if i < len(df)]


def score_pool(records: list[RunRecord]) -> list[RunRecord]:
    """The scored runs of one dataset (asked for when several): one score axis never mixes datasets."""
    scored = [r for r in records if r.test_value is not None]
    datasets = pd.Series([data_label(r.config) for r in scored]).value_counts()
    if len(datasets) > 1:
        chosen = st.selectbox(
            "Score axis for the runs on",
            list(datasets.index),
            key=KEY_SCORE_DATASET,
            format_func=lambda d: f"{d} ({plural(int(datasets[d]), 'run')})",
            help="Test values of different datasets are not comparable, so the plot shows one dataset at a time.",
        )
        scored = [r for r in scored if data_label(r.config) == chosen]
    return scored
