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
    error_gap_along_series,
    wants_more_seeds,
)
from nnlab.analysis.noise import ONE_SEED, SEED_NOISE, STABLE, TAG_ORDER, ExampleNoise
from nnlab.analysis.stats import A_BETTER, B_BETTER
from nnlab.core.errors import NNLabError
from nnlab.core.records import RunRecord
from nnlab.core.text import format_duration, plural
from nnlab.lab.seeds import MORE_SEEDS, seconds_of
from nnlab.ui import flash, lab, md, show_error, store
from nnlab.ui.keys import KEY_FLIP_CELL, KEY_FLIP_LAST, KEY_FLIP_TAG, KEY_MORE_SEEDS
from nnlab.ui.labels import test_flags
from nnlab.ui.preflight import estimates
from nnlab.ui.results import LABEL_BADGE, badge, clicked_cell, example_cards, results_of
from nnlab.views.comparison_plots import error_gap_figure, flip_matrix_figure
from nnlab.views.comparison_report import build_comparison_report, comparison_filename, differs_rows
from nnlab.views.examples import example_rows

KEY_FLIP_CHART = "compare_flip_chart_{a}_{b}"
SHOWN = 24  # examples per list
VERDICT_WIDTH, DIFF_WIDTH = 460, 400  # pixels of the verdict's evidence and of the score-and-diff table beside it
SETTING_WIDTH = 120  # pixels of that table's first column (the form's labels)


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
    """The verdict sentence, its evidence (the exact p-value first) and the config fields that differ beside it;
    with one seed on a side, an offer of two more seeds of each with their pre-flight time."""
    lines = describe(tw)
    box = {B_BETTER: st.success, A_BETTER: st.warning}.get(tw.verdict.verdict, st.info)
    box(f"**{md(lines[0])}**", icon=":material/balance:")
    row = st.container(horizontal=True, gap="medium")  # side by side where both fit, stacked on narrow windows
    left, right = row.container(width=VERDICT_WIDTH), row.container(width=DIFF_WIDTH)
    with left:
        for line in lines[1:]:
            st.markdown(f"- {md(line)}")
    with right:  # the score first, so the fields that differ sit beside who won
        rows = differs_rows(tw)  # the form's labels and values, as the comparison's HTML report has them
        st.markdown("**Test score and the config fields that differ**")
        df = pd.DataFrame(rows, columns=["setting", "A", "B"])
        side = (DIFF_WIDTH - SETTING_WIDTH) // 2 - 5  # A and B alike: a long value never pushes B's out of sight
        widths = {"setting": SETTING_WIDTH, "A": side, "B": side}
        config = {k: st.column_config.TextColumn(k, width=w) for k, w in widths.items()}
        st.dataframe(
            df, hide_index=True, width="stretch", height=min(35 * (len(df) + 1) + 3, 300), column_config=config
        )
        if len(rows) == 1:
            st.caption("The configs are the same: only the seed's randomness differs.")
    if wants_more_seeds(tw):
        more_seeds_offer(tw)
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


def more_seeds_offer(tw: TwoWay) -> None:
    """Two more seeds of each side's config, with the pre-flight time (measured off the page's thread)."""
    try:
        plan = lab().plan_more_seeds([tw.a.config, tw.b.config], MORE_SEEDS)
    except NNLabError as exc:
        show_error(exc)
        return
    queue = estimates()
    for cfg in plan.configs:
        queue.request(cfg)
    found = [queue.result(cfg) for cfg in plan.configs]
    seconds = seconds_of([f if not isinstance(f, str) else None for f in found], plan.seeds)
    cost = f"about {format_duration(seconds)} (pre-flight estimate)" if seconds else "time being estimated…"
    if any(queue.pending(cfg) for cfg in plan.configs):
        _rerun_when_measured(plan.configs)
    st.info(
        f"With one seed on a side the seed-noise floor is unknown: {MORE_SEEDS} more seeds of each would tell which "
        f"flips are stable and which are seed noise; {plan.runs} runs, {cost}.",
        icon=":material/casino:",
    )
    if st.button(f"Run {MORE_SEEDS} more seeds of each", key=KEY_MORE_SEEDS, icon=":material/add:"):
        try:
            ids = lab().start_more_seeds(plan)
        except NNLabError as exc:
            show_error(exc)
            return
        flash(
            f"{plural(len(ids), 'run')} queued: {MORE_SEEDS} more seeds of each side. When they finish, turn on "
            "*Group runs that differ only in the seed* and tick the two groups for the verdict over every seed."
        )
        st.rerun()


def _rerun_when_measured(configs: tuple) -> None:
    @st.fragment(run_every=1.0)
    def waiting() -> None:
        if not any(estimates().pending(cfg) for cfg in configs):
            st.rerun()

    waiting()


def flips_section(tw: TwoWay) -> None:
    """What flipped between A and B on their shared test rows, each example tagged stable or seed noise (stable
    first): by cell and in two lists for classifiers, along the series for forecasters."""
    if tw.pair is None or tw.noise is None or tw.flips is None:
        st.caption("No flipped examples: the two sides scored different test rows (their splits differ).")
        return
    ma, mb, noise = *tw.pair, tw.noise
    if noise.seeds != (1, 1):
        st.caption(
            f"Tags count every seed that scored these test rows ({noise.seeds[0]} of A, {noise.seeds[1]} of B); the "
            f"answers shown are seed {ma.record.config.seed} ({ma.record.run_id}) for A and seed "
            f"{mb.record.config.seed} ({mb.record.run_id}) for B."
        )
    tag = tag_filter(noise)
    if ma.results.task == "regression":
        st.plotly_chart(error_gap_figure(*error_gap_along_series(ma, mb)), key="compare_error_gap")
        st.caption(_step_counts(noise))
        return
    cell = _flip_matrix(ma, mb)
    if cell is not None:
        _cell_lists(ma, mb, cell, noise, tag)
    a_list, b_list = (_only(idx, noise, tag) for idx in (tw.flips.a_better, tw.flips.b_better))
    right = ("A right, B wrong", "B right, A wrong") if noise.seeds == (1, 1) else ("Toward A", "Toward B")
    a_tab, b_tab = st.tabs([f"{right[0]} ({len(a_list)})", f"{right[1]} ({len(b_list)})"])
    with a_tab:
        examples(ma, mb, a_list, "stable flips first, then B's most confident mistakes.", noise)
    with b_tab:
        examples(ma, mb, b_list, "stable flips first, then A's most confident mistakes.", noise)


TAG_CHOICES = {"All flips": "", "Stable": STABLE, "Seed noise": SEED_NOISE}


def tag_filter(noise: ExampleNoise) -> str:
    """Which flipped examples to list: all, only stable ones or only seed noise (a tag; "" for all)."""
    if noise.one_seed and not (noise.tag == SEED_NOISE).any():
        st.caption(
            "With one seed on a side no flip can be told from seed noise: the examples below are tagged "
            f"'{ONE_SEED}'. Two more seeds of each would sort them into stable flips and seed noise."
        )
        return ""
    picked = st.segmented_control(
        "Show", list(TAG_CHOICES), default="All flips", key=KEY_FLIP_TAG, help=_TAG_HELP, width="content"
    )
    return TAG_CHOICES.get(picked or "All flips", "")


_TAG_HELP = (
    "Stable: every seed of A agrees, every seed of B agrees, and they disagree with each other (the config made the "
    "difference). Seed noise: the seeds of one config disagree about the example (a new seed could flip it)."
)


def _only(idx: np.ndarray, noise: ExampleNoise, tag: str) -> np.ndarray:
    return idx[noise.tag[idx] == tag] if tag else idx


def _step_counts(noise: ExampleNoise) -> str:
    toward_b, toward_a = len(noise.stable_b_to_a), len(noise.stable_a_to_b)
    if noise.one_seed:
        return f"B's error is lower at {toward_b} test steps and higher at {toward_a}."
    return (
        f"B's error is lower in every pair of seeds at {toward_b} test steps, A's at {toward_a}; at "
        f"{len(noise.seed_noise)} steps which side is closer changes with the seed."
    )


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


def _cell_lists(ma: Member, mb: Member, cell: tuple[int, int], noise: ExampleNoise, tag: str) -> None:
    t, p = cell
    classes = [md(c) for c in ma.results.classes]
    into, out = (_only(_stable_first(idx, noise), noise, tag) for idx in cell_moves(ma, mb, t, p))
    st.markdown(f"##### Test examples of true {classes[t]} that moved with respect to predicted {classes[p]}")
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown(f"**Into the cell ({len(into)})**: B predicts {classes[p]}, A did not")
        examples(ma, mb, into, "stable flips first, then B's most confident.", noise)
    with right:
        st.markdown(f"**Out of the cell ({len(out)})**: A predicted {classes[p]}, B does not")
        examples(ma, mb, out, "stable flips first, then A's most confident.", noise)


def _stable_first(idx: np.ndarray, noise: ExampleNoise) -> np.ndarray:
    """idx in the same order within each tag, stable flips first (a stable sort)."""
    rank = np.array([TAG_ORDER.get(t, 3) for t in noise.tag[idx]], dtype=int)
    return idx[np.argsort(rank, kind="stable")]


def _said(member: Member, i: int) -> str:
    p = member.results.predictions
    label = member.results.classes[int(p.y_pred[i])]
    return f"{label} {p.probs[i, p.y_pred[i]]:.0%}" if p.probs is not None else label


def examples(ma: Member, mb: Member, idx: np.ndarray, order: str, noise: ExampleNoise) -> None:
    """Test examples idx (positions in the shared test rows) as thumbnails, review texts or feature rows, with the
    original row, the true class, each shown run's answer and, over several seeds, the example's tag."""
    if not len(idx):
        st.caption("None.")
        return
    shown = idx[:SHOWN]
    st.caption(f"{len(idx)} example(s); {order}" + (f" The first {SHOWN} are shown." if len(idx) > SHOWN else ""))
    ex, classes, y = ma.results.examples, ma.results.classes, ma.results.predictions.y_true
    rows = noise.index
    flags = test_flags(ma.results, ma.record)  # the test rows are the same for both: so are their labels
    if ex.images is not None or ex.texts is not None:  # thumbnails that wrap, or whole reviews, as in the export
        captions = [
            f"row {rows[i]} · true {classes[int(y[i])]} · A {_said(ma, i)} · B {_said(mb, i)}"
            + (f" · {noise.tag[i]}" if noise.seeds != (1, 1) else "")
            + badge(flags[i])
            for i in shown
        ]
        example_cards(ma.results, shown, captions)
        return
    df = pd.DataFrame(
        {
            "row": rows[shown],
            "true": [classes[int(y[i])] for i in shown],
            "A says": [_said(ma, i) for i in shown],
            "B says": [_said(mb, i) for i in shown],
            "label": [LABEL_BADGE if flags[i] else "" for i in shown],
        }
    )
    if noise.seeds != (1, 1):
        df["tag"] = noise.tag[shown]
        df["A right (share of seeds)"], df["B right (share of seeds)"] = noise.a_share[shown], noise.b_share[shown]
    if ex.rows is not None:
        df = pd.concat([df, example_rows(ma.results, np.asarray(shown))], axis=1)
    st.dataframe(df, hide_index=True, width="stretch")
