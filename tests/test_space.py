"""The workspace's disk quota (issue 21 item 3): what uploads and run folders take, reclaiming unused uploads and
finished runs' last checkpoints, new work refused over the quota in one sentence (no run left), uploads kept a
chunk at a time, and one visitor of a shared dashboard bounded in seeds and runs at once."""

from __future__ import annotations

import io
import os
import time

import pytest

from nnlab.core.errors import NNLabError
from nnlab.core.limits import DISK_ENV, MAX_VISITOR_SEEDS, MB, VISITOR_RUNS_ENV
from nnlab.lab import Lab
from nnlab.store.space import CHUNK, UNUSED_AFTER_S, keep_upload, reclaim, reclaimable, usage
from tests.helpers import tiny_config


def _aged(path, seconds: float = UNUSED_AFTER_S + 60) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def _finished_run(store, size: int = 3 * MB) -> str:
    """A finished run with a last checkpoint of `size` bytes (what a trained run leaves)."""
    run_id = store.create(tiny_config(), status="finished")
    (store.folder(run_id).path / "last.pt").write_bytes(b"\0" * size)
    (store.folder(run_id).path / "model.pt").write_bytes(b"\0" * 1000)
    return run_id


def test_usage_counts_uploads_and_run_folders(store):
    keep_upload(store, "wine.csv", io.BytesIO(b"a,b\n" * 1000))
    _finished_run(store, 2 * MB)
    used = usage(store)
    assert used.uploads == 4000 and used.runs > 2 * MB and used.total == used.uploads + used.runs
    assert "of 20.0 GB (uploads 3.9 KB, run folders" in used.text


def test_reclaim_takes_unused_old_uploads_and_finished_runs_last_checkpoints(store, tmp_path):
    used_file = keep_upload(store, "used.csv", io.BytesIO(b"x,label\n1,a\n"))
    unused = keep_upload(store, "refused.csv", io.BytesIO(b"not data"))
    fresh = keep_upload(store, "previewed now.csv", io.BytesIO(b"y,label\n2,b\n"))
    for path in (used_file, unused):
        _aged(path.parent)
    store.create(tiny_config(dataset="csv", data_path=str(used_file)), status="finished")
    done = _finished_run(store)
    stopped = store.create(tiny_config(), status="stopped")  # it may resume: its checkpoint stays
    (store.folder(stopped).path / "last.pt").write_bytes(b"\0" * MB)
    what = reclaimable(store)
    assert what.uploads == (unused.parent,) and what.checkpoints == (done,)
    assert what.text == "1 unused upload (8 bytes) and the last checkpoints of 1 finished run (3.0 MB)"
    assert reclaim(store, what) == 8 + 3 * MB
    assert not unused.exists() and used_file.exists() and fresh.exists()
    assert not store.folder(done).has_checkpoint() and store.folder(done).has_weights()
    assert store.folder(stopped).has_checkpoint()
    assert reclaimable(store).total == 0


def test_an_upload_is_kept_once_a_chunk_at_a_time(store):
    class Stream(io.BytesIO):
        reads: list[int] = []

        def read(self, n=-1):
            assert 0 < n <= CHUNK, "read whole"
            self.reads.append(n)
            return super().read(n)

        def getvalue(self):
            raise AssertionError("a second whole copy in memory")

    data = os.urandom(CHUNK + 10)
    first = keep_upload(store, "../../etc/big data?.csv", Stream(data))
    again = keep_upload(store, "../../etc/big data?.csv", Stream(data))
    assert first == again and first.read_bytes() == data and first.name == "big data_.csv"
    assert first.parent.parent == store.root / "uploads"
    assert [p.name for p in (store.root / "uploads").iterdir()] == [first.parent.name]  # no temporary left


def test_over_the_quota_new_work_is_refused_in_one_sentence_and_leaves_no_run(workspace, monkeypatch):
    lab = Lab(workspace)
    _finished_run(lab.store, 2 * MB)
    monkeypatch.setenv(DISK_ENV, "1")  # 1 MB
    before = {r.run_id for r in lab.store.list()}
    with pytest.raises(NNLabError) as refused:
        lab.start(tiny_config())
    said = str(refused.value)
    assert said.startswith("New runs are refused: the workspace holds 2.0 MB of its 1.0 MB quota;")
    assert "reclaim space on Home" in said and DISK_ENV in said and said.count(". ") == 0
    with pytest.raises(NNLabError, match="New sweeps are refused"):
        from nnlab.sweeps.driver import make_spec
        from nnlab.sweeps.space import parse_dim

        lab.create_sweep(make_spec(tiny_config(), [parse_dim("lr", "1e-3,1e-2")], 2))
    with pytest.raises(NNLabError, match=r"Upload wine.csv \(1.0 KB\) is refused"):
        lab.keep_upload("wine.csv", io.BytesIO(b"x" * 1024), 1024)
    assert {r.run_id for r in lab.store.list()} == before
    assert lab.reclaim().startswith("Freed 2.0 MB: the last checkpoints of 1 finished run")
    monkeypatch.setenv(DISK_ENV, "3")
    assert lab.space_problem() is None


def test_the_command_line_is_refused_over_the_quota_too(workspace, monkeypatch, capsys):
    from nnlab.cli.main import main
    from nnlab.store.runs import RunStore

    _finished_run(RunStore(workspace), 2 * MB)
    monkeypatch.setenv(DISK_ENV, "1")
    assert main(["train", "--arch", "mlp", "--epochs", "1", "--store", str(workspace)]) == 2
    assert "New runs are refused: the workspace holds" in capsys.readouterr().err
    assert len(RunStore(workspace).list()) == 1


def test_one_visitor_is_bounded_in_seeds_and_runs_at_once_and_the_operator_is_not(workspace, monkeypatch):
    from nnlab.jobs.manager import JobManager

    lab = Lab(workspace)
    waiting = JobManager(lab.store, concurrency=0)  # no worker: every run stays queued
    monkeypatch.setattr(Lab, "jobs", property(lambda self: waiting))
    monkeypatch.setenv(VISITOR_RUNS_ENV, "3")
    with pytest.raises(
        NNLabError, match=f"more than a visitor of this shared dashboard may start at once \\({MAX_VISITOR_SEEDS}\\)"
    ):
        lab.start(tiny_config(), seeds=MAX_VISITOR_SEEDS + 1, visitor="203.0.113.7")
    lab.start(tiny_config(), seeds=2, visitor="203.0.113.7")
    with pytest.raises(NNLabError, match="You have 2 runs queued or running, and a visitor .* may have 3 at once"):
        lab.start(tiny_config(), seeds=2, visitor="203.0.113.7")
    lab.start(tiny_config(), visitor="198.51.100.9")  # another visitor has their own
    lab.start(tiny_config(), seeds=MAX_VISITOR_SEEDS + 1)  # the local operator: the global bounds only
    assert len(lab.store.list()) == 2 + 1 + MAX_VISITOR_SEEDS + 1
    lab.stop_all()
    lab.start(tiny_config(), seeds=2, visitor="203.0.113.7")  # stopped runs no longer count
    waiting.shutdown()
