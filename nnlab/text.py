"""Small wording helpers shared by the command line, the pages and the report."""

from __future__ import annotations


def plural(n: int, noun: str, many: str | None = None) -> str:
    """'1 epoch', '2 epochs', '1 thread', '0 runs'; `many` for irregular nouns."""
    return f"{n:,} {noun if n == 1 else many or noun + 's'}"
