"""How people save tables and series, read for what it means: pandas' saved row index, empty columns,
ID-like columns, time columns, and the time steps a series skipped.

Each function adds what it did to a list of findings (one sentence each, in the words of the command line), so
the preview, the run page, the report and the command line say it in the same words. How numbers were written
(decimal commas, thousands separators) is nnlab.data.numbers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from nnlab.core.errors import DataError
from nnlab.core.findings import Finding, info, warning
from nnlab.core.text import plural

_SAVED_INDEX = re.compile(r"^Unnamed: \d+$")  # pandas' name for a column with an empty header cell
TIME_NAMES = re.compile(
    r"^(year|yr|date|day|time|timestamp|datetime|ds|t|month|week|quarter|period|hour|minute|epoch)s?$",
    re.IGNORECASE,
)
# names people give a row's identifier: id, ID, customer_id, customerId, row, index, key, uuid, record no ...
_ID_NAMES = re.compile(
    r"^(id|ids|idx|index|row|rows|row[ _-]?(id|no|nr|num|number)|key|uuid|guid|record|record[ _-]?(id|no)|no\.?|nr\.?)$"
    r"|[ _-](id|no|nr|uuid|key)$|[a-z]Id$|ID$",
    re.IGNORECASE,
)
if TYPE_CHECKING:  # the callers hand in pandas objects: pandas is loaded by then
    import pandas as pd

ID_MIN_ROWS = 20  # fewer rows than this tell too little for a column to be called an ID
MAX_GRID = 10  # a series' regular grid may hold at most this many times its rows (else its steps cannot be told)


def is_number_column(values: pd.Series) -> bool:
    """Numbers (not booleans)."""
    from pandas.api.types import is_numeric_dtype

    return is_numeric_dtype(values) and values.dtype != bool


def positions(df: pd.DataFrame, columns: list[str], most: int = 8) -> str:
    """Columns told by their place in the header row ("column 3", "columns 2, 5 and 7"), not by their names."""
    places = [str(list(df.columns).index(c) + 1) for c in columns[:most]]
    more = f" and {len(columns) - most} more" if len(columns) > most else ""
    if len(places) == 1 and not more:
        return f"column {places[0]}"
    shown = ", ".join(places[:-1]) + (f", {places[-1]}" if more else f" and {places[-1]}")
    return f"columns {shown}{more}"


def is_text(values: pd.Series) -> bool:
    """Text (pandas' string or object columns)."""
    from pandas.api.types import is_string_dtype

    return is_string_dtype(values) or values.dtype == object


def names(columns: list[str], most: int = 8) -> str:
    """'a', 'b' and 3 more: column names as a finding shows them."""
    shown = ", ".join(repr(c) for c in columns[:most])
    return shown + (f" and {len(columns) - most} more" if len(columns) > most else "")


def columns_hold(columns: list[str], source: str) -> str:
    """ "Column 'a' of data.csv holds", "Columns 'a', 'b' of data.csv hold": a finding's subject."""
    many = len(columns) > 1
    return f"Column{'s' if many else ''} {names(columns)} of {source} hold{'' if many else 's'}"


def drop_saved_index(df: pd.DataFrame, source: str, found: list[Finding]) -> pd.DataFrame:
    """Without pandas' saved row index: an unnamed column of unique whole numbers."""
    index = [c for c in df.columns if _SAVED_INDEX.match(c) and _unique_integers(df[c])]
    if index:
        found.append(
            info(
                "columns",
                f"Column {index[0]!r} of {source} is the row index pandas saves with to_csv; nnlab left it out "
                "of the inputs; save the file with index=False to leave it out yourself.",
            )
        )
    return df.drop(columns=index)


def drop_empty_columns(df: pd.DataFrame, keep: str, source: str, found: list[Finding]) -> pd.DataFrame:
    """Without columns that hold no value at all (a trailing separator makes one), keep excepted."""
    empty = [c for c in df.columns if c != keep and df[c].isna().all()]
    if len(empty) == 1:
        place, name = list(df.columns).index(empty[0]) + 1, empty[0]
        said = "no name" if _SAVED_INDEX.match(name) else repr(name)
        found.append(info("columns", f"Column {place} of {source} ({said}) holds no value at all; nnlab left it out."))
    elif empty:
        found.append(
            info("columns", f"{_places(df, empty).capitalize()} of {source} hold no value at all; nnlab left them out.")
        )
    return df.drop(columns=empty)


def _places(df: pd.DataFrame, columns: list[str]) -> str:
    """'columns 5 to 15' for a run of neighbours, else positions()' 'columns 2, 5 and 7'."""
    places = [list(df.columns).index(c) + 1 for c in columns]
    if places == list(range(places[0], places[0] + len(places))):
        return f"columns {places[0]} to {places[-1]}"
    return positions(df, columns)


def _unique_integers(values: pd.Series) -> bool:
    if not is_number_column(values) or values.isna().any():
        return False
    numbers = values.to_numpy(dtype=np.float64)
    return bool(np.all(numbers == np.round(numbers))) and values.is_unique


def id_like(values: pd.Series, name: str) -> bool:
    """A row's identifier: a different whole number on every row that is dense (a shuffled or sorted run of
    numbers) or named like an ID, or a different text on every row. It carries no signal a model should use,
    whatever the order of the rows: sorted by class, it gives the label away; shuffled, it is noise to overfit."""
    if len(values) <= ID_MIN_ROWS or values.isna().any() or not values.is_unique:
        return False
    if is_text(values):
        return True
    if not _unique_integers(values):
        return False
    numbers = values.to_numpy(dtype=np.float64)
    dense = numbers.max() - numbers.min() + 1 <= 2 * len(values)
    return dense or bool(_ID_NAMES.search(name.strip()))


def leave_out_ids(df: pd.DataFrame, features: list[str], source: str, keep: bool, found: list[Finding]) -> list[str]:
    """The features without ID-like columns (unless keep: those of numbers), with a finding either way."""
    ids = [c for c in features if id_like(df[c], c)]
    if not ids:
        return features
    if len(ids) == len(features):  # nothing else to learn from: kept, and said
        found.append(
            warning(
                "id_column",
                f"{_unique_rows(ids, source)}; nnlab kept {'them' if len(ids) > 1 else 'it'}, as the file has no "
                "other feature; check that such a column says something about the label.",
            )
        )
        return features
    if keep:
        numbers = [c for c in ids if not is_text(df[c])]
        if numbers:
            kept = "them as features" if len(numbers) > 1 else "it as a feature"
            found.append(
                warning(
                    "id_column",
                    f"{_unique_rows(numbers, source)}; nnlab kept {kept} (--keep-ids), which lets a model learn rows by heart; drop --keep-ids to leave such columns out.",
                )
            )
        ids = [c for c in ids if c not in numbers]  # a different text on every row is no input: left out, said
        if not ids:
            return features
    texts = all(is_text(df[c]) for c in ids)  # --keep-ids keeps numbers only
    it, means = ("them", "they mean") if len(ids) > 1 else ("it", "it means")
    then = (
        f"a text on every row unlike the others is no category, so encode {it} as numbers if {means} something"
        if texts
        else f"give --keep-ids to keep {it} if {means} something"
    )
    found.append(
        info(
            "id_column",
            f"{_unique_rows(ids, source)}; nnlab left {it} out of the features (an ID says nothing about a new row, "
            f"and sorted by class it gives the label away); {then}.",
        )
    )
    return [c for c in features if c not in ids]


def _unique_rows(ids: list[str], source: str) -> str:
    return f"{columns_hold(ids, source)} a different value on every row, like a row ID or a name"


def find_time_column(df: pd.DataFrame, target: str, repeats: bool = False) -> str | None:
    """The column that is the time axis: a date column, or a time-named or evenly stepped increasing number. A
    column of dates some of which repeat is one where repeats (a series' loader refuses it, saying so)."""
    for c in df.columns:
        if c == target or df[c].isna().any():
            continue
        if df[c].nunique() < len(df) and not (repeats and is_text(df[c])):
            continue
        values = df[c]
        if is_number_column(values):
            steps = np.diff(values.to_numpy(dtype=np.float64))
            if (TIME_NAMES.match(c) and ((steps > 0).all() or (steps < 0).all())) or (
                len(steps) and (steps > 0).all() and np.allclose(steps, steps[0])
            ):
                return c
        elif is_text(values) and _dates(values) is not None:
            return c
    return None


def _dates(values: pd.Series) -> pd.Series | None:
    """values parsed as dates when every one of them is a date, else None."""
    import warnings

    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "could not infer format": parsing element by element is fine here
        parsed = pd.to_datetime(values, errors="coerce", dayfirst=_day_first(values))
    return parsed if parsed.notna().all() else None


def _day_first(values: pd.Series) -> bool:
    """Whether dates are written day first (31.12.2020, 31/12/2020): a first field above 12 somewhere."""
    first = values.astype(str).str.extract(r"^\s*(\d{1,2})[./-]\d{1,2}[./-]\d{2,4}")[0].dropna()
    return bool(len(first)) and bool((first.astype(int) > 12).any())


def time_key(df: pd.DataFrame, time: str) -> pd.Series:
    """The time column as numbers or dates."""
    return df[time] if is_number_column(df[time]) else _dates(df[time])


def refuse_repeated_times(df: pd.DataFrame, time: str, source: str, place: str) -> None:
    """DataError where a time appears on more than one row: which of them is the step is not for nnlab to guess."""
    key = time_key(df, time)
    again = key.duplicated(keep="first").to_numpy()
    if again.any():
        times = int(key[again].nunique())
        line = int(np.argmax(again)) + 2  # the header is line 1
        what = "date" if not is_number_column(df[time]) else "time"
        raise DataError(
            f"{plural(times, what)} in {place} of {source} appear{'s' if times == 1 else ''} on more than one row "
            f"(the first repeat on line {line}); give one row per time step (sum or average the rows of each first)."
        )


def order_by_time(df: pd.DataFrame, time: str, source: str, found: list[Finding]) -> pd.DataFrame:
    """Rows in increasing time (newest-first files are common), with a finding when they had to be sorted."""
    key = time_key(df, time)
    if key.is_monotonic_increasing:
        return df
    found.append(
        info("series", f"The rows of {source} were not in increasing time order; nnlab sorted them by {time!r}.")
    )
    return df.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)


def regular_steps(
    df: pd.DataFrame, time: str, source: str, insert: bool, found: list[Finding], place: str
) -> pd.DataFrame:
    """A series in time order with the time steps it skipped (deleted rows, missing weeks) inserted as blank rows to
    be interpolated (insert), or joined with a finding (not insert); DataError when no regular step fits its times.
    place: the time column as an error may name it (by position, never by its header)."""
    key = time_key(df, time)
    grid, unit = _grid(key, time)
    if grid is None:
        raise DataError(
            f"The time steps in {place} of {source} are uneven and no regular step fits them all, so the missing "
            "steps cannot be told; resample the series to even steps (or remove the time column to take the rows "
            "as evenly spaced)."
        )
    missing = len(grid) - len(df)
    if not missing:
        found.append(info("series", f"The rows of {source} are one {unit} apart, with no step missing."))
        return df
    if not insert:
        found.append(
            warning(
                "series",
                f"{plural(missing, unit)} of {source} are missing between its rows (one {unit} apart); nnlab joined "
                "the steps either side of each gap (--missing drop); use --missing fill to insert and interpolate them.",
            )
        )
        return df
    found.append(
        info(
            "series",
            f"The rows of {source} are one {unit} apart but {plural(missing, unit)} "
            f"{'is' if missing == 1 else 'are'} missing; nnlab inserted {'it' if missing == 1 else 'them'} and "
            "interpolated the values linearly in time; add the rows to the file to use values of your own.",
        )
    )
    import pandas as pd

    where = pd.Index(grid).get_indexer(key.to_numpy()) if not isinstance(grid, np.ndarray) else _positions(key, grid)
    full = df.set_axis(where).reindex(range(len(grid)))
    full[time] = np.asarray(grid)
    return full


def _positions(key: pd.Series, grid: np.ndarray) -> np.ndarray:
    t = key.to_numpy(dtype=np.float64)
    step = (grid[-1] - grid[0]) / max(len(grid) - 1, 1)
    return np.round((t - t[0]) / step).astype(np.int64)


_UNITS = {"year", "quarter", "month", "week", "day", "hour", "minute"}


def _grid(key: pd.Series, name: str) -> tuple[np.ndarray | pd.DatetimeIndex | None, str]:
    """The regular grid from the first to the last time that holds every time given, and its step's name; None
    where no step fits or the grid would be more than MAX_GRID times the rows."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(key):
        return _date_grid(pd.DatetimeIndex(key))
    t = key.to_numpy(dtype=np.float64)
    if len(t) < 3:
        return t, "step"
    steps = np.diff(t)
    step = float(steps.min())
    multiples = steps / step if step > 0 else steps
    if (
        step <= 0
        or not np.allclose(multiples, np.round(multiples), atol=1e-6)
        or t[-1] - t[0] > MAX_GRID * len(t) * step
    ):
        return None, ""
    grid = t[0] + step * np.arange(int(round((t[-1] - t[0]) / step)) + 1)
    if np.all(t == np.round(t)) and step == round(step):
        grid = grid.round().astype(np.int64)
    unit = name.strip().lower().removesuffix("s")
    return grid, unit if unit in _UNITS and step == 1 else "step"


def _date_steps() -> tuple[tuple[str, object], ...]:
    """(name, pandas frequency) of the steps a dated series may take, coarsest first: the first whose grid holds
    every date is the series' step."""
    from pandas import DateOffset

    return (
        ("year", "YS"), ("year", "YE"), ("year", DateOffset(years=1)),
        ("quarter", "QS"), ("quarter", "QE"), ("quarter", DateOffset(months=3)),
        ("month", "MS"), ("month", "ME"), ("month", DateOffset(months=1)),
        ("week", DateOffset(weeks=1)), ("business day", "B"), ("day", "D"),
        ("hour", "h"), ("minute", "min"), ("second", "s"),
    )  # fmt: skip


def _date_grid(dates: pd.DatetimeIndex) -> tuple[pd.DatetimeIndex | None, str]:
    import pandas as pd

    first, last = dates[0], dates[-1]
    for unit, freq in _date_steps():
        try:
            count = _periods(first, last, unit)
            if count > MAX_GRID * len(dates):
                continue
            grid = pd.date_range(first, last, freq=freq)
        except (ValueError, OverflowError):
            continue
        if len(grid) >= len(dates) and dates.isin(grid).all():
            return grid, unit
    return None, ""


def _periods(first: pd.Timestamp, last: pd.Timestamp, unit: str) -> float:
    """About how many steps of unit lie between two dates (to skip grids far too fine before building them)."""
    seconds = {"year": 365 * 86400, "quarter": 91 * 86400, "month": 30 * 86400, "week": 7 * 86400,
               "business day": 86400, "day": 86400, "hour": 3600, "minute": 60, "second": 1}[unit]  # fmt: skip
    return (last - first).total_seconds() / seconds


def interpolate_gaps(
    df: pd.DataFrame, columns: list[str], source: str, found: list[Finding], blanks: int | None = None
) -> pd.DataFrame:
    """Missing values filled linearly between their neighbours in time (the ends take the nearest value); the
    finding counts `blanks` (the cells left blank in the file, not those of inserted time steps) when given."""
    part = df[columns].replace([np.inf, -np.inf], np.nan).astype(np.float64)
    gaps = int(part.isna().sum().sum()) if blanks is None else blanks
    if not part.isna().any().any():
        return df
    df = df.copy()
    df[columns] = part.interpolate(limit_direction="both")
    if not gaps:
        return df
    found.append(
        info(
            "missing",
            f"{plural(gaps, 'value')} of {source} {'was' if gaps == 1 else 'were'} missing; nnlab filled them by "
            "linear interpolation in time (no time step dropped); use --missing drop to drop their rows instead.",
        )
    )
    return df
