"""A two-way comparison as one self-contained HTML file: the verdict, the config fields that differ, curves,
the confusion difference or the error gap along the series, and the examples that flipped; opens offline."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from nnlab.analysis.comparison import TwoWay, describe, diff_rows, error_gap_along_series
from nnlab.core.records import EpochRecord
from nnlab.views.comparison_plots import error_gap_figure, flip_matrix_figure, group_curves_figure
from nnlab.views.examples import EXAMPLES_CSS, examples_html
from nnlab.views.report import REPORT_CSS, esc, figure_html, html_table

FLIPPED_SHOWN = 24


def comparison_filename(tw: TwoWay) -> str:
    """A safe file name for the comparison download."""
    return f"nnlab-compare-{tw.a.name}-vs-{tw.b.name}.html"


def _flipped_html(tw: TwoWay) -> list[str]:
    if tw.pair is None or tw.flips is None:
        return ["<p class='muted'>No flipped examples: the two sides were tested on different splits.</p>"]
    ma, mb = tw.pair
    if ma.results.task == "regression":
        return [figure_html(error_gap_figure(*error_gap_along_series(ma, mb)), first=False)]
    classes = ma.results.classes

    def caption(i: int) -> str:
        pa, pb = ma.results.predictions, mb.results.predictions
        return f"#{i} true {classes[pa.y_true[i]]} · A {classes[pa.y_pred[i]]} · B {classes[pb.y_pred[i]]}"

    parts = [
        figure_html(
            flip_matrix_figure(
                ma.results.report["confusion"], mb.results.report["confusion"], classes, clickable=False
            ),
            first=False,
        )
    ]
    for title, idx in (("A right, B wrong", tw.flips.a_better), ("B right, A wrong", tw.flips.b_better)):
        shown = idx[:FLIPPED_SHOWN]
        parts += [
            f"<h3>{esc(title)} ({len(idx)}; most confident mistakes first)</h3>",
            examples_html(ma.results, shown, [caption(i) for i in shown]),
        ]
    return parts


def build_comparison_report(tw: TwoWay, histories: dict[str, Sequence[EpochRecord]]) -> str:
    """The comparison as one HTML document with plotly.js inline; every user string escaped."""
    title = f"nnlab comparison: B {tw.b.name} against A {tw.a.name}"
    lines = describe(tw)
    curves = {side.name: [histories.get(m.record.run_id, []) for m in side.members] for side in (tw.a, tw.b)}
    task = tw.a.members[0].results.task
    rows = diff_rows(tw)
    diff = pd.DataFrame({"A": [r[1] for r in rows], "B": [r[2] for r in rows]}, index=[r[0] for r in rows])
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(title)}</title>",
        f"<style>{REPORT_CSS}{EXAMPLES_CSS}</style></head><body><h1>{esc(title)}</h1>",
        f"<p><b>{esc(lines[0])}</b></p><ul>" + "".join(f"<li>{esc(x)}</li>" for x in lines[1:]) + "</ul>",
        "<h2>Config fields that differ</h2>",
        html_table(diff) if rows else "<p class='muted'>None: only the seed's randomness differs.</p>",
        "<h2>Validation curves</h2>",
        figure_html(group_curves_figure(curves, task), first=True),
        "<h2>What flipped</h2>",
        *_flipped_html(tw),
        "</body></html>",
    ]
    return "\n".join(parts)
