"""The user's CSV files by path: a feature table (mlp), texts with labels (lstm), a series over time (ts-lstm).

The dashboard saves an upload to a file and passes its path, so both doors lead here. An error never quotes the
file (its header cells or values): a typed path may name a file that is not the user's, so problems are told by
column position, count and what the user typed.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nnlab.core.config import RunConfig
from nnlab.core.errors import DataError
from nnlab.core.limits import DATA_ENV, max_data_bytes, size_text
from nnlab.core.naming import file_name
from nnlab.data.base import Dataset, DatasetSpec, register
from nnlab.data.layout import (
    class_balance,
    drop_empty_columns,
    drop_saved_index,
    find_time_column,
    interpolate_gaps,
    is_number_column,
    order_by_time,
    read_decimal_commas,
    suspicious_columns,
)
from nnlab.data.prep import series_dataset, tabular_dataset, text_dataset

if TYPE_CHECKING:  # pandas loads when a CSV is read, not when the datasets register (a second on 2 cores)
    import pandas as pd

log = logging.getLogger("nnlab.data")
MAX_CLASSES = 200
_SEPARATORS = ",;\t|"


def shown_name(path: Path) -> str:
    """The file's name as the user knows it: without the content-hash prefix the dashboard gave uploads."""
    return file_name(str(path))


@dataclass(frozen=True)
class CsvPeek:
    """A CSV as the loaders read it, for the form: its size, its columns, which hold numbers, its first rows."""

    rows: int
    columns: tuple[str, ...]
    numeric: tuple[str, ...]
    head: pd.DataFrame


LABEL_NAMES = ("label", "labels", "class", "target", "y", "category", "species", "sentiment", "outcome")


def peek_csv(path: Path, rows: int = 5) -> CsvPeek:
    """The CSV read as every loader reads it (read_csv): its row count, columns, columns of numbers, first rows."""
    df = read_csv(path)
    numeric = tuple(c for c in df.columns if is_number_column(df[c]))
    return CsvPeek(len(df), tuple(df.columns), numeric, df.head(rows).reset_index(drop=True))


def likely_column(peek: CsvPeek, field: str, current: str, taken: str = "") -> str:
    """The column a field (label_column, text_column, target) names: current where the CSV has it (case aside),
    else a usual name or a guess, never `taken` (the other column of a text CSV); "" for an automatic target."""
    folded = {c.lower(): c for c in peek.columns}
    if current.strip().lower() in folded:
        return folded[current.strip().lower()]
    free = [c for c in peek.columns if c != taken] or list(peek.columns)
    if field == "target":
        return ""
    if field == "text_column":  # the column of the longest words, in the first rows
        words = [c for c in free if c not in peek.numeric] or free
        return max(words, key=lambda c: peek.head[c].astype(str).str.len().mean())
    named = [folded[n] for n in LABEL_NAMES if n in folded and folded[n] in free]
    return named[0] if named else free[-1]


def user_path(cfg: RunConfig, what: str) -> Path:
    """cfg.data_path as an existing path; DataError saying what to give otherwise."""
    if not cfg.data_path:
        raise DataError(
            f"Dataset {cfg.dataset} reads your own {what}; give its path with --data (or upload it in the form)."
        )
    path = Path(cfg.data_path).expanduser()
    if not path.exists():
        raise DataError(f"Data file {cfg.data_path} does not exist; check the path given with --data.")
    return path


def read_csv(path: Path, notes: list[str] | None = None) -> pd.DataFrame:
    """A CSV (UTF-8 with or without BOM, or UTF-16 with BOM; comma, semicolon, tab or bar separated).

    Numbers written with decimal commas are read as numbers; what was done is added to notes.
    """
    if not path.is_file():
        raise DataError(f"{path} is a folder, not a CSV file; give the path of the file itself.")
    size, most = path.stat().st_size, max_data_bytes()
    if size > most:  # refused before reading: the preview and the estimate read the file too
        raise DataError(
            f"{shown_name(path)} is {size_text(size)}, more than the {size_text(most)} a data file may have here; "
            f"use a sample of it (the operator can raise {DATA_ENV})."
        )
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{shown_name(path)} is empty; give a CSV with a header row and data rows.")
    text = _decode(raw, path)
    import pandas as pd

    try:
        df = pd.read_csv(io.StringIO(text), sep=_separator(text), skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{shown_name(path)} has no columns; give a CSV with a header row and data rows.") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(
            f"{shown_name(path)} is not a well-formed CSV{_parser_detail(exc)}; check that every row has as many "
            "fields as the header."
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise DataError(f"{shown_name(path)} has a header but no data rows; add rows below the header.")
    return read_decimal_commas(df, shown_name(path), notes if notes is not None else [])


def _decode(raw: bytes, path: Path) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif b"\x00" in raw[:4096]:
        raise DataError(f"{shown_name(path)} is not a text file; give a CSV saved as text (UTF-8).")
    else:
        encoding = "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{shown_name(path)} is not valid {encoding.upper().removesuffix('-SIG')} text (byte {exc.start}); "
            "save it as CSV UTF-8 and try again."
        ) from None


def _parser_detail(exc: Exception) -> str:
    """Where pandas' tokenizer failed, in numbers only (its message may quote the file otherwise)."""
    found = re.search(r"Expected (\d+) fields? in line (\d+), saw (\d+)", str(exc))
    if not found:
        return ""
    header, line, seen = found.groups()
    return f" (line {line} has {seen} fields, the header {header})"


def positions(df: pd.DataFrame, columns: list[str], most: int = 8) -> str:
    """Columns told by their place in the header row ("column 3", "columns 2, 5 and 7"), not by their names."""
    places = [str(list(df.columns).index(c) + 1) for c in columns[:most]]
    more = f" and {len(columns) - most} more" if len(columns) > most else ""
    if len(places) == 1 and not more:
        return f"column {places[0]}"
    shown = ", ".join(places[:-1]) + (f", {places[-1]}" if more else f" and {places[-1]}")
    return f"columns {shown}{more}"


def _separator(text: str) -> str:
    """The field separator, sniffed from the first lines; a comma when unsure."""
    head = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(head, delimiters=_SEPARATORS).delimiter
    except csv.Error:
        return ","


def find_column(df: pd.DataFrame, name: str, field: str, option: str, path: Path) -> str:
    """The column called name (exactly, else ignoring case); DataError listing the columns otherwise."""
    if name in df.columns:
        return name
    folded = [c for c in df.columns if c.lower() == name.strip().lower()]
    if name and len(folded) == 1:
        return folded[0]
    raise DataError(
        f"{shown_name(path)} has no column {name!r} for the {field} among the {len(df.columns)} of its header row; "
        f"name one of them with {option}."
    )


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
        raise DataError(
            f"Label column {column!r} of {shown_name(path)} has {len(classes)} different values, more than "
            f"{MAX_CLASSES} classes; name the column that holds the class with --label-column."
        )
    return labels.astype(np.int64), classes


def drop_missing(
    df: pd.DataFrame, columns: list[str], path: Path, notes: list[str], what: str = "missing values"
) -> pd.DataFrame:
    """Rows with a missing (or infinite) value in columns dropped, with a note; refused when none remain. The kept
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
        note = f"Dropped {dropped} of {len(df)} rows of {shown_name(path)} with {what}."
        notes.append(note)
        log.warning(note)
    return df[keep]


def load_csv(cfg: RunConfig) -> Dataset:
    """A table of numeric features and a label column; blanks filled and features scaled on the training split."""
    path = user_path(cfg, "CSV file")
    notes: list[str] = []
    df = drop_saved_index(read_csv(path, notes), shown_name(path), notes)
    label = find_column(df, cfg.label_column, "label", "--label-column", path)
    df = drop_empty_columns(df, label, shown_name(path), notes)
    features = [c for c in df.columns if c != label]
    if not features:
        raise DataError(f"{shown_name(path)} has only the label column ({cfg.label_column!r}); add feature columns.")
    _refuse_text_features(df, features, path)
    df = drop_missing(df, [label], path, notes, "no label")
    if cfg.missing == "drop":
        df = drop_missing(df, features, path, notes)
    rows, df = df.index.to_numpy(), df.reset_index(drop=True)  # rows: each kept row's place in the file
    labels, classes = encode_labels(df[label], label, path)
    warnings = suspicious_columns(df, features, label, shown_name(path)) + class_balance(labels, classes)
    x = df[features].replace([np.inf, -np.inf], np.nan).to_numpy(dtype=np.float32)
    ds = tabular_dataset(shown_name(path), x, labels, classes, features, cfg, rows)
    return ds.noted(notes, shown_name(path), warnings)


def _refuse_text_features(df: pd.DataFrame, features: list[str], path: Path) -> None:
    text_cols = [c for c in features if not is_number_column(df[c])]
    if text_cols:
        raise DataError(
            f"{shown_name(path)} has text in {positions(df, text_cols)} of its header row, where the MLP reads "
            "numbers only; remove those columns or encode them as numbers."
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
    notes: list[str] = []
    df = drop_missing(df, [text, label], path, notes)
    rows, df = df.index.to_numpy(), df.reset_index(drop=True)
    labels, classes = encode_labels(df[label], label, path)
    texts = df[text].astype(str).tolist()
    return text_dataset(shown_name(path), texts, labels, classes, cfg, rows=rows).noted(notes, shown_name(path))


def load_series_csv(cfg: RunConfig) -> Dataset:
    """A CSV of numeric columns over time; a time column orders the rows and is not an input."""
    path = user_path(cfg, "CSV file")
    notes: list[str] = []
    df = drop_saved_index(read_csv(path, notes), shown_name(path), notes)
    given = find_column(df, cfg.target, "target", "--target", path) if cfg.target else ""
    df = drop_empty_columns(df, given, shown_name(path), notes)
    time = _time_axis(df, given)
    numeric = [c for c in df.columns if c != time and is_number_column(df[c])]
    target = _series_target(df, given, numeric, path)
    if time:
        df = order_by_time(df, time, shown_name(path), notes)
    ignored = [c for c in df.columns if c not in numeric and c != time]
    notes.append(_inputs_note(time, numeric, target, ignored))
    if cfg.missing == "drop":
        df = drop_missing(
            df, numeric, path, notes, "missing values (the steps either side of each gap are joined)"
        ).reset_index(drop=True)
    else:
        df = interpolate_gaps(df, numeric, shown_name(path), notes)
    values = df[numeric].to_numpy(dtype=np.float64)
    ds = series_dataset(shown_name(path), values, numeric, numeric.index(target), cfg)
    return ds.noted(notes, shown_name(path), time=time or "")


def _time_axis(df: pd.DataFrame, target: str) -> str | None:
    """The time column, unless it is the only column of numbers (then it is the series itself)."""
    time = find_time_column(df, target)
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
        "Numeric feature columns and a label column; blank cells take the column's training median.",
        needs="data_path",
        options=("label_column", "missing"),
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
