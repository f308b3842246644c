"""What a workspace's files take against its disk quota, keeping uploads, and what can go to make room.

Counted: uploads (uploads/<content hash>/<name as uploaded>) and run folders (runs/<id>/). What can go: uploads no
run names (a refused file, a preview never started) once older than UNUSED_AFTER_S, and the last checkpoint of
each finished run (it is only for resuming; the run keeps its weights, best checkpoint and results).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nnlab.core.limits import MB, archive_quota_bytes, disk_quota_bytes, size_text
from nnlab.core.text import plural
from nnlab.store.runfolder import CHECKPOINT_LAST
from nnlab.store.runs import RunStore
from nnlab.store.unpacked import used_bytes

UPLOADS = "uploads"
UNPACKED = "data/extracted"  # where archives given as data are unpacked (nnlab.data.images)
UNUSED_AFTER_S = 3600.0  # an upload no run names is kept this long: its form may be about to start a run
CHUNK = 4 * MB  # an upload is copied to disk this much at a time (never held whole a second time)


def folder_bytes(path: Path) -> int:
    """What the files under path take (links counted as links, files that vanish meanwhile as nothing)."""
    total = 0
    for top, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(top, name)).st_size
            except OSError:
                continue
    return total


@dataclass(frozen=True)
class Usage:
    """Bytes the uploads and the run folders take, and the quota they share."""

    uploads: int
    runs: int
    quota: int
    unpacked: int = 0  # archives unpacked into the workspace, under a quota of their own
    unpacked_quota: int = 0

    @property
    def total(self) -> int:
        return self.uploads + self.runs

    def full(self, adding: int = 0) -> bool:
        """Whether the workspace is at its quota, or would pass it with `adding` bytes more."""
        return self.total + adding > self.quota or self.total >= self.quota

    @property
    def text(self) -> str:
        """'3.2 GB of 20.0 GB (uploads 1.1 GB, run folders 2.1 GB)'."""
        return (
            f"{size_text(self.total)} of {size_text(self.quota)} "
            f"(uploads {size_text(self.uploads)}, run folders {size_text(self.runs)})"
        )


def usage(store: RunStore) -> Usage:
    """What the workspace takes now against its quota."""
    unpacked = used_bytes(store.root / UNPACKED) if (store.root / UNPACKED).is_dir() else 0
    return Usage(
        folder_bytes(store.root / UPLOADS),
        folder_bytes(store.root / "runs"),
        disk_quota_bytes(),
        unpacked,
        archive_quota_bytes(),
    )


@dataclass(frozen=True)
class Reclaimable:
    """What reclaiming would delete: unused upload folders and finished runs' last checkpoints, with their sizes."""

    uploads: tuple[Path, ...] = ()
    upload_bytes: int = 0
    checkpoints: tuple[str, ...] = ()  # run ids
    checkpoint_bytes: int = 0

    @property
    def total(self) -> int:
        return self.upload_bytes + self.checkpoint_bytes

    @property
    def text(self) -> str:
        """'6 unused uploads (900 MB) and the last checkpoints of 3 finished runs (1.1 GB)'."""
        parts = []
        if self.uploads:
            parts.append(f"{plural(len(self.uploads), 'unused upload')} ({size_text(self.upload_bytes)})")
        if self.checkpoints:
            runs = plural(len(self.checkpoints), "finished run")
            parts.append(f"the last checkpoints of {runs} ({size_text(self.checkpoint_bytes)})")
        return " and ".join(parts) or "nothing"


def _named(store: RunStore) -> set[str]:
    """The files the runs in the store read (their data and weights files), as absolute paths."""
    paths = {p for rec in store.list() for p in (rec.config.data_path, rec.config.weights_path) if p}
    return {str(Path(p).expanduser().resolve()) for p in paths}


def reclaimable(store: RunStore, now: float | None = None) -> Reclaimable:
    """What can go now: upload folders no run names and older than UNUSED_AFTER_S; finished runs' last checkpoints."""
    now, named, root = now or time.time(), _named(store), store.root / UPLOADS
    uploads = []
    for entry in sorted(root.iterdir()) if root.is_dir() else ():
        files = [entry] if entry.is_file() else [f for f in entry.iterdir() if f.is_file()]
        if any(str(f.resolve()) in named for f in files) or now - entry.stat().st_mtime < UNUSED_AFTER_S:
            continue
        uploads.append(entry)
    done = [r.run_id for r in store.list("finished") if store.folder(r.run_id).has_checkpoint()]
    sizes = [(store.folder(i).path / CHECKPOINT_LAST).stat().st_size for i in done]
    return Reclaimable(tuple(uploads), sum(map(_entry_bytes, uploads)), tuple(done), sum(sizes))


def _entry_bytes(entry: Path) -> int:
    if entry.is_dir():
        return folder_bytes(entry)
    return entry.stat().st_size if entry.exists() else 0


def reclaim(store: RunStore, what: Reclaimable) -> int:
    """Delete what `what` lists (as it stands now: a run that has since resumed keeps its checkpoint); bytes freed."""
    freed = 0
    for entry in what.uploads:
        freed += _entry_bytes(entry)
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    for run_id in what.checkpoints:
        rec = store.find(run_id)
        if rec is not None and rec.status == "finished":
            freed += store.folder(run_id).drop_checkpoint()
    return freed


def keep_upload(store: RunStore, name: str, data: BinaryIO) -> Path:
    """Copy an uploaded file to disk a chunk at a time, once, under uploads/<content hash>/ with the name it was
    uploaded with (so messages and run names show that name); its path."""
    root = store.root / UPLOADS
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=root, prefix=".upload-", delete=False) as tmp:
        try:
            while chunk := data.read(CHUNK):
                digest.update(chunk)
                tmp.write(chunk)
        except BaseException:
            os.unlink(tmp.name)
            raise
    safe = re.sub(r"[^A-Za-z0-9._ -]+", "_", Path(name).name).strip("._ ") or "upload"
    path = root / digest.hexdigest()[:12] / safe
    if path.exists():
        os.unlink(tmp.name)
        os.utime(path.parent)  # kept again: its grace before reclaiming starts now
    else:
        path.parent.mkdir(exist_ok=True)
        os.replace(tmp.name, path)
    return path
