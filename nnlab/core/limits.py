"""The operator's limits on what a user's data may cost the server, read from the environment when used (so a
test or a restarted server sees the current value):

- NNLAB_MAX_DATA_MB (default 1024): the largest data file read into memory (a CSV; the preview reads it too), and
  the most a CSV upload to the dashboard may send (at most UPLOAD_MB);
- NNLAB_ARCHIVE_QUOTA_MB (default 10240): what all archives unpacked into the workspace may take together;
- NNLAB_RUN_MEMORY_MB (default: half of the machine's memory, or of the container's limit where lower): the
  memory budget of one run. A run whose model alone would need more is refused before anything is allocated
  (in the form: Start disabled with the reason; on the command line: one sentence), and a run that grows past
  it fails with advice. A share of the total, not of the "free" memory: on a shared machine that moves. Only
  the local operator raises it for one run (`train --memory-budget MB`; the form's override, shown only where
  no password is set), and it says so.
- NNLAB_DISK_QUOTA_MB (default 20480): what the workspace's uploads and run folders may take together; over it,
  new runs, sweeps and uploads are refused in one sentence, and Home offers to reclaim space;
- NNLAB_VISITOR_RUNS (default 4): queued or running runs one visitor of a shared (password) dashboard may have;
  a visitor's start also takes at most MAX_VISITOR_SEEDS seeds.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

MB = 2**20
# What one action may ask for, the same in every front end (the form's widgets take these as their bounds)
MAX_SEEDS = 10  # runs one start queues as a group of seeds, and seeds per sweep trial
MAX_PARALLEL = 16  # a sweep's trials at once
MAX_TRIALS = 500  # a sweep's trials
MAX_CONFIRMED = 10  # trials a sweep's finish re-runs with more seeds, at most
DATA_ENV, QUOTA_ENV, MEMORY_ENV = "NNLAB_MAX_DATA_MB", "NNLAB_ARCHIVE_QUOTA_MB", "NNLAB_RUN_MEMORY_MB"
DISK_ENV, VISITOR_RUNS_ENV = "NNLAB_DISK_QUOTA_MB", "NNLAB_VISITOR_RUNS"
MAX_VISITOR_SEEDS = 3  # seeds one start of a password visitor may ask for
UPLOAD_MB = 200  # the most one dashboard upload may send
MEMORY_SHARE = 0.5  # of the machine's memory, the default budget of one run
BUDGET_KEY = "memory_budget_mb"  # a run's summary holds the budget the local operator raised for it


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


def upload_mb(read_whole: bool = True) -> int:
    """The most MB one dashboard upload may send: UPLOAD_MB, or for a file read whole into memory (a CSV) no more
    than max_data_bytes() allows (rounded up), so the browser refuses a file nnlab would refuse once sent."""
    return min(UPLOAD_MB, math.ceil(max_data_bytes() / MB)) if read_whole else UPLOAD_MB


def archive_quota_bytes() -> int:
    """What the archives unpacked into the workspace may take together."""
    return _megabytes(QUOTA_ENV, 10 * 1024)


def disk_quota_bytes() -> int:
    """What the workspace's uploads and run folders may take together."""
    return _megabytes(DISK_ENV, 20 * 1024)


def visitor_runs() -> int:
    """Queued or running runs one visitor of a shared dashboard may have at once."""
    try:
        value = int(os.environ.get(VISITOR_RUNS_ENV, "") or 4)
    except ValueError:
        value = 4
    return value if value > 0 else 4


def size_text(n: float) -> str:
    """'3.1 GB', '250 MB', '4.5 MB', '12 KB'."""
    for unit, size in (("GB", 2**30), ("MB", MB), ("KB", 2**10)):
        if n >= size:
            value = n / size
            return f"{value:.1f} {unit}" if value < 10 or unit == "GB" else f"{value:.0f} {unit}"
    return f"{n:.0f} bytes"


def machine_memory_mb() -> float | None:
    """This machine's memory in MB, or the container's memory limit where that is lower; None where unknown."""
    sizes = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                sizes.append(int(line.split()[1]) * 1024 / MB)
    except (OSError, ValueError, IndexError):
        pass
    for limit in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:  # "max" or a huge number: no limit
            sizes.append(int(text) / MB)
    return min(sizes) if sizes else None


@dataclass(frozen=True)
class MemoryBudget:
    """What one run may use, in MB, and where that figure comes from (for the sentence that names it)."""

    mb: float
    source: str  # "default", "operator" (NNLAB_RUN_MEMORY_MB) or "override" (the local operator, for one run)

    @property
    def text(self) -> str:
        """'12.0 GB (the run memory budget: half of this machine's 24.0 GB)' and the like."""
        size = size_text(self.mb * MB)
        if self.source == "override":  # --memory-budget may lower it, too
            moved = "lowered" if self.mb < run_memory_budget().mb else "raised"
            return f"{size} ({moved} for this run by the local operator)"
        if self.source == "operator":
            return f"{size} (the run memory budget the operator set in {MEMORY_ENV})"
        total = machine_memory_mb()
        whole = f" of this machine's {size_text(total * MB)}" if total else ""
        return f"{size} (the run memory budget: half{whole})"


def run_memory_budget(override_mb: float | None = None) -> MemoryBudget:
    """The memory budget of one run: the local operator's override for it, else NNLAB_RUN_MEMORY_MB, else half of
    the machine's memory (4 GB where that cannot be read)."""
    if override_mb:
        return MemoryBudget(float(override_mb), "override")
    if os.environ.get(MEMORY_ENV):
        return MemoryBudget(_megabytes(MEMORY_ENV, 4096) / MB, "operator")
    total = machine_memory_mb()
    return MemoryBudget(total * MEMORY_SHARE if total else 4096.0, "default")
