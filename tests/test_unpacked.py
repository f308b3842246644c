"""Archives unpacked into the workspace count against its quota (refused in one sentence naming the upload when
over), go with the run that used them, and are cleaned up when no run uses them (on delete and at start-up)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from nnlab.core.errors import DataError
from nnlab.core.limits import QUOTA_ENV
from nnlab.data import load_dataset
from nnlab.data.registry import make_config
from nnlab.store.unpacked import GRACE_S, clean_workspace, unpacked_root, used_bytes
from tests.helpers import app_at
from tests.test_data_files import write_image_zip


def _zip(tmp_path: Path, name: str, per_class: int, seed_bytes: bytes = b"") -> Path:
    """A zip of three class folders; `seed_bytes` makes its content (so its hash) differ from another's."""
    return write_image_zip(tmp_path / name, per_class, extra={"photos/notes.txt": seed_bytes} if seed_bytes else None)


def _config(path: Path):
    return make_config("cnn", dataset="image-folder", data_path=str(path), image_size=16, epochs=1)


def _unpacked(workspace: Path) -> list[str]:
    root = unpacked_root(workspace)
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def test_an_archive_over_the_quota_is_refused_naming_it_and_nothing_is_unpacked(tmp_path, workspace, monkeypatch):
    first, second = _zip(tmp_path, "cats.zip", 10, b"1"), _zip(tmp_path, "dogs.zip", 10, b"2")
    load_dataset(_config(first))
    taken = used_bytes(unpacked_root(workspace))
    assert taken > 0
    monkeypatch.setenv(QUOTA_ENV, str(1.5 * taken / 2**20))  # room for one of the two, not both
    with pytest.raises(DataError) as err:
        load_dataset(_config(second))
    said = str(err.value)
    assert said.startswith("Archive dogs.zip unpacks to") and said.count(". ") == 0 and QUOTA_ENV in said
    assert len(_unpacked(workspace)) == 1 and used_bytes(unpacked_root(workspace)) == taken


def test_an_unpacked_archive_goes_with_the_last_run_that_used_it(tmp_path, store):
    archive = _zip(tmp_path, "cats.zip", 6)
    one, two = store.create(_config(archive)), store.create(_config(archive))
    load_dataset(_config(archive))
    (digest,) = _unpacked(store.root)
    store.delete(one)
    assert _unpacked(store.root) == [digest]  # the other run still names the archive
    store.delete(two)
    assert _unpacked(store.root) == [] and not list(unpacked_root(store.root).glob("*.json"))


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_start_up_removes_archives_no_run_uses_once_they_are_old(tmp_path, store):
    used, old, fresh = (_zip(tmp_path, f"{n}.zip", 6, n.encode()) for n in ("used", "old", "fresh"))
    store.create(_config(used))
    for archive in (used, old, fresh):
        load_dataset(_config(archive))
    root = unpacked_root(store.root)
    for entry in root.iterdir():  # everything unpacked long ago, except the fresh archive's
        if fresh.name not in (entry.with_suffix(".json").read_text() if entry.is_dir() else entry.read_text()):
            _age(entry, GRACE_S + 60)
    leftover = root / ".abc.half-unpacked"
    leftover.mkdir()
    _age(leftover, GRACE_S + 60)
    assert len(clean_workspace(store)) == 1  # the old one: no run names it
    assert len(_unpacked(store.root)) == 2 and not leftover.exists()


def test_the_dashboard_cleans_up_when_it_starts(tmp_path, workspace):
    load_dataset(_config(_zip(tmp_path, "cats.zip", 6)))
    root = unpacked_root(workspace)
    for entry in root.iterdir():
        _age(entry, GRACE_S + 60)
    app_at().run()
    assert _unpacked(workspace) == []
