"""A two-way comparison as one self-contained HTML file: the verdict and its evidence, what differs between the
two configs (the values each side used), validation curves, and what flipped: a difference matrix whose cells
show the test examples that moved into and out of them when clicked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from nnlab.analysis.comparison import (
    Member,
    Side,
    TwoWay,
    describe,
    error_gap_along_series,
    example_tags,
    score_row,
)
from nnlab.analysis.naming import run_name
from nnlab.analysis.noise import ONE_SEED, SEED_NOISE, STABLE
from nnlab.analysis.stats import A_BETTER, B_BETTER
from nnlab.core.config import FIELDS
from nnlab.core.records import EpochRecord, RunRecord
from nnlab.engine.metrics import per_class_f1
from nnlab.views.cells import busiest_flip_cell, flip_cell_key, flip_cells, flipped_items
from nnlab.views.comparison_plots import error_gap_figure, f1_change_figure, flip_matrix_figure, group_curves_figure
from nnlab.views.htmldoc import Document, esc, show_button
from nnlab.views.plots import epoch_axis
from nnlab.views.report import for_report, matrix_for_report, paragraphs, roomy
from nnlab.views.report_words import used_value

LIST_SHOWN = 24  # examples kept per "A right, B wrong" list
TAG_WORDS = {  # what a flipped example's tag says to a reader
    STABLE: "stable: every seed agrees",
    SEED_NOISE: "seed noise: the seeds disagree",
    ONE_SEED: "one seed a side: noise cannot be told",
}


def tags_of(tw: TwoWay) -> dict[int, str]:
    """Each flipped test example's tag in words (with seeds: how often each side got it right), by its position in
    the shared test set."""
    tags, noise = example_tags(tw), tw.noise
    if tags is None or noise is None:
        return {}
    words = {i: TAG_WORDS.get(str(t), str(t)) for i, t in enumerate(tags) if t}
    if noise.seeds == (1, 1) or tw.a.members[0].results.task == "regression":
        return words
    return {
        i: f"{w}; A right in {noise.a_share[i]:.0%} of its seeds, B in {noise.b_share[i]:.0%}" for i, w in words.items()
    }


def comparison_filename(tw: TwoWay) -> str:
    """A safe file name for the comparison download."""
    return f"nnlab-compare-{tw.a.name}-vs-{tw.b.name}.html"


def side_line(letter: str, side: Side) -> str:
    """'A: MLP on digits (run 2026...-b957)' or 'A: seed group g-... of 3 runs of MLP on digits'."""
    first = side.members[0].record
    if side.is_group:
        return f"{letter}: seed group {side.name}, {len(side.members)} runs of {run_name(first)}"
    return f"{letter}: {run_name(first)} (run {first.run_id})"


def last_epoch(curves: Mapping[str, Sequence[Sequence[EpochRecord]]]) -> int:
    """The last epoch any run of either side reached."""
    return max((r.epoch for runs in curves.values() for h in runs for r in h), default=1)


def differs_rows(tw: TwoWay) -> list[tuple[str, str, str]]:
    """(label, A's, B's): the test score, then each config field that differs, in the form's words, with the value
    each side used (the dashboard's table and this report's)."""
    a, b = tw.a.members[0], tw.b.members[0]
    return [score_row(tw)] + [
        (
            FIELDS[k].label if k in FIELDS else k,
            used_value(a.record, a.results, k),
            used_value(b.record, b.results, k),
        )
        for k in tw.config_diff
    ]


def labelled_diff(diff: pd.DataFrame, runs: Sequence[RunRecord]) -> pd.DataFrame:
    """analysis.runs_table.scored_config_diff in the form's words: each field by its label, each run's value as it
    used it (the score's row stays first)."""
    by_id = {r.run_id: r for r in runs}
    out = diff.copy()
    for name in diff.index[1:]:
        out.loc[name] = [used_value(by_id[run_id], None, name) for run_id in diff.columns]
    return out.rename(index=lambda name: FIELDS[name].label if name in FIELDS else name)


def differs_table(tw: TwoWay) -> str:
    """The test score, then each config field that differs, with the value each side used."""
    rows = differs_rows(tw)
    head = "<tr><th></th><th>A</th><th>B</th></tr>"
    body = "".join(f"<tr><th scope='row'>{esc(k)}</th><td>{esc(x)}</td><td>{esc(y)}</td></tr>" for k, x, y in rows)
    table = f"<div class='table-wrap'><table class='kv'><thead>{head}</thead><tbody>{body}</tbody></table></div>"
    same = (
        "" if tw.config_diff else "<p class='muted'>The configs are the same: only the seed's randomness differs.</p>"
    )
    return table + same


def build_comparison_report(tw: TwoWay, histories: Mapping[str, Sequence[EpochRecord]]) -> str:
    """The comparison as one HTML document; every user string escaped, nothing fetched. Each flipped example says
    whether it is stable (every seed agrees) or seed noise."""
    name_a, name_b = run_name(tw.a.members[0].record), run_name(tw.b.members[0].record)
    groups = "seed groups" if tw.a.is_group and tw.b.is_group else "runs"
    title = f"Two {groups} of {name_a}" if name_a == name_b else f"B {name_b} against A {name_a}"
    doc = Document(f"nnlab comparison: {title}")
    lines = describe(tw)
    cls = {B_BETTER: "verdict better", A_BETTER: "verdict worse"}.get(tw.verdict.verdict, "verdict")
    curves = {side.name: [histories.get(m.record.run_id, []) for m in side.members] for side in (tw.a, tw.b)}
    task = tw.a.members[0].results.task
    doc.add(
        "<p class='muted'>nnlab comparison report</p>",
        f"<h1>{esc(title)}</h1>",
        paragraphs([side_line("A", tw.a), side_line("B", tw.b)], "lead"),
        f"<p class='{cls}'>{esc(lines[0])}</p>",
        "<ul>" + "".join(f"<li>{esc(x)}</li>" for x in lines[1:] if x) + "</ul>",
        "<h2>What differs</h2>",
        differs_table(tw),
        "<h2>Validation curves</h2>",
        doc.figure(for_report(epoch_axis(group_curves_figure(curves, task), last_epoch(curves)))),
        "<h2>What flipped</h2>",
    )
    if tw.pair is None or tw.flips is None:
        doc.add("<p class='muted'>No flipped examples: the two sides were tested on different splits.</p>")
    elif task == "regression":
        doc.add(doc.figure(error_gap_figure(*error_gap_along_series(*tw.pair))))
    else:
        _flips(doc, tw, *tw.pair, tags_of(tw))
    return doc.render()


def _flips(doc: Document, tw: TwoWay, ma: Member, mb: Member, tags: Mapping[int, str] | None) -> None:
    """The clickable difference matrix, its examples, the two lists of flips and the change in F1 per class."""
    for key, content in flip_cells(ma, mb, tags).items():
        doc.template(key, content)
    lists = []
    several = tw.noise is not None and tw.noise.seeds != (1, 1)  # lists of examples leaning to a side over seeds
    for key, title, idx in (
        ("flips-a", "Toward A" if several else "A right, B wrong", tw.flips.a_better),
        ("flips-b", "Toward B" if several else "B right, A wrong", tw.flips.b_better),
    ):
        kept = f"; the first {LIST_SHOWN} are kept in this file" if len(idx) > LIST_SHOWN else ""
        items = flipped_items(ma, mb, idx, tags, LIST_SHOWN)
        doc.template(
            key,
            f"<h3>{esc(title)} ({len(idx)})</h3><p class='muted'>Stable flips first, then those the seeds agree on "
            f"most, then the loser's most confident mistakes{kept}.</p>"
            + (f"<div class='examples'>{''.join(items)}</div>" if items else ""),
        )
        lists.append(show_button(key, f"{title} ({len(idx)})"))
    seeds = ""
    if tw.a.is_group or tw.b.is_group:
        seeds = f" Examples from the runs with seed {ma.record.config.seed}: {ma.record.run_id} (A), {mb.record.run_id} (B)."
    ca, cb = ma.results.report["confusion"], mb.results.report["confusion"]
    doc.add(
        "<div class='chips'>" + "".join(lists) + "</div>",
        doc.figure(
            matrix_for_report(flip_matrix_figure(ca, cb, ma.results.classes), ma.results.classes),
            cells="flip",
            caption="Each cell: B's count minus A's, blue where B is better (more on the diagonal, fewer off it). "
            "Click a cell to see the test examples that moved into or out of it." + seeds,
        ),
        doc.examples_box(flip_cell_key(*busiest_flip_cell(ma, mb))),
        "<h2>F1 per class</h2>",
        doc.figure(
            roomy(f1_change_figure(per_class_f1(ma.results.report), per_class_f1(mb.results.report), "A", "B")),
        ),
    )
