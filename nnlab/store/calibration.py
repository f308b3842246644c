"""How far off the pre-flight estimates were, per device and architecture, kept in the workspace.

Each run that trains its first epoch adds real / measured seconds of that epoch to `calibration.json` (the last
HISTORY ratios per key are kept); the next estimate on the same device for the same architecture is scaled by
the median of those ratios, so the second estimate on a machine is closer than the first. The device is named
as a run records it ("cpu (2 threads)", "cuda (NVIDIA H100 ...)"): threads change the speed, so they change
the key. A file lock serialises the runs that write at once.
"""

from __future__ import annotations

import json
import statistics
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nnlab.store.runfolder import atomic_write

FILE = "calibration.json"
HISTORY = 10  # ratios kept per device and architecture
BOUNDS = (0.2, 5.0)  # a ratio outside is a run disturbed by something else (a paused machine): not kept


def key(device: str, arch: str) -> str:
    """'cpu (2 threads) | mlp'."""
    return f"{device} | {arch}"


def _read(root: Path) -> dict[str, list[float]]:
    try:
        data = json.loads((root / FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {k: [float(r) for r in v] for k, v in data.items() if isinstance(v, list)} if isinstance(data, dict) else {}


@contextmanager
def _locked(root: Path) -> Any:
    try:
        import fcntl
    except ImportError:  # not on this platform: a lost update costs one ratio
        yield
        return
    with open(root / f"{FILE}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def record(root: Path, device: str, arch: str, measured: float, real: float) -> None:
    """Keep real / measured seconds of an epoch for this device and architecture."""
    if measured <= 0 or real <= 0 or not BOUNDS[0] <= real / measured <= BOUNDS[1]:
        return
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root):
        data = _read(root)
        ratios = [*data.get(key(device, arch), []), real / measured][-HISTORY:]
        data[key(device, arch)] = [round(r, 4) for r in ratios]
        atomic_write(root / FILE, lambda tmp: tmp.write_text(json.dumps(data, indent=1)))


def ratios(root: Path, device: str, arch: str) -> list[float]:
    """The kept ratios real / measured, oldest first."""
    return _read(root).get(key(device, arch), [])


def factor(root: Path | None, device: str, arch: str) -> float:
    """What to scale a measured estimate by: the median kept ratio (1 with no history)."""
    kept = ratios(root, device, arch) if root is not None else []
    return statistics.median(kept) if kept else 1.0
