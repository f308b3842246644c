"""What was read from the user's data file, on the Train form: the columns a field names (label, text, target)
picked from the CSV's own columns, its first rows, and from the loaded dataset the examples per class with a few
of each (images, texts), or the series itself. Every class, column and file name is the user's: shown as typed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from nnlab.core.config import FIELDS, RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.naming import file_name
from nnlab.core.text import plural
from nnlab.data import DatasetSpec
from nnlab.data.csvfile import CsvPeek, likely_column, peek_csv
from nnlab.data.sample import DataSample
from nnlab.ui import md
from nnlab.ui.auth import password_set
from nnlab.ui.keys import KEY_SOURCE
from nnlab.views.data_plots import series_figure

COLUMN_FIELDS = ("label_column", "text_column", "target")  # fields that name a column of the user's CSV
THUMB = 56  # pixels of an example image


@st.cache_data(show_spinner="Reading the file…", max_entries=8)
def _peek(path: str, stamp: float) -> CsvPeek | None:
    try:
        return peek_csv(Path(path))
    except NNLabError:  # the preview loads the data and says what is wrong, in the form's words
        return None


def hides_file(spec: DatasetSpec) -> bool:
    """Whether what a file holds stays unseen until it loads as the dataset's data: a path typed into a shared
    (password) dashboard may name a server file that is not the visitor's (an upload is the visitor's own)."""
    return password_set() and st.session_state.get(KEY_SOURCE.format(dataset=spec.name)) == "path"


def csv_peek(spec: DatasetSpec, path: str) -> CsvPeek | None:
    """The user's CSV as the loaders read it (once per version of the file); None for images, or no readable file."""
    file = Path(path).expanduser() if path else None
    if spec.kind == "image" or file is None or not file.is_file():
        return None
    return _peek(str(file), file.stat().st_mtime)


def column_field(name: str, key: str, peek: CsvPeek | None, current: str, taken: str = "", typed: bool = False) -> str:
    """A column of the CSV picked in a selectbox (the columns of numbers for a target); disabled until the file is
    read; typed in a text box where the file's header must stay unseen (typed). Returns the column ("" for an
    automatic target)."""
    info, current = FIELDS[name], st.session_state.get(key, current)
    if typed:
        return st.text_input(info.label, value=current, key=f"{key}_typed", help=info.hint).strip()
    if peek is None:
        st.selectbox(info.label, [], key=f"{key}_waiting", disabled=True, placeholder="Upload the file first")
        return current
    options = list(peek.columns)
    if name == "target":  # "automatic" only where it can work: one column of numbers besides the time
        options = ["", *peek.numeric] if len(peek.targets) <= 1 else list(peek.targets)
    chosen = likely_column(peek, name, current, taken)
    st.session_state[key] = chosen if chosen in options else options[0]  # a target must be a column of numbers
    auto = "Automatic (the only column of numbers besides time)"
    return st.selectbox(
        info.label,
        options,
        key=key,
        format_func=lambda c: c if c else auto,
        help=f"{info.hint.replace('Name of the', 'The')} Picked from the columns of the file.",
    )


def data_read_ui(spec: DatasetSpec, cfg: RunConfig, facts: dict[str, Any] | None) -> None:
    """'What was read from wine.csv': the CSV's first rows, then what the loaded data holds (facts["sample"]);
    nothing of a typed path in a shared dashboard until the file has loaded as the dataset's data."""
    if facts is None and hides_file(spec):
        return
    peek = csv_peek(spec, cfg.data_path)
    sample: DataSample | None = (facts or {}).get("sample")
    if peek is None and sample is None:
        return
    with st.container(border=True):
        st.markdown(f"**What was read from {md(file_name(cfg.data_path))}**")
        if peek is not None and spec.kind != "text":  # a text CSV shows its texts with their labels below
            st.caption(f"The first {len(peek.head)} of {plural(peek.rows, 'row')}, as read.")
            st.dataframe(peek.head, hide_index=True, width="stretch")
        if sample is not None:
            sample_ui(sample)


def sample_ui(sample: DataSample) -> None:
    """The examples of each class and a few of them, or the series with its validation and test parts."""
    if sample.series is not None:
        st.caption(
            f"{md(sample.series_name)} over {plural(len(sample.series), 'time step')}; shaded: the validation part, then the test part (darker)."
        )
        st.plotly_chart(series_figure(sample.series, sample.series_name, sample.bounds), key="tr_read_series")
        return
    counts_table(sample)
    shown = len(sample.images) or len({c for c, _ in sample.texts})
    if 0 < shown < len(sample.classes):
        st.caption(f"Examples of the first {shown} of {plural(len(sample.classes), 'class', 'classes')}:")
    for name, images in zip(sample.classes, sample.images, strict=False):
        st.caption(md(name))
        st.image([im[..., 0] if im.shape[-1] == 1 else im for im in images], width=THUMB)
    for name, text in sample.texts:
        st.caption(f"**{md(name)}** · {md(' '.join(text.split()))}")


def counts_table(sample: DataSample) -> None:
    """Examples per class (two narrow columns: it sits in the form's preview column)."""
    df = pd.DataFrame({"class": list(sample.classes), "examples": list(sample.counts)})
    st.caption(f"{plural(sum(sample.counts), 'example')} in {plural(len(sample.classes), 'class', 'classes')}:")
    st.dataframe(df, hide_index=True, width="stretch", height=min(35 * (len(df) + 1) + 3, 250))
