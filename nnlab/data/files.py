"""The user's CSV files by path: a feature table (mlp), texts with labels (lstm), a series over time (ts-lstm).

The dashboard saves an upload to a file and passes its path, so both doors lead here.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from nnlab.config import RunConfig
from nnlab.data.base import Dataset, DatasetSpec, register
from nnlab.data.prep import series_dataset, tabular_dataset, text_dataset
from nnlab.errors import DataError

log = logging.getLogger("nnlab.data")
MAX_CLASSES = 200
_SEPARATORS = ",;\t|"


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


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV (UTF-8 with or without BOM, or UTF-16 with BOM; comma, semicolon, tab or bar separated)."""
    if not path.is_file():
        raise DataError(f"{path} is a folder, not a CSV file; give the path of the file itself.")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{path.name} is empty; give a CSV with a header row and data rows.")
    text = _decode(raw, path)
    try:
        df = pd.read_csv(io.StringIO(text), sep=_separator(text), skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path.name} has no columns; give a CSV with a header row and data rows.") from None
    except (pd.errors.ParserError, ValueError) as exc:
        detail = (str(exc).strip().splitlines() or [""])[-1].rstrip(".")
        raise DataError(
            f"{path.name} is not a well-formed CSV ({detail}); check that every row has as many fields as the header."
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise DataError(f"{path.name} has a header but no data rows; add rows below the header.")
    return df


def _decode(raw: bytes, path: Path) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif b"\x00" in raw[:4096]:
        raise DataError(f"{path.name} is not a text file; give a CSV saved as text (UTF-8).")
    else:
        encoding = "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path.name} is not valid {encoding.upper().removesuffix('-SIG')} text (byte {exc.start}); "
            "save it as CSV UTF-8 and try again."
        ) from None


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
    cols = list(df.columns)
    shown = ", ".join(cols[:12]) + (f" and {len(cols) - 12} more" if len(cols) > 12 else "")
    raise DataError(
        f"{path.name} has no column {name!r} for the {field}; its columns are {shown}; name one with {option}."
    )


def encode_labels(values: pd.Series, column: str, path: Path) -> tuple[np.ndarray, list[str]]:
    """Class indices (N,) and class names sorted (numerically for numbers) from a label column."""
    if is_numeric_dtype(values) and values.dtype != bool:
        numbers = values.to_numpy(dtype=np.float64)
        if not np.allclose(numbers, np.round(numbers)):
            raise DataError(
                f"Label column {column!r} of {path.name} holds fractional numbers, not classes; "
                "name the column that holds the class with --label-column."
            )
        uniques, labels = np.unique(numbers.astype(np.int64), return_inverse=True)
        classes = [str(u) for u in uniques]
    else:
        uniques, labels = np.unique(values.astype(str).str.strip().to_numpy(), return_inverse=True)
        classes = [str(u) for u in uniques]
    if len(classes) > MAX_CLASSES:
        raise DataError(
            f"Label column {column!r} of {path.name} has {len(classes)} different values, more than "
            f"{MAX_CLASSES} classes; name the column that holds the class with --label-column."
        )
    return labels.astype(np.int64), classes


def drop_missing(df: pd.DataFrame, columns: list[str], path: Path, notes: list[str]) -> pd.DataFrame:
    """Rows with a missing (or infinite) value in columns dropped, with a note; refused when none remain."""
    part = df[columns].replace([np.inf, -np.inf], np.nan)
    keep = part.notna().all(axis=1)
    if (~keep).all():
        raise DataError(
            f"Every row of {path.name} has a missing value in {', '.join(columns[:8])}; "
            "fill in the blanks or drop the emptiest columns."
        )
    dropped = int((~keep).sum())
    if dropped:
        note = f"Dropped {dropped} of {len(df)} rows of {path.name} with missing values."
        notes.append(note)
        log.warning(note)
    return df[keep].reset_index(drop=True)


def load_csv(cfg: RunConfig) -> Dataset:
    """A table of numeric features and a label column; features standardised with training statistics."""
    path = user_path(cfg, "CSV file")
    df = read_csv(path)
    label = find_column(df, cfg.label_column, "label", "--label-column", path)
    features = [c for c in df.columns if c != label]
    if not features:
        raise DataError(f"{path.name} has only the label column {label!r}; add feature columns.")
    text_cols = [c for c in features if not is_numeric_dtype(df[c])]
    if text_cols:
        raise DataError(
            f"{path.name} has non-numeric feature columns {', '.join(map(repr, text_cols[:8]))}; "
            "remove them or encode them as numbers (the MLP reads numbers only)."
        )
    notes: list[str] = []
    df = drop_missing(df, [*features, label], path, notes)
    labels, classes = encode_labels(df[label], label, path)
    x = df[features].to_numpy(dtype=np.float32)
    return tabular_dataset(path.name, x, labels, classes, features, cfg).noted(notes, path.name)


def load_text_csv(cfg: RunConfig) -> Dataset:
    """A CSV of texts and labels; tokenised, vocabulary from the training split only."""
    path = user_path(cfg, "CSV file")
    df = read_csv(path)
    text = find_column(df, cfg.text_column, "text", "--text-column", path)
    label = find_column(df, cfg.label_column, "label", "--label-column", path)
    if text == label:
        raise DataError(f"The text and label columns of {path.name} are both {text!r}; name two different columns.")
    notes: list[str] = []
    df = drop_missing(df, [text, label], path, notes)
    labels, classes = encode_labels(df[label], label, path)
    texts = df[text].astype(str).tolist()
    return text_dataset(path.name, texts, labels, classes, cfg).noted(notes, path.name)


def load_series_csv(cfg: RunConfig) -> Dataset:
    """A CSV of numeric columns over time (rows in time order); forecast the target column."""
    path = user_path(cfg, "CSV file")
    df = read_csv(path)
    numeric = [
        c for c in df.columns if is_numeric_dtype(df[c]) and df[c].dtype != bool and not c.startswith("Unnamed:")
    ]  # pandas' saved row index is no signal
    target = _series_target(df, cfg.target, numeric, path)
    notes: list[str] = []
    ignored = [c for c in df.columns if c not in numeric]
    if ignored:
        notes.append(f"Ignored non-numeric columns {', '.join(ignored[:8])} of {path.name}.")
    df = drop_missing(df, numeric, path, notes)
    values = df[numeric].to_numpy(dtype=np.float64)
    ds = series_dataset(path.name, values, numeric, numeric.index(target), cfg)
    return ds.noted(notes, path.name)


def _series_target(df: pd.DataFrame, given: str, numeric: list[str], path: Path) -> str:
    if not numeric:
        raise DataError(f"{path.name} has no numeric column to forecast; give a CSV with a column of numbers.")
    if not given:
        if len(numeric) == 1:
            return numeric[0]
        raise DataError(
            f"{path.name} has several numeric columns ({', '.join(numeric[:8])}); "
            "name the one to forecast with --target."
        )
    target = find_column(df, given, "target", "--target", path)
    if target not in numeric:
        example = df[target].dropna().astype(str).head(1).tolist()
        raise DataError(
            f"Target column {target!r} of {path.name} is not numeric (it holds values like "
            f"{example[0] if example else '?'!r}); pick a column of numbers with --target."
        )
    return target


for _spec in [
    DatasetSpec(
        "csv",
        "Your CSV table",
        "tabular",
        load_csv,
        "Numeric feature columns and a label column; rows with missing values are dropped.",
        needs="data_path",
        options=("label_column",),
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
        "Rows in time order; forecast the target column from the past window of every numeric column.",
        needs="data_path",
        options=("target", "window", "horizon"),
    ),
]:
    register(_spec)
