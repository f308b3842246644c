"""Small wording helpers shared by the command line, the pages and the report."""

from __future__ import annotations

from collections.abc import Sequence


def plural(n: int, noun: str, many: str | None = None) -> str:
    """'1 epoch', '2 epochs', '1 thread', '0 runs'; `many` for irregular nouns."""
    return f"{n:,} {noun if n == 1 else many or noun + 's'}"


def and_list(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def format_duration(seconds: float | None, fine: bool = False) -> str:
    """'42 s', '3 min 05 s', '1 h 02 min'; '–' when unknown; a sub-second run is '0.4 s', not '0 s', and one
    under 0.05 s '40 ms', not '0.0 s'.
    fine: milliseconds and two significant digits below 10 s ('4.7 ms', '0.11 s'), for steps and short epochs."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "–"
    if 0 < seconds < 0.05 or (fine and seconds < 0.1):  # a 40 ms trial is not "0.0 s"
        return f"{seconds * 1000:.2g} ms"
    if seconds < 9.95:
        return f"{seconds:.2g} s" if fine else f"{seconds:.1f} s"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"
