"""A run as one self-contained HTML file a stranger can read offline: what the model is, how good it is, where it
fails (a confusion matrix whose cells show their test examples when clicked), how it trained, the data and the
values the run used."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from nnlab.analysis.baselines import (
    baseline_rows,
    baseline_test,
    baseline_verdict,
    blend_sentence,
    classical_wins,
    has_baselines,
    model_rmse,
)
from nnlab.analysis.naming import run_name
from nnlab.core.findings import KINDS, Finding
from nnlab.core.forecast import Forecast
from nnlab.core.notes import run_findings
from nnlab.core.records import EpochRecord, RunRecord
from nnlab.engine.metrics import per_class_f1
from nnlab.store.runfolder import Results
from nnlab.views.cells import run_cell_key, run_cells, worst_cell
from nnlab.views.examples import mistake_pairs
from nnlab.views.htmldoc import Document, esc, html_table, rows_table, show_button
from nnlab.views.plots import LABEL_CHARS, confusion_figure, curves_figure, f1_figure
from nnlab.views.report_words import (
    config_rows,
    data_rows,
    form_words,
    model_sentence,
    quality_sentences,
    training_sentence,
    weakest_classes,
)
from nnlab.views.series_plots import forecast_vs_actual_figure, residuals_figure

MISTAKE_CHIPS = 8  # the most frequent mistakes offered as buttons above the matrix


def report_table(report: dict[str, Any], accuracy: float | None = None) -> pd.DataFrame:
    """sklearn's report dict as rows of precision/recall/F1/support: classes, [accuracy], macro and weighted avg."""
    rows = {name: vals for name, vals in report.items() if isinstance(vals, dict)}
    df = pd.DataFrame.from_dict(rows, orient="index")[["precision", "recall", "f1-score", "support"]]
    df = df.rename(columns={"f1-score": "F1"})
    df["support"] = df["support"].astype(int)
    if accuracy is not None:  # as in scikit-learn's text report: no precision or recall for it
        n = len(df) - 2
        acc = pd.DataFrame({"F1": [accuracy], "support": [int(df["support"].iloc[:n].sum())]}, index=["accuracy"])
        df = pd.concat([df.iloc[:n], acc, df.iloc[n:]])
    return df


def headline(res: Results) -> list[tuple[str, str]]:
    """The run's test metrics as (label, value) pairs."""
    r = res.report
    if res.task == "regression":
        return [
            ("test RMSE", f"{r['rmse']:.4g}"),
            ("naive RMSE", f"{r['naive_rmse']:.4g}"),
            ("test MAE", f"{r['mae']:.4g}"),
            ("naive MAE", f"{r.get('naive_mae', float('nan')):.4g}"),
            ("R²", f"{r['r2']:.3f}"),
        ]
    macro = r["report"]["macro avg"]["f1-score"]
    return [
        ("test accuracy", f"{r['accuracy']:.2%}"),
        *([("balanced accuracy", f"{r['balanced_accuracy']:.2%}")] if "balanced_accuracy" in r else []),
        ("macro F1", f"{macro:.3f}"),
        ("test examples", f"{len(res.predictions.y_true):,}"),
        ("classes", str(len(res.classes))),
    ]


def metrics_html(pairs: Sequence[tuple[str, str]]) -> str:
    """Metric cards: a label over a large value."""
    cards = "".join(f"<div class='metric'>{esc(k)}<b>{esc(v)}</b></div>" for k, v in pairs)
    return f"<div class='metrics'>{cards}</div>"


def paragraphs(lines: Sequence[str], cls: str = "") -> str:
    """Sentences as paragraphs, escaped."""
    attr = f" class='{cls}'" if cls else ""
    return "".join(f"<p{attr}>{esc(line)}</p>" for line in lines if line)


def for_report(fig: go.Figure) -> go.Figure:
    """A curves figure laid out for a page of any width: its legend under the x-axis titles, never on them, and
    room for tick labels such as 0.0001 beside the y axes."""
    fig.update_layout(
        legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0, xanchor="left"),
        margin=dict(l=60, r=20, t=40, b=90),
    )
    fig.update_yaxes(automargin=True)
    return fig


def roomy(fig: go.Figure) -> go.Figure:
    """Margins that hold every tick label and axis title (a dashboard figure may be laid out tight)."""
    fig.update_layout(margin=dict(l=60, r=20, t=50, b=50))
    fig.update_xaxes(automargin=True)
    return fig.update_yaxes(automargin=True)


def matrix_for_report(fig: go.Figure, classes: Sequence[str]) -> go.Figure:
    """A clickable matrix with room for long class names beside and above its cells (they were cut)."""
    extra = 7 * min(LABEL_CHARS, max((len(str(c)) for c in classes), default=1))  # axes cut names to LABEL_CHARS
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig.update_layout(width=fig.layout.width + extra, height=fig.layout.height + extra)


def build_report(rec: RunRecord, res: Results, history: Sequence[EpochRecord]) -> str:
    """The whole report as one HTML document; every user string escaped, nothing fetched."""
    title = run_name(rec)
    findings = run_findings(rec, res.facts)
    doc = Document(f"{title} · nnlab run {rec.run_id}")
    doc.add(
        f"<p class='muted'>nnlab run report · {esc(rec.run_id)} · {esc(rec.status)} · created {esc(rec.created_iso)}"
        " UTC</p>",
        f"<h1>{esc(title)}</h1>",
        f"<p class='lead'>{esc(model_sentence(rec, res))}</p>",
        f"<p class='note'>{esc(rec.note)}</p>" if rec.note else "",
        "<h2>How good it is</h2>",
        metrics_html(headline(res)),
        paragraphs(quality_sentences(res)),
        _forecast_html(rec),
        caution(findings),
    )
    if res.task == "classification":
        _classification(doc, res)
    else:
        _forecasts(doc, res)
    doc.add("<h2>How it trained</h2>", paragraphs([training_sentence(rec, history)]))
    if history:
        doc.add(doc.figure(for_report(curves_figure(history, res.task, rec.epochs_planned))))
    doc.add(
        "<h2>The data</h2>",
        rows_table(data_rows(rec, res.facts, (res.report.get("blend") or {}).get("weight_steps", 0))),
        findings_html(findings),
    )
    doc.add(
        "<h2>Config</h2><p class='muted'>The values this run used (where it was asked to fit a value to the data, "
        "the value fitted).</p>",
        rows_table(config_rows(rec, res)),
        f"<p class='muted caption'>Written by nnlab on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Everything is in this "
        "one file: it opens offline and fetches nothing.</p>",
    )
    return doc.render()


def _classification(doc: Document, res: Results) -> None:
    """Where it fails: the weakest classes, the most frequent mistakes, the clickable matrix and its examples."""
    for key, content in run_cells(res).items():
        doc.template(key, content)
    classes = res.classes
    chips = [
        show_button(run_cell_key(t, p), f"true {classes[t]} → predicted {classes[p]} ({n})")
        for t, p, n in mistake_pairs(res, MISTAKE_CHIPS)
    ]
    doc.add(
        "<h2>Where it fails</h2>",
        paragraphs([weakest_classes(res)]),
        "<p>Most frequent mistakes:</p><div class='chips'>" + "".join(chips) + "</div>"
        if chips
        else "<p>It made no mistake on the test examples.</p>",
        doc.figure(
            matrix_for_report(confusion_figure(res.report["confusion"], classes), classes),
            cells="cm",
            caption="Rows are the true class, columns the predicted one; the diagonal holds the right answers. "
            "Click a cell to see its test examples below, most confident first.",
        ),
        doc.examples_box(run_cell_key(*worst_cell(res.report["confusion"]))),
        "<h2>Per class</h2>",
        html_table(report_table(res.report["report"], res.report["accuracy"])),
        doc.figure(f1_figure(per_class_f1(res.report))),
    )


def _forecasts(doc: Document, res: Results) -> None:
    p, e = res.predictions, res.examples
    t = e.t if e.t is not None else list(range(len(p.y_true)))
    doc.add(
        "<h2>Forecasts on the test part</h2>",
        doc.figure(for_report(forecast_vs_actual_figure(t, p.y_true, p.y_pred, p.naive, e.series))),
        "<h2>Where it misses</h2>",
        doc.figure(for_report(residuals_figure(t, p.y_true, p.y_pred, p.naive))),
        baselines_html(res),
    )


def baselines_html(res: Results) -> str:
    """The classical forecasters fit on the run's training part beside it, on the same test steps, and the verdict."""
    report = res.report
    if not has_baselines(report):
        return ""
    rows = [("this run (nnlab)", f"{model_rmse(report):.4g}")]
    rows += [(r.label, f"{r.rmse:.4g} (this run's is {r.ratio:.2f} of it)") for r in baseline_rows(report)]
    cls = " class='warn'" if classical_wins(report) else ""
    return (
        f"<h2>Against classical forecasters</h2><p{cls}>{esc(form_words(baseline_verdict(report, baseline_test(res))))}</p>"
        + paragraphs([blend_sentence(report)])
        + rows_table(rows)
        + "<p class='muted'>Test RMSE one step ahead. Each forecaster is fit on the run's training part and forecasts "
        "every test step from the steps before it.</p>"
    )


def _forecast_html(rec: RunRecord) -> str:
    """The pre-flight beside the real first epoch: 'Pre-flight: estimated 41 s an epoch, took 38 s (-7%).'"""
    forecast = Forecast.of(rec.summary)
    return f"<p class='muted'>Pre-flight: {esc(forecast.sentence())}.</p>" if forecast else ""


def findings_html(findings: tuple[Finding, ...]) -> str:
    """The data check's findings: what looks wrong, then what nnlab did, as two lists, each under its kind."""
    parts = ["<h3>Data check</h3>"] if findings else []
    for title, warns, cls in (("Check this", True, " class='warn'"), ("What nnlab did", False, "")):
        items = [f for f in findings if f.warns == warns]
        if items:
            parts.append(f"<p{cls}><b>{title}</b></p><ul>" + "".join(_finding(f) for f in items) + "</ul>")
    return "\n".join(parts)


def _finding(f: Finding) -> str:
    kind = KINDS.get(f.kind, "") if f.kind != "note" else ""
    head = f"<b>{esc(kind[:1].upper() + kind[1:])}</b>: " if kind else ""
    return f"<li>{head}{esc(form_words(f.sentence))}</li>"  # a report is read beside the form, not the flags


def caution(findings: tuple[Finding, ...]) -> str:
    """A line under the scores when the data check warned: a reader weighs the numbers with it."""
    warned = [f for f in findings if f.warns]
    if not warned:
        return ""
    kinds = ", ".join(dict.fromkeys(KINDS.get(f.kind, f.kind) for f in warned))
    return (
        f"<p class='warn'>Read these numbers with the data check in mind: it found {esc(kinds)} "
        "(see The data below).</p>"
    )


def report_filename(rec: RunRecord) -> str:
    """A safe file name for the report download."""
    return f"nnlab-report-{rec.run_id}.html"
