"""Why a run ended is a typed cause stored beside its sentence: code decides by the cause, never by the sentence,
and a store written before causes existed gets each run's cause once, from its sentence, when it is opened."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from nnlab.core.causes import HELD_REASON, STOP_STATUS, Cause, old_cause, pruned_reason
from nnlab.core.placement import Placement
from nnlab.jobs.manager import JobManager
from nnlab.jobs.ray.backend import RayTable
from nnlab.store.runs import LOST_REASON, RunStore
from tests.helpers import tiny_config

NNLAB = Path(__file__).resolve().parents[1] / "nnlab"
# what runs ended with before causes were stored: (status, sentence) -> the cause the migration gives them
OLD_ROWS = {
    ("finished", ""): Cause.NONE,
    ("stopped", "Stopped by the user."): Cause.USER,
    ("stopped", "Stopped before it started."): Cause.USER,
    ("stopped", HELD_REASON): Cause.HELD,
    ("stopped", "Stopped: another seed of its trial failed."): Cause.SIBLING,
    ("pruned", pruned_reason(3)): Cause.PRUNED,
    ("pruned", "Pruned with the other seeds of its trial."): Cause.PRUNED,
    ("pruned", "Stopped at the sweep's time limit."): Cause.TIME_LIMIT,
    (
        "interrupted",
        "Interrupted (server shut down); resume it to continue from its last complete epoch.",
    ): Cause.SHUTDOWN,
    ("interrupted", LOST_REASON): Cause.LOST,
    ("failed", "Lost contact with the Ray cluster at head:6379 for 20 s (...)."): Cause.LOST,
    ("failed", "Training failed with ValueError: bad (details in log.txt of the run folder)."): Cause.ERROR,
    ("diverged", "Training diverged in epoch 3: the loss became nan; lower the learning rate."): Cause.DIVERGED,
}


def old_store(root: Path) -> dict[tuple[str, str], str]:
    """A workspace as nnlab wrote it before causes and placements were columns (one run per row of OLD_ROWS, the
    first of them handed to Ray at head:6379); returns the run ids by (status, sentence)."""
    store = RunStore(root)
    ids = {}
    for status, reason in OLD_ROWS:
        ids[(status, reason)] = run_id = store.create(tiny_config())
        store.update(run_id, status=status, reason=reason)
    RayTable(store).add(ids[("finished", "")], Placement("ray", "head:6379"), resume=False)
    store.close()
    with sqlite3.connect(root / "nnlab.db") as db:
        db.execute("ALTER TABLE runs DROP COLUMN cause")
        db.execute("ALTER TABLE runs DROP COLUMN placement")
    return ids


def test_an_old_store_gets_each_runs_cause_from_its_sentence_once_and_ray_runs_their_placement(tmp_path):
    ids = old_store(tmp_path / "old")
    store = RunStore(tmp_path / "old")
    for (status, reason), cause in OLD_ROWS.items():
        rec = store.get(ids[(status, reason)])
        assert (rec.status, rec.reason, rec.cause) == (status, reason, cause), reason
        assert rec.placement == (Placement("ray", "head:6379") if status == "finished" else Placement())
    held = ids[("stopped", HELD_REASON)]
    store.update(held, reason="A sentence that changed in a later version.")
    assert RunStore(tmp_path / "old").get(held).cause == Cause.HELD  # derived once: the cause is now the fact


def test_every_cause_a_stop_can_have_ends_the_run_with_its_status(store):
    manager = JobManager(store, concurrency=0)  # nothing starts: each run is stopped in the queue
    try:
        for cause, status in STOP_STATUS.items():
            run_id = manager.submit(tiny_config())
            manager.stop(run_id, cause)
            rec = store.get(run_id)
            assert (rec.status, rec.cause) == (status, cause) and rec.reason
    finally:
        manager.shutdown()


def test_old_cause_knows_every_status():
    assert old_cause("stopped", "some sentence nobody wrote") == Cause.USER
    assert old_cause("queued", "Waiting for a GPU: ...") == Cause.NONE
    assert Cause.read("a cause of a later version") == Cause.NONE


def _sources() -> list[tuple[Path, str]]:
    return [(p, p.read_text()) for p in sorted(NNLAB.rglob("*.py"))]


def test_no_code_compares_a_reason_sentence():
    compares = re.compile(r"reason\s*(==|!=)|(==|!=)\s*\w*(reason|REASON)\b|REASON\w*\s*(==|!=)")
    found = [f"{p.relative_to(NNLAB)}: {line.strip()}" for p, text in _sources() for line in text.splitlines()
             if compares.search(line)]  # fmt: skip
    assert found == []


def test_the_runner_writes_through_its_sink_with_no_duck_typing():
    from nnlab.jobs.ray.worker import RelayStore
    from nnlab.store.sink import RunSink

    assert issubclass(RunStore, RunSink) and issubclass(RelayStore, RunSink)
    for path in (NNLAB / "engine" / "runner.py", NNLAB / "jobs" / "ray" / "worker.py"):
        text = path.read_text()
        assert "type: ignore" not in text and "getattr(stop" not in text, path
