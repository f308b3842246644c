"""One self-contained HTML document: its style and script inline, plotly.js once, each figure as inert JSON, and
the examples a click shows as <template> elements copied into #examples. Nothing in it is fetched: no src or
href that loads, no @import, no web font; it opens from file:// or a mail attachment.

User text reaches the page only through esc() (markup) and safe_json() (figure data): a hostile name shows as
typed and runs nothing.
"""

from __future__ import annotations

import html
import json
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from nnlab.views.examples import EXAMPLES_CSS
from nnlab.views.report_assets import CSP, CSS, SCRIPT

EXAMPLES_ID = "examples"  # the container a clicked cell's examples appear in (tests and users rely on the id)
REPORT_TEMPLATE = "plotly"  # a figure that picked no template draws with this one, whichever process writes it


def esc(value: Any) -> str:
    """Any value as HTML-safe text."""
    return html.escape(str(value), quote=True)


def safe_json(obj: Any) -> str:
    """JSON that cannot close the <script> element it sits in (no "<", ">" or "&" outside escapes)."""
    text = obj if isinstance(obj, str) else json.dumps(obj)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def fmt(value: Any, digits: int = 3) -> str:
    """A table cell as text: floats to `digits` places, blanks for NaN, sequences joined by commas."""
    if isinstance(value, float) and value != value:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, (tuple, list)):
        return ", ".join(map(str, value))
    return str(value)


def html_table(df: pd.DataFrame, digits: int = 3, cls: str = "") -> str:
    """A DataFrame as a table (index first), every cell escaped; wrapped so a wide table scrolls, not the page."""
    head = "".join(f"<th>{esc(c)}</th>" for c in ["", *df.columns])
    body = "".join(
        "<tr><td>" + esc(idx) + "</td>" + "".join(f"<td>{esc(fmt(v, digits))}</td>" for v in row) + "</tr>"
        for idx, row in zip(df.index, df.itertuples(index=False), strict=True)
    )
    return f"<div class='table-wrap'><table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def rows_table(rows: list[tuple[str, str]], cls: str = "kv") -> str:
    """(label, value) pairs as a two-column table of text."""
    body = "".join(f"<tr><th scope='row'>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f"<div class='table-wrap'><table class='{cls}'><tbody>{body}</tbody></table></div>"


def sortable_table(columns: list[str], rows: list[list[tuple[str, Any]]]) -> str:
    """A table whose headers sort it (by each cell's sort value: a number, or its text); cells are (text, value)."""
    head = "".join(f"<th><button type='button'>{esc(c)}</button></th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td data-v='{esc(_sort_value(v))}'>{esc(t)}</td>" for t, v in row) + "</tr>" for row in rows
    )
    return (
        f"<div class='table-wrap'><table class='sortable'><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
        "</table></div>"
    )


def _sort_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return repr(float(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def show_button(key: str, label: str) -> str:
    """A button that shows template `key` in #examples (no script: it does nothing, the default stays)."""
    return f"<button type='button' class='chip' data-show='{esc(key)}' aria-pressed='false'>{esc(label)}</button>"


def _own_template(fig: go.Figure) -> go.Figure:
    """The figure with the report's template where it took its process's default: Streamlit makes its own template
    the default in the dashboard's process (colours that only its page fills in, no plot background), so a report
    downloaded there drew otherwise than `nnlab report` wrote it. A template a figure chose stays."""
    import plotly.io as pio

    default = pio.templates.default
    if default == REPORT_TEMPLATE or fig.layout.template != pio.templates[default]:
        return fig
    own = go.Figure(fig)
    own.layout.template = pio.templates[REPORT_TEMPLATE]
    return own


class Document:
    """A report being written: its parts in order, its figures and its example templates."""

    def __init__(self, title: str):
        self.title = title
        self.parts: list[str] = []
        self.figures = 0
        self.templates: dict[str, str] = {}

    def add(self, *parts: str) -> None:
        """Append markup (already escaped) to the body."""
        self.parts.extend(p for p in parts if p)

    def figure(self, fig: go.Figure, cells: str = "", caption: str = "") -> str:
        """The figure's place: a div plotly.js draws into from its JSON; `cells`: clicks on its cell markers
        (customdata [true, predicted]) show template `<cells>-<true>-<predicted>` in #examples."""
        self.figures += 1
        fid = f"figure-{self.figures}"
        data = f"<script type='application/json' data-figure='{fid}'>{safe_json(_own_template(fig).to_json())}</script>"
        attrs = f" data-cells='{esc(cells)}'" if cells else ""
        note = f"<p class='muted caption'>{esc(caption)}</p>" if caption else ""
        return f"<div class='figure-wrap'><div class='figure' id='{fid}'{attrs}></div>{data}</div>{note}"

    def template(self, key: str, content: str) -> None:
        """Markup that #examples shows when something asks for `key` (inert until then)."""
        self.templates[key] = content

    def examples_box(self, key: str, intro: str = "") -> str:
        """The #examples container, showing template `key` until a click shows another (and in print)."""
        first = self.templates.get(key, "")
        return f"{intro}<div id='{EXAMPLES_ID}' aria-live='polite' data-shown='{esc(key)}'>{first}</div>"

    def render(self) -> str:
        """The whole document: head, body, templates, plotly.js (only with figures) and the page's script."""
        from plotly.offline import get_plotlyjs

        templates = "".join(f"<template id='tpl-{esc(k)}'>{v}</template>" for k, v in self.templates.items())
        plotly = f"<script>{get_plotlyjs()}</script>" if self.figures else ""
        return "\n".join(
            [
                "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
                f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">",
                "<meta name='viewport' content='width=device-width, initial-scale=1'>",
                f"<title>{esc(self.title)}</title><style>{CSS}{EXAMPLES_CSS}</style></head><body>",
                *self.parts,
                templates,
                plotly,
                f"<script>{SCRIPT}</script></body></html>",
            ]
        )
