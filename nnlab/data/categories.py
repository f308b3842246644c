"""A table's columns of categories ('male' / 'female', the port a passenger boarded at) read as one 0/1 input per
value (one-hot, scikit-learn's OneHotEncoder), the way a tabular tool reads them; a blank cell, or a value the file
did not hold, sets none of its column's inputs. Texts with too many different values to be categories (a ticket
number, a free comment) are not inputs.

A run keeps each category column's values in its facts (TabularFacts.categories), so the Playground, the exported
predict.py and train.py read a row with the run's inputs in the run's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from nnlab.core.facts import Categories, TabularFacts
from nnlab.core.findings import Finding, info, warning
from nnlab.core.text import and_list
from nnlab.data.layout import columns_hold, is_number_column

if TYPE_CHECKING:
    import pandas as pd

MAX_CATEGORIES = 50  # different values a text column may hold to be read as categories (a country: 42 in adult)
ROWS_PER_CATEGORY = 5  # ... and at most one value per this many rows (30 values in 40 rows are not categories)


def cells(values: pd.Series) -> np.ndarray:
    """A column's cells as stripped strings, "" for a blank (what encoding reads as no category)."""
    return values.astype("string").str.strip().fillna("").to_numpy(dtype=object)


def _values(values: pd.Series) -> set[str]:
    """A column's different values, blanks aside."""
    return set(cells(values)) - {""}


def text_columns(df: pd.DataFrame, columns: Sequence[str]) -> tuple[list[str], list[str]]:
    """The columns of df that hold text: (those with few enough values to be categories, those with more)."""
    most = min(MAX_CATEGORIES, max(2, len(df) // ROWS_PER_CATEGORY))
    texts = [c for c in columns if not is_number_column(df[c])]
    few = [c for c in texts if len(_values(df[c])) <= most]
    return few, [c for c in texts if c not in few]


def categories_of(df: pd.DataFrame, columns: Sequence[str]) -> Categories:
    """Each category column's different values (blanks aside), sorted."""
    return tuple((c, tuple(sorted(_values(df[c])))) for c in columns)


def encode(df: pd.DataFrame, columns: Sequence[str], categories: Categories) -> np.ndarray:
    """(N, inputs) float32: number columns as they are (NaN for a blank), each category column one-hot."""
    import pandas as pd
    from sklearn.preprocessing import OneHotEncoder

    values, parts = dict(categories), []
    for c in columns:
        if c in values:
            hot = OneHotEncoder(categories=[list(values[c])], handle_unknown="ignore", sparse_output=False)
            parts.append(hot.fit_transform(cells(df[c]).reshape(-1, 1)) if values[c] else np.zeros((len(df), 0)))
        else:
            parts.append(pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=np.float64).reshape(-1, 1))
    x = np.hstack(parts) if parts else np.zeros((len(df), 0))
    return np.where(np.isfinite(x), x, np.nan).astype(np.float32)


def decode(x: np.ndarray, columns: Sequence[str], categories: Categories) -> pd.DataFrame:
    """Rows of model inputs (N, inputs) back as the file's columns: a category column's value where one of its
    inputs is 1, blank (None) where none is."""
    import pandas as pd

    values, out, at = dict(categories), {}, 0
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    for c in columns:
        if c in values:
            part = x[:, at : at + len(values[c])]
            out[c] = [values[c][int(r.argmax())] if len(r) and r.max() > 0.5 else None for r in part]
            at += len(values[c])
        else:
            out[c] = x[:, at]
            at += 1
    return pd.DataFrame(out, columns=list(columns))


def category_findings(df: pd.DataFrame, few: list[str], many: list[str], source: str) -> list[Finding]:
    """What was done with a table's text columns: categories read one-hot, the others left out."""
    found = []
    if few:
        counts = and_list([str(len(_values(df[c]))) for c in few])
        found.append(
            info(
                "categories",
                f"{columns_hold(few, source)} categories ({counts} different values); nnlab gives the model one input per "
                "value, 1 where a row holds it and 0 elsewhere (one-hot); a blank, or a value the file did not hold, "
                "sets none of them.",
            )
        )
    if many:
        them = "it" if len(many) == 1 else "them"
        counts = and_list([f"{len(_values(df[c])):,}" for c in many])
        found.append(
            warning(
                "text_columns",
                f"{columns_hold(many, source)} text with too many different values to be categories ({counts} different "
                f"values, where nnlab reads at most {MAX_CATEGORIES} as categories, and one per {ROWS_PER_CATEGORY} "
                "rows); nnlab left "
                f"{them} out; encode {them} as numbers to use {them} as inputs.",
            )
        )
    return found


def file_columns(facts: TabularFacts) -> list[str]:
    """A table run's feature columns as its file names them (x0, x1, ... where it had none)."""
    return list(facts.columns) or facts.column_names


def rows_as_file(x: np.ndarray, facts: TabularFacts) -> pd.DataFrame:
    """Rows of a table run's model inputs (N, inputs) as the file's columns (a category's value, not its inputs)."""
    return decode(x, file_columns(facts), facts.categories)


def file_rows_as_inputs(df: pd.DataFrame, facts: TabularFacts) -> np.ndarray:
    """Rows with a table run's file columns (numbers, a category's value) as its model inputs (N, inputs)."""
    return encode(df, file_columns(facts), facts.categories)
