"""The Ray executor, the job manager's side of it, without importing Ray: a table of the runs handed to Ray, the
driver process that talks to the cluster (one per workspace and address, outliving dashboard restarts), and
stop / prune requests passed to it through the store."""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnlab.core.causes import Cause, pruned_reason
from nnlab.core.liveness import pid_alive
from nnlab.core.placement import Placement
from nnlab.core.records import ACTIVE, Outcome
from nnlab.jobs.executor import EpochObserver, Executor, Job, Settings
from nnlab.jobs.ray.lifeline import answers
from nnlab.store.runs import RunStore

PACKAGE_ROOT = Path(__file__).resolve().parents[3]  # the folder holding the nnlab package
NAMESPACE = "nnlab"  # the Ray namespace of nnlab's detached run actors
LOCAL_ENDED = (
    "The local Ray instance training this run lived in its driver process, which {how}; resume the run to continue "
    "from its last checkpoint (on a new local instance)."
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS ray_runs (
    run_id TEXT PRIMARY KEY, address TEXT NOT NULL, shared INTEGER DEFAULT 0, resume INTEGER DEFAULT 0,
    state TEXT NOT NULL, request TEXT DEFAULT '', request_reason TEXT DEFAULT '', worker_pid INTEGER,
    node TEXT DEFAULT '', updated REAL
)
"""
# state: "submitted" (waiting for the driver), "active" (its actor exists), "done"; request: "" or the cause of a
# stop asked for (nnlab.core.causes.Cause: "user", "pruned", ...), with its reason; stores written before causes
# hold the status it asked for instead ("stopped", "pruned": see request_cause)


@dataclass(frozen=True)
class RayRun:
    """One run handed to Ray, as the table holds it."""

    run_id: str
    address: str
    shared: bool
    resume: bool
    state: str
    request: str
    request_reason: str
    worker_pid: int | None
    node: str


def request_cause(request: str) -> Cause:
    """The cause of a stop request in the table (also as written before causes: the status it asked for)."""
    return {"stopped": Cause.USER}.get(request) or Cause.read(request)


def actor_name(run_id: str) -> str:
    """The detached actor training a run is found again by this name."""
    return f"nnlab-run-{run_id}"


class RayTable:
    """The ray_runs table in the store's SQLite file; every process opens its own connection."""

    def __init__(self, store: RunStore):
        self.db_path = store.db_path
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    def exists(self) -> bool:
        """Whether Ray was ever used with this store (local-only users never get the table)."""
        sql = "SELECT 1 FROM sqlite_master WHERE type='table' AND name='ray_runs'"
        return self._conn().execute(sql).fetchone() is not None

    def add(self, run_id: str, executor: Placement, resume: bool) -> None:
        """Hand a queued run to the driver of executor.address."""
        self._conn().executescript(_SCHEMA)
        self._conn().execute(
            "INSERT OR REPLACE INTO ray_runs (run_id, address, shared, resume, state, request, updated) "
            "VALUES (?,?,?,?,'submitted','',?)",
            (run_id, executor.address, int(executor.shared_storage), int(resume), time.time()),
        )

    def get(self, run_id: str) -> RayRun | None:
        """The row of a run, or None when it never went to Ray."""
        if not self.exists():
            return None
        row = self._conn().execute("SELECT * FROM ray_runs WHERE run_id=?", (run_id,)).fetchone()
        return _row(row) if row else None

    def pending(self, address: str | None = None) -> list[RayRun]:
        """Rows not done, of one address or all."""
        if not self.exists():
            return []
        sql, args = "SELECT * FROM ray_runs WHERE state != 'done'", []
        if address is not None:
            sql, args = sql + " AND address=?", [address]
        return [_row(r) for r in self._conn().execute(sql + " ORDER BY updated", args)]

    def set(self, run_id: str, **values: Any) -> None:
        """Change some columns of a row."""
        values["updated"] = time.time()
        cols = ", ".join(f"{k}=?" for k in values)
        self._conn().execute(f"UPDATE ray_runs SET {cols} WHERE run_id=?", [*values.values(), run_id])

    def request(self, run_id: str, cause: Cause, reason: str) -> bool:
        """Ask the driver to stop a run for `cause`; False when not an active Ray run."""
        if not self.exists():
            return False
        cur = self._conn().execute(
            "UPDATE ray_runs SET request=?, request_reason=?, updated=? WHERE run_id=? AND state != 'done'",
            (str(cause), reason, time.time(), run_id),
        )
        return cur.rowcount == 1


def _row(row: sqlite3.Row) -> RayRun:
    d = dict(row)
    return RayRun(
        d["run_id"], d["address"], bool(d["shared"]), bool(d["resume"]), d["state"], d["request"] or "",
        d["request_reason"] or "", d["worker_pid"], d["node"] or "",
    )  # fmt: skip


# -- the driver process ---------------------------------------------------------------------------------
def driver_paths(store: RunStore, address: str) -> tuple[Path, Path, Path]:
    """(lock, info, log) files of the driver for one address, under <workspace>/ray/."""
    folder = store.root / "ray"
    folder.mkdir(exist_ok=True)
    key = hashlib.sha1(address.encode()).hexdigest()[:10]
    return folder / f"driver-{key}.lock", folder / f"driver-{key}.json", folder / f"driver-{key}.log"


def driver_alive(store: RunStore, address: str) -> bool:
    """Whether a driver process holds the lock for this address."""
    lock, _, _ = driver_paths(store, address)
    with open(lock, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


def ensure_driver(store: RunStore, address: str) -> None:
    """Start the driver for this address unless one runs; it lives on when the dashboard restarts."""
    if driver_alive(store, address):
        return
    _, _, log = driver_paths(store, address)
    cmd = [sys.executable, "-m", "nnlab.jobs.ray.driver", "--store", str(store.root.resolve())]
    with open(log, "ab") as out:  # Ray's own messages; nnlab never writes the auth token anywhere
        subprocess.Popen(
            [*cmd, "--address", address],
            cwd=PACKAGE_ROOT,
            env=driver_env(address),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C or a kill of the dashboard does not reach it
        )


def driver_env(address: str) -> dict[str, str]:
    """The driver's environment: this one, with nnlab importable and, for a cluster named by its address, Ray's
    token mode on when a token is at hand. Ray 2.60 sends its token by itself only to a cluster it finds with
    address "auto" or starts; a RAY_AUTH_MODE the user set (`disabled`) wins."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")])}
    if address and "RAY_AUTH_MODE" not in env and token_at_hand(env):
        env["RAY_AUTH_MODE"] = "token"
    return env


def token_at_hand(env: dict[str, str]) -> bool:
    """Whether a Ray token is where Ray looks for one: $RAY_AUTH_TOKEN, the file $RAY_AUTH_TOKEN_PATH, else
    ~/.ray/auth_token (only whether it exists: nnlab never reads the token)."""
    if env.get("RAY_AUTH_TOKEN"):
        return True
    return Path(env.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token").is_file()


def cluster_info(store: RunStore) -> list[dict[str, Any]]:
    """What each live driver last saw of its cluster: address, nodes, CPUs, GPUs."""
    folder = store.root / "ray"
    out = []
    for path in sorted(folder.glob("driver-*.json")) if folder.is_dir() else []:
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if pid_alive(info.get("pid")) and driver_alive(store, info.get("address", "")):
            out.append(info)
    return out


# -- what the job manager calls ----------------------------------------------------------------------------
class RayExecutor(Executor):
    """Hands runs to Ray through the driver of their address, relays stop requests, and feeds observers epochs from
    the store. Runs train on the cluster's schedule: the job manager's lanes do not hold them."""

    here = False
    POLL_S = 0.3
    CHECK_S = 5.0

    def __init__(self, store: RunStore, settings: Settings = Settings()):
        super().__init__(store, settings)
        self.table = RayTable(store)
        self._observing: set[str] = set()  # runs whose observer has epochs still to see
        self._checked: dict[str, float] = {}  # address -> when its driver was last seen alive

    def submit(self, job: Job) -> None:
        """Hand a queued run to the driver of its address (starting it when needed); the observer sees each epoch
        here, on the dashboard's side, as it reaches the store."""
        self.table.add(job.run_id, job.placement, job.resume)
        ensure_driver(self.store, job.placement.address)
        if job.observer is not None:
            self._observing.add(job.run_id)
            args = (job.run_id, job.observer)
            threading.Thread(target=self._observe, args=args, daemon=True, name="nnlab-ray-obs").start()

    def unavailable(self, placement: Placement) -> str:
        """Ray missing here, or a cluster whose head does not answer (a knock on its port, no Ray call)."""
        if importlib.util.find_spec("ray") is None:
            return "Ray is not installed here"
        host, _, port = placement.address.rpartition(":")
        if host and port.isdigit() and not answers(placement.address):
            return "it does not answer"
        return ""

    def stop(self, run_id: str, cause: Cause, reason: str) -> str | None:
        """Ask the driver to stop a run at its next batch, for `cause`; None when not an active Ray run."""
        if not self.table.request(run_id, cause, reason):
            return None
        return f"Run {run_id} will stop at the end of the current batch on its Ray worker."

    def is_active(self, run_id: str) -> bool:
        """A Ray run its driver still answers for (queued, training, being re-adopted after a driver restart), or
        whose observer has not seen its last epochs yet."""
        if run_id in self._observing:
            return True
        row = self.table.get(run_id)
        if row is None or row.state == "done":
            return False
        self._keep_driver(row.address)
        return True

    def clusters(self) -> list[dict[str, Any]]:
        return cluster_info(self.store)

    def _keep_driver(self, address: str) -> None:
        """Checked every few seconds: a driver that died (Ray ends one whose cluster vanished) is replaced; on a
        cluster the new one adopts the run's actor, or ends the run with the reason (worker gone, cluster
        unreachable). A local instance died with its driver: its runs end here, and a new driver starts only for
        runs still waiting for one."""
        now = time.monotonic()
        if now - self._checked.get(address, 0.0) < self.CHECK_S:
            return
        self._checked[address] = now
        self._revive(address)

    def _revive(self, address: str) -> None:
        if not address and not driver_alive(self.store, address):
            for row in self.table.pending(address):
                if row.state == "active":  # its actor lived in the dead driver's instance
                    self.table.set(row.run_id, state="done")
                    if self.store.get(row.run_id).status in (*ACTIVE, "interrupted"):
                        ended = Outcome("interrupted", Cause.LOST, LOCAL_ENDED.format(how="ended"))
                        self.store.set_outcome(row.run_id, ended)
        if self.table.pending(address):
            ensure_driver(self.store, address)

    def reattach(self) -> None:
        """After a restart: every address with unfinished Ray runs gets its driver (it re-adopts them)."""
        for address in {r.address for r in self.table.pending()}:
            self._revive(address)

    def _observe(self, run_id: str, observer: EpochObserver) -> None:
        seen, pruned = 0, False
        try:
            while True:
                row = self.table.get(run_id)
                ended = row is None or row.state == "done"  # then every epoch is in the store already
                # epochs trained while a prune travels to the worker (about a second) are observed too
                for record in self.store.metrics(run_id, after_epoch=seen):
                    seen = record.epoch
                    if observer(run_id, record) and not pruned:
                        pruned = bool(self.stop(run_id, Cause.PRUNED, pruned_reason(record.epoch)))
                if ended:
                    return
                time.sleep(self.POLL_S)
        finally:
            self._observing.discard(run_id)
