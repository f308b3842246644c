"""A self-contained HTML report of one run: curves, test metrics, confusion matrix, config; opens offline."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from nnlab.analysis.naming import run_name
from nnlab.core.config import FIELDS
from nnlab.core.notes import DataNotes, run_notes
from nnlab.core.records import EpochRecord, RunRecord
from nnlab.core.text import plural
from nnlab.data.registry import fields_that_apply
from nnlab.engine.metrics import per_class_f1
from nnlab.store.runfolder import Results
from nnlab.views.examples import EXAMPLES_CSS, mistakes_html
from nnlab.views.plots import (
    confusion_figure,
    curves_figure,
    f1_figure,
    forecast_vs_actual_figure,
    residuals_figure,
)

REPORT_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;
color:#111827}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #E5E7EB}
.muted{color:#6B7280} table{border-collapse:collapse;font-size:.9rem}
th,td{padding:.25rem .7rem;border-bottom:1px solid #E5E7EB;text-align:right}
th:first-child,td:first-child{text-align:left} .metrics{display:flex;gap:2rem;flex-wrap:wrap}
.metric b{display:block;font-size:1.5rem} .note{white-space:pre-wrap;border-left:3px solid #E5E7EB;padding-left:.7rem}
"""


def esc(value: Any) -> str:
    """Any value as HTML-safe text."""
    return html.escape(str(value), quote=True)


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


def html_table(df: pd.DataFrame, digits: int = 3) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in ["", *df.columns])
    body = "".join(
        "<tr><td>" + esc(idx) + "</td>" + "".join(f"<td>{esc(_fmt(v, digits))}</td>" for v in row) + "</tr>"
        for idx, row in zip(df.index, df.itertuples(index=False), strict=True)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value: Any, digits: int) -> str:
    if isinstance(value, float) and value != value:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, (tuple, list)):
        return ", ".join(map(str, value))
    return str(value)


def _metrics(pairs: Sequence[tuple[str, str]]) -> str:
    return (
        '<div class="metrics">'
        + "".join(f'<div class="metric">{esc(k)}<b>{esc(v)}</b></div>' for k, v in pairs)
        + "</div>"
    )


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
        ("test examples", str(len(res.predictions.y_true))),
        ("classes", str(len(res.classes))),
    ]


def _figures(rec: RunRecord, res: Results, history: Sequence[EpochRecord]) -> list[tuple[str, go.Figure]]:
    figs = [("Training curves", curves_figure(history, res.task))] if history else []
    if res.task == "regression":
        p, e = res.predictions, res.examples
        t = e.t if e.t is not None else list(range(len(p.y_true)))
        figs += [
            ("Forecast against actual", forecast_vs_actual_figure(t, p.y_true, p.y_pred, p.naive, e.series)),
            ("Residuals", residuals_figure(t, p.y_true, p.y_pred, p.naive)),
        ]
    else:
        figs += [
            ("Confusion matrix (counts)", confusion_figure(res.report["confusion"], res.classes)),
            (
                "Confusion matrix (share of each true class)",
                confusion_figure(res.report["confusion"], res.classes, normalized=True),
            ),
            ("F1 per class", f1_figure(per_class_f1(res.report))),
        ]
    return figs


def figure_html(fig: go.Figure, first: bool) -> str:
    # plotly.js goes in once, inline, so the file needs no network; its JSON escapes "<" and ">"
    return fig.to_html(full_html=False, include_plotlyjs=first, config={"displaylogo": False})


def config_table(rec: RunRecord) -> pd.DataFrame:
    """The config fields this run's architecture and data use, as (label, value) rows."""
    names = fields_that_apply(rec.config)
    values = [config_value(n, getattr(rec.config, n)) for n in names]
    return pd.DataFrame({"value": values}, index=[FIELDS[n].label for n in names])


def config_value(name: str, value: Any) -> str:
    """A config value as the form shows it: 0.001 (not 0.001000), yes / no, "Reduce on plateau"."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str) and FIELDS[name].options:
        return FIELDS[name].option_label(value)
    return _fmt(value, 6) if value not in ("", ()) else "–"


def build_report(rec: RunRecord, res: Results, history: Sequence[EpochRecord]) -> str:
    """The whole report as one HTML document with plotly.js inline; every user string escaped."""
    title = run_name(rec)
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(title)} · nnlab run {rec.run_id}</title>",
        f"<style>{REPORT_CSS}{EXAMPLES_CSS}</style></head><body><h1>{esc(title)}</h1>",
        f"<p class='muted'>nnlab run {esc(rec.run_id)} · {esc(rec.status)} · created {esc(rec.created_iso)} UTC · "
        f"{esc(plural(rec.epochs_done, 'epoch'))} · {esc(rec.device)}</p>",
        f"<p class='note'>{esc(rec.note)}</p>" if rec.note else "",
        _metrics(headline(res)),
        _notes_html(run_notes(rec, res.info)),
    ]
    if res.task == "classification":
        parts += [
            "<h2>Classification report (test split)</h2>",
            html_table(report_table(res.report["report"], res.report["accuracy"])),
        ]
    for k, (name, fig) in enumerate(_figures(rec, res, history)):
        parts += [f"<h2>{esc(name)}</h2>", figure_html(fig, first=k == 0)]
    if mistakes := mistakes_html(res):
        parts += ["<h2>Most confident mistakes per class pair</h2>", mistakes]
    parts += ["<h2>Data</h2>", html_table(data_facts(res))] if res.info else []
    parts += ["<h2>Config</h2>", html_table(config_table(rec)), "</body></html>"]
    return "\n".join(parts)


def _notes_html(notes: DataNotes) -> str:
    """What was done to the data, and what looks wrong with it, as two lists."""
    parts = ["<h2>What was done to the data</h2>"] if notes else []
    for title, items in (("Check this", notes.warnings), ("Done", notes.done)):
        if items:
            parts.append(f"<p><b>{title}</b></p><ul>" + "".join(f"<li>{esc(n)}</li>" for n in items) + "</ul>")
    return "\n".join(parts)


def data_facts(res: Results) -> pd.DataFrame:
    """A few facts learned from the data, as (fact, value) rows (no vocabulary dumps)."""
    info = res.info.to_json_dict()
    skip = {"vocab", "mean", "std", "fill", "classes", "columns", "notes", "warnings"}
    facts = {k: _fmt(v, 4) for k, v in info.items() if k not in skip}
    if "columns" in info:
        facts["columns"] = ", ".join(map(str, info["columns"][:50]))
    return pd.DataFrame({"value": list(facts.values())}, index=list(facts))


def report_filename(rec: RunRecord) -> str:
    """A safe file name for the report download."""
    return f"nnlab-report-{rec.run_id}.html"
