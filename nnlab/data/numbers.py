"""How a CSV wrote its numbers: decimal points (pandas' default), decimal commas with thousands dots
(1.065,5 is one thousand and sixty-five and a half; 1.065 alone is one thousand and sixty-five), or thousands
commas with decimal points (1,065.5). The file's style is told from the cells that can only be read one way;
a file whose cells say both, or a number that fits neither in a file of one style, is refused in one sentence
naming the column by its position and the line (never the cell's text: a typed path may name a file that is
not the user's)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from nnlab.core.errors import DataError
from nnlab.core.findings import Finding, info
from nnlab.core.text import plural
from nnlab.data.layout import columns_hold, is_number_column, is_text, names

if TYPE_CHECKING:  # the callers hand in pandas objects: pandas is loaded by then
    import pandas as pd

_NUMBER_LIKE = re.compile(r"^[-+]?\d[\d.,]*$")  # digits with dots and commas: a number in some style
_DATE_LIKE = re.compile(r"^\d{1,4}[./]\d{1,2}[./]\d{1,4}$")  # 31.12.2020 is a date, not a number
_COMMA_DECIMAL = re.compile(r"^[-+]?(?:\d+|[1-9]\d{0,2}(?:\.\d{3})+)(?:,\d+)?$")  # 1,5  1.234,5  1.065  735
_POINT_DECIMAL = re.compile(r"^[-+]?(?:\d+|[1-9]\d{0,2}(?:,\d{3})+)(?:\.\d+)?$")  # 1.5  1,234.5  1,065  735
_ONLY_COMMA = re.compile(r"^[-+]?\d+,(?:\d{1,2}|\d{4,})$|^[-+]?[1-9]\d{0,2}(?:\.\d{3})+,\d+$")  # 1,5  1.234,5
_ONLY_POINT = re.compile(r"^[-+]?[1-9]\d{0,2}(?:,\d{3})+\.\d+$|^[-+]?[1-9]\d{0,2}(?:,\d{3}){2,}$")  # 1,234.5
COMMA, POINT = "decimal commas", "thousands commas"


def read_numbers(
    df: pd.DataFrame, as_text: Callable[[], pd.DataFrame], source: str, found: list[Finding]
) -> pd.DataFrame:
    """df with the numbers of a decimal-comma or thousands-comma file read as numbers (as_text() gives the file
    read again with every cell as text, for the columns pandas read as numbers with points); a finding says so."""
    cells = _text_cells(df)
    style = _style(cells, source)
    if style is None:
        return df
    text = as_text()
    pattern = _COMMA_DECIMAL if style == COMMA else _POINT_DECIMAL
    read, changed, grouped = df.copy(), [], []
    for place, c in enumerate(text.columns):
        values = text[c].dropna().astype(str).str.strip()
        if not len(values) or not _numbers_only(values):
            continue
        wrong = ~values.str.match(pattern)
        if wrong.any():
            line = int(values.index[np.argmax(wrong.to_numpy())]) + 2  # the header is line 1
            raise DataError(
                f"Column {place + 1} of {source} has a number on line {line} that is written neither with "
                f"{'a decimal comma nor thousands dots' if style == COMMA else 'a decimal point nor thousands commas'}"
                f", as the rest of the file is; write every number of the file one way."
            )
        read[c] = _convert(text[c], style)
        if values.str.contains("[.,]").any():
            changed.append(c)
        if values.str.contains("." if style == COMMA else ",", regex=False).any():
            grouped.append(c)
    if changed:
        found.append(info("numbers", _read_as(style, source, changed, grouped)))
    return read


def _read_as(style: str, source: str, changed: list[str], grouped: list[str]) -> str:
    written, example, groups = (
        ("decimal commas and thousands dots", "1.234,5 as 1234.5 and 1,5 as 1.5", "thousands dots")
        if style == COMMA
        else ("thousands commas and decimal points", "1,234.5 as 1234.5", "thousands commas")
    )
    where = f" ({groups} in {names(grouped)})" if grouped else ""
    return (
        f"{source} writes numbers with {written}; nnlab read them so ({example}) in "
        f"{plural(len(changed), 'column')}{where}; save the file with decimal points and no thousands separators to "
        "have it read the default way."
    )


def _text_cells(df: pd.DataFrame) -> pd.Series:
    """The stripped text cells of the columns pandas left as text."""
    import pandas as pd

    parts = [
        df[c].dropna().astype(str).str.strip()
        for c in df.columns
        if is_text(df[c]) and not is_number_column(df[c]) and _may_hold_numbers(df[c])
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.Series([], dtype=str)


SAMPLE = 2000  # first cells of a text column looked at before all of it is


def _may_hold_numbers(column: pd.Series) -> bool:
    """Whether a column pandas left as text has a number-like cell among its first SAMPLE: a column of class names
    or words is passed over whole (its 3 million cells copied and matched took 0.6 GB of a 150 MB file's read)."""
    head = column.dropna().head(SAMPLE).astype(str).str.strip()
    return bool(head.str.match(_NUMBER_LIKE).any())


def _numbers_only(values: pd.Series) -> bool:
    return bool(values.str.match(_NUMBER_LIKE).all()) and not values.str.match(_DATE_LIKE).all()


def _style(cells: pd.Series, source: str) -> str | None:
    """COMMA or POINT where some cell can only be read that way (or, with neither, cells like 1,234 or 1,5
    that need a comma read: decimal commas, the usual meaning); DataError where cells say both."""
    if not len(cells):
        return None
    comma, point = cells.str.match(_ONLY_COMMA), cells.str.match(_ONLY_POINT)
    if comma.any() and point.any():
        raise DataError(
            f"{source} writes numbers both with decimal commas and with thousands commas, so they cannot be read one "
            "way; write every number of the file one way (decimal points and no thousands separators are safest)."
        )
    if point.any():
        return POINT
    if comma.any() or (cells.str.match(_NUMBER_LIKE) & cells.str.contains(",")).any():
        return COMMA
    return None


def _convert(values: pd.Series, style: str) -> pd.Series:
    import pandas as pd

    text = values.astype("string").str.strip()
    if style == COMMA:
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        text = text.str.replace(",", "", regex=False)
    return pd.to_numeric(text).astype(np.float64)


def read_booleans(df: pd.DataFrame, columns: list[str], source: str, found: list[Finding]) -> pd.DataFrame:
    """df with its columns of True and False (blanks aside) read as 1 and 0, which a model reads as numbers; a
    finding names them."""
    read, done = df, []
    for c in columns:
        values = df[c].dropna()
        if values.dtype == bool or (len(values) and values.map(lambda v: isinstance(v, (bool, np.bool_))).all()):
            if read is df:
                read = df.copy()
            read[c] = df[c].map(lambda v: float(v) if isinstance(v, (bool, np.bool_)) else np.nan).astype(float)
            done.append(c)
    if done:
        found.append(info("numbers", f"{columns_hold(done, source)} True and False; nnlab read them as 1 and 0."))
    return read
