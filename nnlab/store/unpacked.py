"""Archives unpacked into the workspace (data/extracted/<content hash>/): the quota they count against, which
runs use them, and removing those no run uses (a 1.5 MB zip can unpack to GBs).

Beside each unpacked folder a record, <content hash>.json, keeps the archive paths it was unpacked from and
its size. A run uses an unpacked folder when its data path is one of those archives. Deleting a run removes
the folders only it used; a cleanup (at the dashboard's start, and on each delete) removes the others no run
uses once they are older than GRACE_S, so a preview's unpacking waits for its Start.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from nnlab.core.errors import DataError
from nnlab.core.limits import QUOTA_ENV, archive_quota_bytes, size_text


class _Runs(Protocol):
    """What clean_workspace needs of a RunStore (typed by shape: the store imports this module)."""

    root: Path

    def list(self) -> list[Any]: ...


GRACE_S = 3600.0  # how long an unpacked archive that no run names yet is kept


def unpacked_root(home: Path) -> Path:
    """Where a workspace keeps its unpacked archives."""
    return Path(home) / "data" / "extracted"


def _record_path(root: Path, digest: str) -> Path:
    return root / f"{digest}.json"


def _read(record: Path) -> dict:
    try:
        found = json.loads(record.read_text())
        return found if isinstance(found, dict) else {}
    except (OSError, ValueError):
        return {}


def _archive_key(path: str | Path) -> str:
    """An archive's path as records and run configs are compared: absolute, links followed."""
    return str(Path(path).expanduser().resolve())


def used_bytes(root: Path, now: float | None = None) -> int:
    """What the unpacked archives take, by their records (one being unpacked counts already)."""
    now = now or time.time()
    total = 0
    for record in root.glob("*.json"):
        if (root / record.stem).is_dir() or _age(record, record, now) < GRACE_S:
            total += int(_read(record).get("bytes", 0))
    return total


def reserve(root: Path, digest: str, archive: Path, size: int) -> None:
    """Before unpacking `archive` (`size` bytes unpacked): refuse it in one sentence when the workspace's quota
    would be exceeded, else record it (so its space is counted, and it is known whose it is)."""
    root.mkdir(parents=True, exist_ok=True)
    used, quota = used_bytes(root), archive_quota_bytes()
    if used + size > quota:
        raise DataError(
            f"Archive {archive.name} unpacks to {size_text(size)}, more than the {size_text(max(0, quota - used))} "
            f"left of the {size_text(quota)} this workspace keeps for unpacked archives; delete runs you no longer "
            f"need (their archives go with them), or the operator can raise {QUOTA_ENV}."
        )
    note_use(root, digest, archive, size)


def note_use(root: Path, digest: str, archive: Path, size: int | None = None) -> None:
    """Add `archive` to the record of its unpacked folder (the same content may come by another path)."""
    record = _record_path(root, digest)
    old = _read(record)
    archives = sorted({*old.get("archives", []), _archive_key(archive)})
    body = {"archives": archives, "bytes": int(size if size is not None else old.get("bytes", 0))}
    tmp = record.with_name(f".{record.name}.tmp")
    tmp.write_text(json.dumps(body))
    tmp.replace(record)


def forget(root: Path, digest: str) -> None:
    """An unpacking that failed: its record goes, so its space is not counted."""
    if not (root / digest).is_dir():
        _record_path(root, digest).unlink(missing_ok=True)


def _age(record: Path, folder: Path, now: float) -> float:
    """Seconds since the record was written (it is renewed on each use), else since the folder was; 0 if gone."""
    for path in (record, folder):
        try:
            return now - path.stat().st_mtime
        except OSError:
            continue
    return 0.0


def clean(root: Path, data_paths: Iterable[str], released: Iterable[str] = (), now: float | None = None) -> list[str]:
    """Remove the unpacked archives no run's data path names: at once those of a `released` archive (a deleted
    run's), the others once older than GRACE_S (with half-unpacked leftovers); returns the hashes removed."""
    if not root.is_dir():
        return []
    now, wanted = now or time.time(), {_archive_key(p) for p in data_paths}
    gone = {_archive_key(p) for p in released}
    digests = {e.stem if e.suffix == ".json" else e.name for e in root.iterdir() if not e.name.startswith(".")}
    removed = []
    for digest in sorted(digests):
        record = _record_path(root, digest)
        archives = set(_read(record).get("archives", []))
        if archives & wanted or not (archives & gone or _age(record, root / digest, now) > GRACE_S):
            continue
        shutil.rmtree(root / digest, ignore_errors=True)
        record.unlink(missing_ok=True)
        removed.append(digest)
    for leftover in root.glob(".*"):  # a kill during unpacking leaves its staging folder behind
        if now - leftover.stat().st_mtime > GRACE_S:
            shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(missing_ok=True)
    return removed


def clean_workspace(store: _Runs, released: Iterable[str] = ()) -> list[str]:
    """clean() for a run store: the data paths of every run it holds are in use."""
    root = unpacked_root(store.root)
    if not root.is_dir() or not any(root.iterdir()):  # nothing unpacked: the runs need not be read
        return []
    paths = [r.config.data_path for r in store.list() if r.config.data_path]
    return clean(root, paths, released)
