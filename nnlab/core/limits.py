"""The operator's limits on what a user's data may cost the server, read from the environment when used (so a
test or a restarted server sees the current value):

- NNLAB_MAX_DATA_MB (default 1024): the largest data file read into memory (a CSV; the preview reads it too);
- NNLAB_ARCHIVE_QUOTA_MB (default 10240): what all archives unpacked into the workspace may take together.
"""

from __future__ import annotations

import os

MB = 2**20
# What one action may ask for, the same in every front end (the form's widgets take these as their bounds)
MAX_SEEDS = 10  # runs one start queues as a group of seeds, and seeds per sweep trial
MAX_PARALLEL = 16  # a sweep's trials at once
MAX_TRIALS = 500  # a sweep's trials
DATA_ENV, QUOTA_ENV = "NNLAB_MAX_DATA_MB", "NNLAB_ARCHIVE_QUOTA_MB"


def _megabytes(env: str, default: float) -> int:
    """$env in MB as bytes; the default when unset or not a positive number."""
    try:
        value = float(os.environ.get(env, "") or default)
    except ValueError:
        value = default
    return int((value if value > 0 else default) * MB)


def max_data_bytes() -> int:
    """The largest data file nnlab reads into memory."""
    return _megabytes(DATA_ENV, 1024)


def archive_quota_bytes() -> int:
    """What the archives unpacked into the workspace may take together."""
    return _megabytes(QUOTA_ENV, 10 * 1024)


def size_text(n: float) -> str:
    """'3.1 GB', '250 MB', '4.5 MB', '12 KB'."""
    for unit, size in (("GB", 2**30), ("MB", MB), ("KB", 2**10)):
        if n >= size:
            value = n / size
            return f"{value:.1f} {unit}" if value < 10 or unit == "GB" else f"{value:.0f} {unit}"
    return f"{n:.0f} bytes"
