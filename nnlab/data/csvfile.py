"""The user's CSV files as the loaders read them: by path (the dashboard saves an upload to a file and passes its
path, so both doors lead here), decoded, split by their separator, numbers read in the file's own style.

An error never quotes the file (its header cells or values): a typed path may name a file that is not the user's,
so problems are told by column position, count and what the user typed.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nnlab.core.config import RunConfig
from nnlab.core.errors import DataError
from nnlab.core.findings import Finding
from nnlab.core.limits import DATA_ENV, max_data_bytes, size_text
from nnlab.core.naming import file_name
from nnlab.data.layout import find_time_column, is_number_column
from nnlab.data.numbers import read_numbers

if TYPE_CHECKING:  # pandas loads when a CSV is read, not when the datasets register (a second on 2 cores)
    import pandas as pd

_SEPARATORS = ",;\t|"
_WORKBOOKS = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods", ".numbers")


def shown_name(path: Path) -> str:
    """The file's name as the user knows it: without the content-hash prefix the dashboard gave uploads."""
    return file_name(str(path))


@dataclass(frozen=True)
class CsvPeek:
    """A CSV as the loaders read it, for the form: its size, its columns, which hold numbers, its first rows, and
    which hold no value at all (a separator at the end of every line makes one; the loaders leave them out)."""

    rows: int
    columns: tuple[str, ...]
    numeric: tuple[str, ...]
    head: pd.DataFrame
    empty: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()  # the columns of numbers a series could forecast: all but a time axis of numbers


LABEL_NAMES = ("label", "labels", "class", "target", "y", "category", "species", "sentiment", "outcome")


def peek_csv(path: Path, rows: int = 5) -> CsvPeek:
    """The CSV read as every loader reads it (read_csv): its row count, columns, columns of numbers, first rows."""
    df = read_csv(path)
    numeric = tuple(c for c in df.columns if is_number_column(df[c]))
    empty = tuple(c for c in df.columns if df[c].isna().all())
    time = find_time_column(df[list(numeric)], "") if len(numeric) > 1 else None  # a year column; dates are text
    targets = tuple(c for c in numeric if c != time)
    return CsvPeek(len(df), tuple(df.columns), numeric, df.head(rows).reset_index(drop=True), empty, targets)


def likely_column(peek: CsvPeek, field: str, current: str, taken: str = "") -> str:
    """The column a field (label_column, text_column, target) names: current where the CSV has it (case aside),
    else a usual name or a guess, never `taken` (the other column of a text CSV); "" for an automatic target (a
    series with one column of numbers besides its time)."""
    folded = {c.lower(): c for c in peek.columns}
    if current.strip().lower() in folded:
        return folded[current.strip().lower()]
    free = [c for c in peek.columns if c != taken and c not in peek.empty] or list(peek.columns)
    if field == "target":  # automatic where the file has one column to forecast; else its first, to be changed
        return "" if len(peek.targets) <= 1 else peek.targets[0]
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


def read_csv(path: Path, found: list[Finding] | None = None) -> pd.DataFrame:
    """A CSV (UTF-8 with or without BOM, or UTF-16 with BOM; comma, semicolon, tab or bar separated).

    Numbers written with decimal commas or thousands separators are read as numbers (nnlab.data.numbers); what was
    done is added to found.
    """
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a CSV file; give the path of the file itself.")
    if not path.is_file():  # a named pipe, a device, a socket: reading one could wait forever
        raise DataError(f"{path} is not a regular file (a pipe, a device or a socket); give the path of a CSV file.")
    if path.suffix.lower() in _WORKBOOKS:  # a workbook is a zip of XML (or a binary file): no CSV reader reads it
        raise DataError(
            f"{shown_name(path)} is a spreadsheet workbook, not a CSV; save its sheet as CSV UTF-8 from the "
            "spreadsheet (File > Save As) and give that file."
        )
    size, most = path.stat().st_size, max_data_bytes()
    if size > most:  # refused before reading: the preview and the estimate read the file too
        raise DataError(
            f"{shown_name(path)} is {size_text(size)}, more than the {size_text(most)} a data file may have here; "
            f"use a sample of it (the operator can raise {DATA_ENV})."
        )
    encoding = _encoding(path)
    head = _checked_head(path, encoding)  # the whole file decoded once, a chunk at a time, never held whole
    sep = _separator(head)
    df = _parse(path, encoding, sep)
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise DataError(f"{shown_name(path)} has a header but no data rows; add rows below the header.")

    def as_text() -> pd.DataFrame:
        return _parse(path, encoding, sep, dtype=str).set_axis(df.columns, axis=1)

    return read_numbers(df, as_text, shown_name(path), found if found is not None else [])


def _parse(path: Path, encoding: str, sep: str, **options: object) -> pd.DataFrame:
    """The CSV parsed straight from its file (no decoded copy of it is held: a 150 MB upload peaked near 1.8 GB)."""
    import pandas as pd

    try:
        return pd.read_csv(path, encoding=encoding, sep=sep, skipinitialspace=True, na_values=BLANK_MARKS, **options)
    except pd.errors.EmptyDataError:
        raise DataError(f"{shown_name(path)} has no columns; give a CSV with a header row and data rows.") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(
            f"{shown_name(path)} is not a well-formed CSV{_parser_detail(exc)}; check that every row has as many "
            "fields as the header."
        ) from None


BLANK_MARKS = ["?"]  # a missing value as many data sets write it (UCI's), blank like pandas' own NA, n/a, null
HEAD_CHARS = 64 * 1024  # of the decoded text, enough to sniff the separator from its first lines
_CHUNK = 4 * 2**20


def _encoding(path: Path) -> str:
    """UTF-16 where the file starts with its byte-order mark, else UTF-8 (with or without BOM); a file with NUL
    bytes in its first 4 KB is not text."""
    with open(path, "rb") as f:
        start = f.read(4096)
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if b"\x00" in start:
        raise DataError(f"{shown_name(path)} is not a text file; give a CSV saved as text (UTF-8).")
    return "utf-8-sig"


def _checked_head(path: Path, encoding: str) -> str:
    """The first HEAD_CHARS of the decoded text, once the whole file has decoded (DataError naming the first bad
    byte, or an empty file); read a chunk at a time."""
    import codecs

    decoder, head, offset, blank = codecs.getincrementaldecoder(encoding)(), "", 0, True
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{shown_name(path)} is not valid {encoding.upper().removesuffix('-SIG')} text (byte "
                    f"{offset + exc.start}); save it as CSV UTF-8 and try again."
                ) from None
            head += text[: max(0, HEAD_CHARS - len(head))]
            blank = blank and not text.strip()
            offset += len(chunk)
            if not chunk:
                break
    if blank:
        raise DataError(f"{shown_name(path)} is empty; give a CSV with a header row and data rows.")
    return head


def _parser_detail(exc: Exception) -> str:
    """Where pandas' tokenizer failed, in numbers only (its message may quote the file otherwise)."""
    found = re.search(r"Expected (\d+) fields? in line (\d+), saw (\d+)", str(exc))
    if not found:
        return ""
    header, line, seen = found.groups()
    return f" (line {line} has {seen} fields, the header {header})"


def _separator(text: str) -> str:
    """The field separator, sniffed from the text's first lines; a comma when unsure."""
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
