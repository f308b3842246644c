"""The user's CSV files by path: a feature table (mlp), texts with labels (lstm), a series over time (ts-lstm).

The dashboard saves an upload to a file and passes its path, so both doors lead here. An error never quotes the
file (its header cells or values): a typed path may name a file that is not the user's, so problems are told by
column position, count and what the user typed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nnlab.core.config import RunConfig
from nnlab.core.errors import DataError
from nnlab.core.findings import Finding, info
from nnlab.core.text import and_list, plural
from nnlab.data.base import Dataset, DatasetSpec, register, split_indices
from nnlab.data.categories import categories_of, category_findings, encode, text_columns
from nnlab.data.csvfile import find_column, read_csv, shown_name, user_path
from nnlab.data.layout import (
    drop_empty_columns,
    drop_saved_index,
    find_time_column,
    interpolate_gaps,
    is_number_column,
    leave_out_ids,
    order_by_time,
    positions,
    refuse_repeated_times,
    regular_steps,
)
from nnlab.data.numbers import read_booleans
from nnlab.data.prep import series_bounds, series_dataset, tabular_dataset, text_dataset

if TYPE_CHECKING:  # pandas loads when a CSV is read, not when the datasets register (a second on 2 cores)
    import pandas as pd

MAX_CLASSES = 200
MIN_SCORED = 30  # rows a test split needs at least for its score to mean something (--missing drop is refused below)
DROP_SHARE = 0.8  # ... unless it keeps this share of the test rows filling would give (a small file stays small)


def encode_labels(values: pd.Series, column: str, path: Path) -> tuple[np.ndarray, list[str]]:
    """Class indices (N,) and class names sorted (numerically for numbers) from a label column."""
    if is_number_column(values):
        numbers = values.to_numpy(dtype=np.float64)
        if not np.allclose(numbers, np.round(numbers)):
            raise DataError(
                f"Label column {column!r} of {shown_name(path)} holds fractional numbers, not classes; "
                "name the column that holds the class with --label-column."
            )
        uniques, labels = np.unique(numbers.astype(np.int64), return_inverse=True)
        classes = [str(u) for u in uniques]
    else:
        uniques, labels = np.unique(values.astype(str).str.strip().to_numpy(), return_inverse=True)
        classes = [str(u) for u in uniques]
    if len(classes) > MAX_CLASSES:
        number = (
            " (whole numbers like these are a quantity to predict, which nnlab does not do from a table: it "
            "classifies rows)"
            if is_number_column(values)
            else ""
        )
        raise DataError(
            f"Label column {column!r} of {shown_name(path)} has {len(classes)} different values, more than "
            f"{MAX_CLASSES} classes{number}; name the column that holds the class with --label-column."
        )
    return labels.astype(np.int64), classes


def drop_missing(
    df: pd.DataFrame, columns: list[str], path: Path, found: list[Finding], what: str = "a missing value"
) -> pd.DataFrame:
    """Rows with a missing (or infinite) value in columns dropped, with a finding; refused when none remain. The kept
    rows keep their index (their place in the file, for the run's split index): reset it before using positions."""
    part = df[columns].replace([np.inf, -np.inf], np.nan)
    keep = part.notna().all(axis=1)
    if (~keep).all():
        raise DataError(
            f"Every row of {shown_name(path)} has a missing value in {positions(df, columns)}; "
            "fill in the blanks or drop the emptiest columns."
        )
    dropped = int((~keep).sum())
    if dropped:
        sentence = f"{plural(dropped, 'row')} of {len(df)} in {shown_name(path)} had {what}; nnlab dropped them"
        found.append(info("missing", sentence + _dropped_how(what)))
    return df[keep]


def _dropped_how(what: str) -> str:
    if what == "no label":
        return "; give every row a label to keep it."
    return " (--missing drop); use --missing fill to fill the blanks instead and keep every row."


def load_csv(cfg: RunConfig) -> Dataset:
    """A table of feature columns (numbers, categories read one-hot) and a label column; blanks filled and features
    scaled on the training split."""
    path = user_path(cfg, "CSV file")
    found: list[Finding] = []
    df = drop_saved_index(read_csv(path, found), shown_name(path), found)
    label = find_column(df, cfg.label_column, "label", "--label-column", path)
    df = drop_empty_columns(df, label, shown_name(path), found)
    features = [c for c in df.columns if c != label]
    if not features:
        raise DataError(
            f"{shown_name(path)} has only the label column ({cfg.label_column!r}); add feature columns, or give "
            "--arch ts-lstm to forecast it as a series."
        )
    features = leave_out_ids(df, features, shown_name(path), cfg.keep_ids, found)
    if not features:
        raise DataError(
            f"Every feature column of {shown_name(path)} holds a different value on every row, like a row ID; add "
            "feature columns, or give --keep-ids to use them."
        )
    df = read_booleans(df, features, shown_name(path), found)
    few, many = text_columns(df, features)
    if many and len(many) == len(features):
        _refuse_text_features(df, many, path)
    features = [c for c in features if c not in many]
    found += category_findings(df, few, many, shown_name(path))
    df = drop_missing(df, [label], path, found, "no label")
    before, kept = len(df), len(encode_labels(df[label], label, path)[1])
    if cfg.missing == "drop":
        df = drop_missing(df, features, path, found)
    place, df = df.index.to_numpy(), df.reset_index(drop=True)  # each kept row's place in the file
    labels, classes = encode_labels(df[label], label, path)
    if len(df) < before:
        _refuse_unscorable(before, kept, labels, classes, cfg, path)
    kinds = categories_of(df, few)
    ds = tabular_dataset(shown_name(path), encode(df, features, kinds), labels, classes, features, cfg, place, kinds)
    return ds.found(found, shown_name(path))


def _refuse_unscorable(
    before: int, kept: int, labels: np.ndarray, classes: list[str], cfg: RunConfig, path: Path
) -> None:
    """--missing drop that leaves a class without rows or out of the test split, or a test split too small to score
    (under MIN_SCORED rows, and under DROP_SHARE of the rows filling would test): refused. Classes are counted,
    never named (an error does not quote a file's cells)."""
    gone = kept - len(classes)
    counts = np.bincount(labels, minlength=len(classes))
    if not gone and counts.min() < 3:
        return  # check_classes says which class is too small
    test = split_indices(labels, cfg)[2] if not gone else np.array([], dtype=np.int64)
    absent = gone or len(classes) - len(set(labels[test].tolist()))
    if not absent and (len(test) >= MIN_SCORED or len(test) >= DROP_SHARE * math.ceil(before * cfg.test_fraction)):
        return
    if gone:
        left = f"no row of {plural(gone, 'class', 'classes')}"
    else:
        left = f"{plural(len(test), 'test row')}" + (
            f" with no example of {plural(absent, 'class', 'classes')}" if absent else ""
        )
    raise DataError(
        f"--missing drop leaves {plural(len(labels), 'row')} of {shown_name(path)}, {left}: too few to score (at least "
        f"{MIN_SCORED} test rows and every class); use --missing fill to fill the blanks instead."
    )


def _refuse_text_features(df: pd.DataFrame, texts: list[str], path: Path) -> None:
    """DataError for a table whose every feature holds text with too many values to be categories, saying what that
    text may be: texts to classify."""
    worded = [c for c in texts if df[c].dropna().astype(str).str.strip().str.contains(" ").mean() > 0.5]
    hint = f"; or, to classify the texts of {positions(df, worded[:1])}, train with --arch lstm" if worded else ""
    raise DataError(
        f"{shown_name(path)} has text in {positions(df, texts)} of its header row, with too many different values "
        f"to be categories, and no other feature column; encode {'it' if len(texts) == 1 else 'them'} as numbers"
        f"{hint}."
    )


def load_text_csv(cfg: RunConfig) -> Dataset:
    """A CSV of texts and labels; tokenised, vocabulary from the training split only."""
    path = user_path(cfg, "CSV file")
    df = read_csv(path)
    text = find_column(df, cfg.text_column, "text", "--text-column", path)
    label = find_column(df, cfg.label_column, "label", "--label-column", path)
    if text == label:
        raise DataError(
            f"The text and label columns of {shown_name(path)} are both {text!r}; name two different columns."
        )
    found: list[Finding] = []
    df = drop_missing(df, [text, label], path, found, "no text or no label")
    rows, df = df.index.to_numpy(), df.reset_index(drop=True)
    labels, classes = encode_labels(df[label], label, path)
    texts = df[text].astype(str).tolist()
    return text_dataset(shown_name(path), texts, labels, classes, cfg, rows=rows).found(found, shown_name(path))


def load_series_csv(cfg: RunConfig) -> Dataset:
    """A CSV of numeric columns over time; a time column orders the rows, is not an input, and has its skipped
    steps inserted and interpolated."""
    path, found = user_path(cfg, "CSV file"), []
    table = read_series_table(cfg, found)
    ds = series_dataset(shown_name(path), table.values, table.columns, table.columns.index(table.target), cfg)
    return ds.found(found, shown_name(path), time=table.time)


@dataclass(frozen=True)
class SeriesTable:
    """A series CSV as a run reads it: values (T, F) of its numeric columns in time order, their names, the one
    forecast and the time column ("" where the rows are taken as evenly spaced)."""

    values: np.ndarray
    columns: list[str]
    target: str
    time: str


def read_series_table(cfg: RunConfig, found: list[Finding]) -> SeriesTable:
    """The series CSV of cfg read as training reads it (the exported script gets the same); findings to found."""
    path = user_path(cfg, "CSV file")
    df = drop_saved_index(read_csv(path, found), shown_name(path), found)
    given = find_column(df, cfg.target, "target", "--target", path) if cfg.target else ""
    df = drop_empty_columns(df, given, shown_name(path), found)
    time = _time_axis(df, given)
    numeric = [c for c in df.columns if c != time and is_number_column(df[c])]
    target = _series_target(df, given, numeric, path)
    blanks = int(df[numeric].replace([np.inf, -np.inf], np.nan).isna().sum().sum())
    if time:
        df = _in_time(df, time, path, cfg.missing != "drop", found)
    ignored = [c for c in df.columns if c not in numeric and c != time]
    found.insert(0, info("series", _inputs_note(time, numeric, target, ignored)))
    if cfg.missing == "drop":
        steps = len(df)
        what = "a missing value (the steps either side of each gap are joined)"
        df = drop_missing(df, numeric, path, found, what).reset_index(drop=True)
        if len(df) < steps:
            _refuse_short_test(steps, len(df), cfg, path)
    else:
        df = interpolate_gaps(df, numeric, shown_name(path), found, blanks)
    return SeriesTable(df[numeric].to_numpy(dtype=np.float64), numeric, target, time or "")


def _in_time(df: pd.DataFrame, time: str, path: Path, insert: bool, found: list[Finding]) -> pd.DataFrame:
    """The rows in time order, the steps they skip inserted as blank rows (insert) or joined; a time on two rows is
    refused."""
    refuse_repeated_times(df, time, shown_name(path), positions(df, [time]))
    df = order_by_time(df, time, shown_name(path), found)
    return regular_steps(df, time, shown_name(path), insert, found, positions(df, [time]))


def _columns_named(columns: list[str]) -> str:
    """ "a column 'visitors'", "the columns 'a' and 'b'"."""
    if len(columns) == 1:
        return f"a column {columns[0]!r}"
    return f"the columns {and_list([repr(c) for c in columns])}"


def series_rows(path: Path, columns: Sequence[str], target: str, missing: str = "fill") -> np.ndarray:
    """The named columns (T, len(columns)) of a series CSV read as a run reads its data: separator and number style
    as written, rows ordered by the time column with the steps it skips inserted, blanks interpolated in time (or
    their rows dropped, missing="drop"). The Playground's upload of recent values."""
    import pandas as pd

    found: list[Finding] = []
    df = drop_saved_index(read_csv(path, found), shown_name(path), found)
    folded = {str(c).lower(): c for c in df.columns}
    absent = [c for c in columns if c not in df.columns and c.lower() not in folded]
    if absent:
        raise DataError(
            f"{shown_name(path)} lacks the column{'s' if len(absent) > 1 else ''} {', '.join(map(repr, absent))} the "
            f"model was trained on; give a CSV with {_columns_named(list(columns))}."
        )
    names = [c if c in df.columns else folded[c.lower()] for c in columns]
    time = _time_axis(df, names[list(columns).index(target)])
    if time and time not in names:
        df = _in_time(df, time, path, missing != "drop", found)
    part = df[names].apply(pd.to_numeric, errors="coerce")
    part = part.dropna() if missing == "drop" else interpolate_gaps(part, names, shown_name(path), found)
    return part.to_numpy(dtype=np.float64)


def series_upload(data: bytes, name: str, columns: Sequence[str], target: str, missing: str = "fill") -> np.ndarray:
    """series_rows of an uploaded file's bytes (saved for the read under its own name, which messages give)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="nnlab-upload-") as folder:
        path = Path(folder) / (Path(name).name or "upload.csv")
        path.write_bytes(data)
        return series_rows(path, columns, target, missing)


def _refuse_short_test(before: int, steps: int, cfg: RunConfig, path: Path) -> None:
    """--missing drop that leaves fewer test steps than MIN_SCORED (and under DROP_SHARE of those filling would
    test): refused."""
    test = steps - series_bounds(steps, cfg)[1]
    if test >= MIN_SCORED or test >= DROP_SHARE * (before - series_bounds(before, cfg)[1]):
        return
    raise DataError(
        f"--missing drop leaves {plural(steps, 'time step')} of {shown_name(path)}, so {test} to test "
        f"on: too few to score (at least {MIN_SCORED}); use --missing fill to interpolate the gaps instead."
    )


def _time_axis(df: pd.DataFrame, target: str) -> str | None:
    """The time column, unless it is the only column of numbers (then it is the series itself)."""
    time = find_time_column(df, target, repeats=True)
    numbers = [c for c in df.columns if is_number_column(df[c])]
    return None if time is not None and numbers == [time] else time


def _inputs_note(time: str | None, inputs: list[str], target: str, ignored: list[str]) -> str:
    axis = f"{time!r} is the time axis, not an input" if time else "rows are taken as evenly spaced time steps"
    skipped = f"; ignored non-numeric {', '.join(map(repr, ignored[:8]))}" if ignored else ""
    return f"Forecasting {target!r}; {axis}; inputs: {', '.join(map(repr, inputs))}{skipped}."


def _series_target(df: pd.DataFrame, given: str, numeric: list[str], path: Path) -> str:
    if not numeric:
        raise DataError(f"{shown_name(path)} has no numeric column to forecast; give a CSV with a column of numbers.")
    if not given:
        if len(numeric) == 1:
            return numeric[0]
        raise DataError(
            f"{shown_name(path)} has {len(numeric)} numeric columns ({positions(df, numeric)}); "
            "name the one to forecast with --target."
        )
    target = find_column(df, given, "target", "--target", path)
    if target not in numeric:
        raise DataError(
            f"Target column {given!r} of {shown_name(path)} does not hold numbers; pick a column of numbers with "
            "--target."
        )
    return target


for _spec in [
    DatasetSpec(
        "csv",
        "Your CSV table",
        "tabular",
        load_csv,
        "Feature columns of numbers or categories and a label column; blank cells take the column's training median.",
        needs="data_path",
        options=("label_column", "missing", "keep_ids"),
    ),
    DatasetSpec(
        "text-csv",
        "Your CSV of texts",
        "text",
        load_text_csv,
        "A text column and a label column, one example per row.",
        needs="data_path",
        options=("text_column", "label_column"),
    ),
    DatasetSpec(
        "series-csv",
        "Your time series CSV",
        "series",
        load_series_csv,
        "Numeric columns over time (a year or date column orders the rows); forecast the target column "
        "from the past window of every numeric column; gaps are interpolated.",
        needs="data_path",
        options=("target", "missing", "window", "horizon"),
    ),
]:
    register(_spec)
