"""Names and notes as typed: one line for a name, the lengths kept, an upload's name as the user knows it."""

from __future__ import annotations

import re
from pathlib import Path

MAX_NAME, MAX_NOTE = 120, 2000  # characters kept of a run's name and note


def file_name(path: str) -> str:
    """A data file's name as the user knows it: without the content-hash prefix older dashboards gave uploads."""
    return re.sub(r"^[0-9a-f]{12}-", "", Path(path).name)


def clean(name: str, note: str) -> tuple[str, str]:
    """A typed name (one line) and note, trimmed to their lengths."""
    return " ".join(name.split())[:MAX_NAME], note.strip()[:MAX_NOTE]
