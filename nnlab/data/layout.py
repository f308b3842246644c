"""How people save tables and series, read for what it means: pandas' saved row index, empty columns,
ID-like columns, columns that give the label away, decimal commas, time columns and gaps.

Each function returns what it found as sentences for the user (notes on what was done, warnings on
what looks wrong), so the preview, the run page and the report can say it in the same words.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the callers hand in pandas objects: pandas is loaded by then
    import pandas as pd

_SAVED_INDEX = re.compile(r"^Unnamed: \d+$")  # pandas' name for a column with an empty header cell
_TIME_NAMES = re.compile(
    r"^(year|yr|date|day|time|timestamp|datetime|ds|t|month|week|quarter|period|hour|minute|epoch)s?$",
    re.IGNORECASE,
)
_COMMA_NUMBER = re.compile(r"^[-+]?(\d+|\d{1,3}(\.\d{3})+)(,\d+)?$")  # 1,5 or 1.234,5 (dots group thousands)


def is_number_column(values: pd.Series) -> bool:
    """Numbers (not booleans)."""
    from pandas.api.types import is_numeric_dtype

    return is_numeric_dtype(values) and values.dtype != bool


def drop_saved_index(df: pd.DataFrame, source: str, notes: list[str]) -> pd.DataFrame:
    """Without pandas' saved row index: an unnamed column of unique whole numbers."""
    index = [c for c in df.columns if _SAVED_INDEX.match(c) and _unique_integers(df[c])]
    if index:
        notes.append(
            f"Dropped column {index[0]!r} of {source}: it is the row index pandas saves with to_csv, not a feature."
        )
    return df.drop(columns=index)


def drop_empty_columns(df: pd.DataFrame, keep: str, source: str, notes: list[str]) -> pd.DataFrame:
    """Without columns that hold no value at all (a trailing separator makes one), keep excepted."""
    empty = [c for c in df.columns if c != keep and df[c].isna().all()]
    if empty:
        notes.append(f"Dropped empty column{'s' if len(empty) > 1 else ''} {_names(empty)} of {source}.")
    return df.drop(columns=empty)


def _unique_integers(values: pd.Series) -> bool:
    if not is_number_column(values) or values.isna().any():
        return False
    numbers = values.to_numpy(dtype=np.float64)
    return bool(np.all(numbers == np.round(numbers))) and values.is_unique


def _names(columns: list[str], most: int = 8) -> str:
    shown = ", ".join(repr(c) for c in columns[:most])
    return shown + (f" and {len(columns) - most} more" if len(columns) > most else "")


def suspicious_columns(df: pd.DataFrame, features: list[str], label: str, source: str) -> list[str]:
    """Warnings about feature columns that would let a model score without learning: row IDs, label copies."""
    warnings = []
    ids = [c for c in features if _id_like(df[c])]
    if ids:
        warnings.append(
            f"Column {_names(ids)} of {source} holds a different whole number on every row, in increasing "
            "order, like a row ID: if files are sorted by class it gives the label away; remove it from "
            "the file unless it means something."
        )
    copies = [c for c in features if _determines(df[c], df[label])]
    if copies:
        warnings.append(
            f"Column {_names(copies)} of {source} determines the label {label!r} on every row (each of its "
            "values goes with one class): it is probably a copy or a code of the label; remove it from the file."
        )
    return warnings


def _id_like(values: pd.Series) -> bool:
    return len(values) > 20 and _unique_integers(values) and values.is_monotonic_increasing


def _determines(feature: pd.Series, label: pd.Series) -> bool:
    """Each value of feature goes with one label, and values repeat (a unique-per-row column says nothing)."""
    distinct = feature.nunique(dropna=True)
    if distinct < 2 or distinct > len(feature) / 2:
        return False
    import pandas as pd

    return bool((pd.DataFrame({"f": feature, "y": label}).dropna().groupby("f")["y"].nunique() == 1).all())


def class_balance(labels: np.ndarray, classes: list[str]) -> list[str]:
    """A warning when the largest class has at least 3 times the examples of the smallest."""
    counts = np.bincount(labels, minlength=len(classes))
    big, small = int(counts.argmax()), int(counts.argmin())
    if counts[small] == 0 or counts[big] < 3 * counts[small]:
        return []
    return [
        f"The classes are imbalanced: {classes[big]!r} has {counts[big]} examples, {classes[small]!r} only "
        f"{counts[small]}; accuracy flatters a model that ignores small classes, so read the balanced "
        "accuracy, and consider class weights."
    ]


def read_decimal_commas(df: pd.DataFrame, source: str, notes: list[str]) -> pd.DataFrame:
    """Text columns of numbers written with decimal commas (1,5; -0,25; 1.234,5) read as numbers, with a note."""
    found = [c for c in df.columns if _is_text(df[c]) and _comma_numbers(df[c].dropna().astype(str).str.strip())]
    if not found:
        return df
    import pandas as pd

    df = df.copy()
    for c in found:
        text = df[c].astype("string").str.strip().str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        df[c] = pd.to_numeric(text).astype(np.float64)
    notes.append(f"Read decimal commas in {_names(found)} of {source} (1,5 as 1.5).")
    return df


def _is_text(values: pd.Series) -> bool:
    from pandas.api.types import is_string_dtype

    return is_string_dtype(values) or values.dtype == object


def _comma_numbers(values: pd.Series) -> bool:
    return bool(len(values)) and values.str.match(_COMMA_NUMBER).all() and values.str.contains(",").any()


def find_time_column(df: pd.DataFrame, target: str) -> str | None:
    """The column that is the time axis: a date column, or a time-named or evenly stepped increasing number."""
    for c in df.columns:
        if c == target or df[c].isna().any() or df[c].nunique() < len(df):
            continue
        values = df[c]
        if is_number_column(values):
            steps = np.diff(values.to_numpy(dtype=np.float64))
            if (steps > 0).all() and (_TIME_NAMES.match(c) or np.allclose(steps, steps[0])):
                return c
        elif _is_text(values) and _dates(values) is not None:
            return c
    return None


def _dates(values: pd.Series) -> pd.Series | None:
    """values parsed as dates when every one of them is a date, else None."""
    import warnings

    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "could not infer format": parsing element by element is fine here
        parsed = pd.to_datetime(values, errors="coerce")
    return parsed if parsed.notna().all() else None


def order_by_time(df: pd.DataFrame, time: str, source: str, notes: list[str]) -> pd.DataFrame:
    """Rows in increasing time (newest-first files are common); a note when they had to be sorted."""
    key = df[time] if is_number_column(df[time]) else _dates(df[time])
    if key.is_monotonic_increasing:
        return df
    notes.append(f"Sorted the rows of {source} by {time!r}: they were not in increasing time order.")
    return df.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)


def interpolate_gaps(df: pd.DataFrame, columns: list[str], source: str, notes: list[str]) -> pd.DataFrame:
    """Missing values filled linearly between their neighbours in time (the ends take the nearest value)."""
    part = df[columns].replace([np.inf, -np.inf], np.nan)
    gaps = int(part.isna().sum().sum())
    if not gaps:
        return df
    df = df.copy()
    df[columns] = part.interpolate(limit_direction="both")
    notes.append(
        f"Filled {gaps} missing value{'s' if gaps > 1 else ''} of {source} by linear interpolation in time "
        "(rows were kept, so time steps stay evenly spaced)."
    )
    return df
