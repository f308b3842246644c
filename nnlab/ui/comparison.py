"""Streamlit pieces of a two-way comparison on the Compare page: the verdict with the differing config beside
it, the clickable A−B confusion difference, the examples that flipped, and the comparison's HTML export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from nnlab.analysis.comparison import (
    Member,
    TwoWay,
    cell_moves,
    compare,
    describe,
    diff_rows,
    error_gap_along_series,
    score_row,
)
from nnlab.analysis.stats import A_BETTER, B_BETTER
from nnlab.core.errors import NNLabError
from nnlab.core.records import RunRecord
from nnlab.ui import md, show_error, store
from nnlab.ui.keys import KEY_FLIP_CELL, KEY_FLIP_LAST
from nnlab.ui.results import clicked_cell, example_cards, results_of
from nnlab.views.comparison_plots import error_gap_figure, flip_matrix_figure
from nnlab.views.comparison_report import build_comparison_report, comparison_filename
from nnlab.views.examples import feature_names

KEY_FLIP_CHART = "compare_flip_chart_{a}_{b}"
SHOWN = 24  # examples per list
VERDICT_WIDTH, DIFF_WIDTH = 460, 400  # pixels of the verdict's evidence and of the score-and-diff table beside it


@st.cache_resource(show_spinner="Comparing on the test set…", max_entries=8)
def _two_way(name_a: str, name_b: str, stamp: float) -> TwoWay:
    return compare(store(), name_a, name_b, results_of)


def two_way(name_a: str, name_b: str, records: list[RunRecord]) -> TwoWay | None:
    """The comparison of B against A (cached until any run changes), or None after saying why not."""
    stamp = max((r.updated for r in records), default=0.0)
    try:
        return _two_way(name_a, name_b, stamp)
    except NNLabError as exc:
        show_error(exc)
        return None


def verdict_section(tw: TwoWay) -> None:
    """The verdict in words with each side's interval, and the config fields that differ beside it."""
    lines = describe(tw)
    box = {B_BETTER: st.success, A_BETTER: st.warning}.get(tw.verdict.verdict, st.info)
    box(f"**{md(lines[0])}**", icon=":material/balance:")
    row = st.container(horizontal=True, gap="medium")  # side by side where both fit, stacked on narrow windows
    left, right = row.container(width=VERDICT_WIDTH), row.container(width=DIFF_WIDTH)
    with left:
        for line in lines[1:]:
            st.markdown(f"- {md(line)}")
    with right:  # the score first, so the fields that differ sit beside who won
        rows = diff_rows(tw)
        st.markdown("**Test score and the config fields that differ**")
        df = pd.DataFrame([score_row(tw), *rows], columns=["field", "A", "B"])
        st.dataframe(df, hide_index=True, width="stretch", height=min(35 * (len(df) + 1) + 3, 300))
        if not rows:
            st.caption("The configs are the same: only the seed's randomness differs.")
    st.download_button(
        "⬇️ This comparison as HTML",
        lambda: build_comparison_report(
            tw, store().metrics_many([m.record.run_id for m in (*tw.a.members, *tw.b.members)])
        ),
        file_name=comparison_filename(tw),
        mime="text/html",
        key="compare_dl_report",
        on_click="ignore",
    )


def flips_section(tw: TwoWay) -> None:
    """What flipped between the pair of runs on one test set: by cell for classifiers, over time for forecasters."""
    if tw.pair is None:
        st.caption("No flipped examples: the two sides were tested on different splits (their seeds differ).")
        return
    ma, mb = tw.pair
    if tw.a.is_group or tw.b.is_group:
        st.caption(
            f"Examples from the runs with seed {ma.record.config.seed}: {ma.record.run_id} (A), {mb.record.run_id} (B)."
        )
    if ma.results.task == "regression":
        st.plotly_chart(error_gap_figure(*error_gap_along_series(ma, mb)), key="compare_error_gap")
        st.caption(f"B's error is lower at {len(tw.flips.b_better)} test steps and higher at {len(tw.flips.a_better)}.")
        return
    cell = _flip_matrix(ma, mb)
    if cell is not None:
        _cell_lists(ma, mb, cell)
    a_tab, b_tab = st.tabs(
        [f"A right, B wrong ({len(tw.flips.a_better)})", f"B right, A wrong ({len(tw.flips.b_better)})"]
    )
    with a_tab:
        examples(ma, mb, tw.flips.a_better, "B's most confident mistakes first.")
    with b_tab:
        examples(ma, mb, tw.flips.b_better, "A's most confident mistakes first.")


def _flip_matrix(ma: Member, mb: Member) -> tuple[int, int] | None:
    a, b = ma.record.run_id, mb.record.run_id
    ca, cb = ma.results.report["confusion"], mb.results.report["confusion"]
    classes = ma.results.classes
    st.markdown(
        "**Confusion difference, B minus A** — click a cell to see the test examples that moved into or out of it."
    )
    event = st.plotly_chart(
        flip_matrix_figure(ca, cb, classes),
        on_select="rerun",
        selection_mode="points",
        width="content",
        key=KEY_FLIP_CHART.format(a=a, b=b),
        config={"displayModeBar": False},
    )
    changed = [(t, p) for t in range(len(classes)) for p in range(len(classes)) if ca[t][p] != cb[t][p]]
    clicked, last_key, cell_key = clicked_cell(event), KEY_FLIP_LAST.format(a=a, b=b), KEY_FLIP_CELL.format(a=a, b=b)
    if clicked is not None and clicked != st.session_state.get(last_key):
        if clicked not in changed:
            changed.append(clicked)
        st.session_state[cell_key] = clicked
    st.session_state[last_key] = clicked
    if st.session_state.get(cell_key) not in (None, *changed):
        changed.append(st.session_state[cell_key])
    return st.selectbox(
        "Cell",
        changed,
        index=None,
        key=cell_key,
        format_func=lambda c: f"true {classes[c[0]]}, predicted {classes[c[1]]}: {ca[c[0]][c[1]]} → {cb[c[0]][c[1]]}",
        placeholder="click a cell above, or pick one whose count changed",
    )


def _cell_lists(ma: Member, mb: Member, cell: tuple[int, int]) -> None:
    t, p = cell
    classes = [md(c) for c in ma.results.classes]
    into, out = cell_moves(ma, mb, t, p)
    st.markdown(f"##### Test examples of true {classes[t]} that moved with respect to predicted {classes[p]}")
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown(f"**Into the cell ({len(into)})**: B predicts {classes[p]}, A did not")
        examples(ma, mb, into, "B's most confident first.")
    with right:
        st.markdown(f"**Out of the cell ({len(out)})**: A predicted {classes[p]}, B does not")
        examples(ma, mb, out, "A's most confident first.")


def _said(member: Member, i: int) -> str:
    p = member.results.predictions
    label = member.results.classes[int(p.y_pred[i])]
    return f"{label} {p.probs[i, p.y_pred[i]]:.0%}" if p.probs is not None else label


def examples(ma: Member, mb: Member, idx: np.ndarray, order: str) -> None:
    """Test examples idx as thumbnails, review texts or feature rows, with the true class and each run's answer."""
    if not len(idx):
        st.caption("None.")
        return
    shown = idx[:SHOWN]
    st.caption(f"{len(idx)} example(s); {order}" + (f" The first {SHOWN} are shown." if len(idx) > SHOWN else ""))
    ex, classes, y = ma.results.examples, ma.results.classes, ma.results.predictions.y_true
    if ex.images is not None or ex.texts is not None:  # thumbnails that wrap, or whole reviews, as in the export
        captions = [f"#{i} · true {classes[int(y[i])]} · A {_said(ma, i)} · B {_said(mb, i)}" for i in shown]
        example_cards(ma.results, shown, captions)
        return
    df = pd.DataFrame(
        {
            "example": shown,
            "true": [classes[int(y[i])] for i in shown],
            "A says": [_said(ma, i) for i in shown],
            "B says": [_said(mb, i) for i in shown],
        }
    )
    if ex.rows is not None:
        df = pd.concat([df, pd.DataFrame(ex.rows[shown], columns=feature_names(ma.results))], axis=1)
    st.dataframe(df, hide_index=True, width="stretch")
