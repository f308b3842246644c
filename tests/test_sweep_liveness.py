"""Whether a sweep's driver is alive is judged as a run's owner is (nnlab.core.liveness): a process id reused by
another process (a restarted container's PID 1) does not keep a crashed sweep running, and a driver on another
host is trusted only while its heartbeat lease is fresh. No trial trains here."""

from __future__ import annotations

import os
import sqlite3
import time

from nnlab.core.liveness import LEASE_S, identity
from nnlab.sweeps.driver import make_spec
from nnlab.sweeps.space import parse_dim
from nnlab.sweeps.store import SweepStore
from tests.helpers import tiny_config, wait_until


def _running_sweep(store) -> tuple[SweepStore, str]:
    sweeps = SweepStore(store)
    spec = make_spec(tiny_config("mlp"), [parse_dim("lr", "1e-4:1e-2:log")], 2, confirm_top=0)
    sweep_id = sweeps.create(spec)
    assert sweeps.claim(sweep_id)
    return sweeps, sweep_id


def _set_owner(sweeps: SweepStore, sweep_id: str, owner: str, beat: float | None = None) -> None:
    """What another process holding the sweep writes (through SQLite itself, not the store's private helpers)."""
    with sqlite3.connect(sweeps.runs.db_path) as db:
        db.execute("UPDATE sweeps SET owner=?, beat=? WHERE sweep_id=?", (owner, beat, sweep_id))


def test_a_driver_records_who_it_is_and_renews_its_lease(store):
    sweeps, sweep_id = _running_sweep(store)
    rec = sweeps.get(sweep_id)
    assert rec.owner == identity() and rec.pid == os.getpid() and rec.beat is not None
    wait_until(lambda: time.time() > rec.beat, "the clock to move past the first beat", every=0.001)
    sweeps.heartbeat(sweep_id)
    assert sweeps.get(sweep_id).beat > rec.beat
    assert sweeps.recover() == [] and not sweeps.claim(sweep_id)  # its driver (this process) lives


def test_a_pid_reused_by_another_process_does_not_keep_a_sweep_running(store):
    sweeps, sweep_id = _running_sweep(store)
    here = identity().rsplit("/", 1)[0]  # this host, namespace and process id ...
    _set_owner(sweeps, sweep_id, f"{here}/1", time.time())  # ... of a process born at tick 1: the one that died
    assert sweeps.recover() == [sweep_id]
    rec = sweeps.get(sweep_id)
    assert rec.status == "interrupted" and "resume it" in rec.reason


def test_a_new_driver_takes_over_a_sweep_whose_driver_died_with_a_reused_pid(store):
    sweeps, sweep_id = _running_sweep(store)
    _set_owner(sweeps, sweep_id, f"{identity().rsplit('/', 1)[0]}/1", time.time())
    assert sweeps.claim(sweep_id)
    assert sweeps.get(sweep_id).owner == identity()


def test_a_driver_elsewhere_is_trusted_while_its_heartbeat_is_fresh(store):
    sweeps, sweep_id = _running_sweep(store)
    beat = time.time()
    _set_owner(sweeps, sweep_id, "other-host/ns/1/99", beat)
    assert sweeps.recover() == [] and not sweeps.claim(sweep_id)
    _set_owner(sweeps, sweep_id, "other-host/ns/1/99", beat - LEASE_S - 1)
    assert sweeps.recover() == [sweep_id]
    assert sweeps.get(sweep_id).status == "interrupted"


def test_a_sweeps_table_of_an_older_workspace_gets_the_liveness_columns(store):
    db = sqlite3.connect(store.db_path)
    db.execute(
        "CREATE TABLE sweeps (sweep_id TEXT PRIMARY KEY, created REAL NOT NULL, updated REAL NOT NULL, "
        "status TEXT NOT NULL, request TEXT DEFAULT '', reason TEXT DEFAULT '', spec TEXT NOT NULL, pid INTEGER, "
        "seconds REAL DEFAULT 0, started REAL, retried TEXT DEFAULT '[]')"
    )
    db.commit()
    db.close()
    sweeps, sweep_id = _running_sweep(store)
    assert sweeps.get(sweep_id).owner == identity()
