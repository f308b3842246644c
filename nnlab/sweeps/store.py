"""The sweeps table: one record per sweep (its spec, status and control requests) beside the runs in the store."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.liveness import identity, owner_alive
from nnlab.core.placement import Placement, make_placement
from nnlab.core.records import higher_is_better
from nnlab.store.runs import RunStore, new_run_id
from nnlab.sweeps.space import Dim

STRATEGIES = ("tpe", "random", "grid")
PRUNERS = ("none", "median", "hyperband")
OBJECTIVES = {"val_loss": "loss", "val_accuracy": "accuracy", "val_rmse": "rmse"}  # objective -> the metric it is
SWEEP_STATUSES = ("queued", "running", "paused", "stopped", "finished", "interrupted")
ACTIVE_SWEEPS = ("queued", "running")  # queued: recorded, its driver about to claim it
RESUMABLE_SWEEPS = ("queued", "paused", "stopped", "interrupted", "finished")  # finished: to re-run failed trials
CONFIRM_TOP, CONFIRM_SEEDS = 3, 2  # by default a sweep's finish re-runs its top 3 trials with 2 more seeds each

_ADDED = (("retried", "TEXT DEFAULT '[]'"), ("owner", "TEXT"), ("beat", "REAL"))  # since the table was first made
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sweeps (
    sweep_id TEXT PRIMARY KEY, created REAL NOT NULL, updated REAL NOT NULL, status TEXT NOT NULL,
    request TEXT DEFAULT '', reason TEXT DEFAULT '', spec TEXT NOT NULL, pid INTEGER,
    seconds REAL DEFAULT 0, started REAL, retried TEXT DEFAULT '[]', owner TEXT, beat REAL
);
"""


@dataclass(frozen=True)
class SweepSpec:
    """What a sweep searches: a base config, the varied fields, a strategy, a pruner, an objective and a budget."""

    base: RunConfig
    dims: tuple[Dim, ...]
    trials: int
    strategy: str = "tpe"
    pruner: str = "none"
    objective: str = "val_loss"
    parallel: int = 1
    seed: int = 0
    seeds: int = 1  # runs per proposed config (seeds base.seed, base.seed + 1, ...); the objective is their mean
    time_limit: float = 0  # seconds; 0: none
    name: str = ""
    executor: str = "local"  # where the trials train: "local" (this machine) or "ray"
    ray_address: str = ""  # with "ray": the cluster's head; "" a local Ray instance
    confirm_top: int = CONFIRM_TOP  # at its end, the best trials re-run with more seeds (0: none; sweeps.confirm)
    confirm_seeds: int = CONFIRM_SEEDS  # how many more seeds each of them gets

    @property
    def title(self) -> str:
        """What the sweep is called: its name, else "Sweep of MLP on wine.csv" (the architecture on its data)."""
        from nnlab.analysis.naming import default_name

        return self.name or f"Sweep of {default_name(self.base)}"

    @property
    def direction(self) -> str:
        """Optuna's word for the objective's direction, from the metrics' one table."""
        return "maximize" if higher_is_better(OBJECTIVES[self.objective]) else "minimize"

    @property
    def runs_on(self) -> Placement:
        """The executor the sweep's trials train on."""
        return make_placement(self.executor, None if self.executor == "local" else self.ray_address)

    def to_json(self) -> str:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("base", "dims")}
        return json.dumps({**d, "base": json.loads(self.base.to_json()), "dims": [x.to_dict() for x in self.dims]})

    @classmethod
    def from_json(cls, text: str) -> SweepSpec:
        d = json.loads(text)
        d["base"], d["dims"] = RunConfig.from_saved(d["base"]), tuple(Dim.from_dict(x) for x in d["dims"])
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class SweepRecord:
    """One sweep as stored."""

    sweep_id: str
    created: float
    updated: float
    status: str
    request: str  # "", "pause" or "stop": asked by a page or the command line, carried out by the sweep's driver
    reason: str
    spec: SweepSpec
    pid: int | None
    seconds: float  # wall time the sweep has run, over all its sessions
    started: float | None  # when the current session began (while running)
    retried: tuple[int, ...] = ()  # failed trials whose config was queued again as a new trial
    owner: str | None = None  # the driving (or creating) process: host/pid-namespace/pid/start-time (liveness)
    beat: float | None = None  # the owner's last heartbeat

    @property
    def created_iso(self) -> str:
        return datetime.fromtimestamp(self.created, UTC).strftime("%Y-%m-%d %H:%M:%S")

    @property
    def elapsed(self) -> float:
        """Seconds run so far, counting the current session."""
        live = time.time() - self.started if self.status == "running" and self.started else 0.0
        return self.seconds + live


class SweepStore:
    """Reads and writes the sweeps table of a run store's database; safe to share between threads."""

    def __init__(self, runs: RunStore):
        self.runs, self.root = runs, runs.root
        self._local = threading.local()
        self._conn().executescript(_SCHEMA)
        self._add_columns()
        self.recover()

    def _add_columns(self) -> None:
        """Columns added since a workspace's sweeps table was made (older workspaces keep working)."""
        have = {r["name"] for r in self._conn().execute("PRAGMA table_info(sweeps)")}
        for column, kind in _ADDED:
            if column not in have:
                try:
                    self._write(f"ALTER TABLE sweeps ADD COLUMN {column} {kind}", ())
                except sqlite3.OperationalError:  # another process added it meanwhile
                    pass

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.runs.db_path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    def _write(self, sql: str, args: tuple | list) -> int:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = conn.execute(sql, args).rowcount
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return rows

    def journal_path(self, sweep_id: str) -> Path:
        """Optuna's journal file of the sweep (one per sweep: a single writer, replayed on resume)."""
        folder = self.root / "sweeps"
        folder.mkdir(exist_ok=True)
        return folder / f"{sweep_id}.journal"

    def create(self, spec: SweepSpec) -> str:
        """Record a new sweep (queued until a driver claims it); returns its id."""
        sweep_id, now = "sw-" + new_run_id(), time.time()
        self._write(
            "INSERT INTO sweeps (sweep_id, created, updated, status, spec, pid, owner, beat) VALUES (?,?,?,?,?,?,?,?)",
            (sweep_id, now, now, "queued", spec.to_json(), os.getpid(), identity(), now),
        )
        return sweep_id

    def get(self, sweep_id: str) -> SweepRecord:
        """A sweep's record; NNLabError when there is none."""
        row = self._conn().execute("SELECT * FROM sweeps WHERE sweep_id = ?", (sweep_id,)).fetchone()
        if row is None:
            raise NNLabError(f"Sweep {sweep_id} is not in the store at {self.root}.")
        return _record(row)

    def list(self) -> list[SweepRecord]:
        """All sweeps, newest first."""
        rows = self._conn().execute("SELECT * FROM sweeps ORDER BY created DESC, sweep_id DESC")
        return [_record(r) for r in rows]

    def requeue(self, sweep_id: str) -> None:
        """A sweep about to be driven again in this process is queued, as a new one is, until its driver claims it:
        a page drawn in between polls it (and offers Stop) rather than showing it paused; a running one is left."""
        now = time.time()
        self._write(
            "UPDATE sweeps SET status='queued', reason='', pid=?, owner=?, beat=?, updated=? "
            "WHERE sweep_id=? AND status != 'running'",
            (os.getpid(), identity(), now, now, sweep_id),
        )

    def claim(self, sweep_id: str) -> bool:
        """Atomically make this process the sweep's driver; False when a live process drives it already (judged as
        runs are: a reused process id does not pass for the driver that died)."""
        rec = self.get(sweep_id)
        if rec.status == "running" and owner_alive(rec.owner, rec.beat, rec.pid):
            return False
        now = time.time()
        return (
            self._write(
                "UPDATE sweeps SET status='running', request='', reason='', pid=?, owner=?, beat=?, started=?, "
                "updated=? WHERE sweep_id=? AND updated=?",
                (os.getpid(), identity(), now, now, now, sweep_id, rec.updated),
            )
            == 1
        )

    def heartbeat(self, sweep_id: str) -> None:
        """The driver is alive (its lease is renewed): a crash later counts the sweep's time up to here."""
        now = time.time()
        self._write(
            "UPDATE sweeps SET beat=?, updated=? WHERE sweep_id=? AND owner=?", (now, now, sweep_id, identity())
        )

    def finish_session(self, sweep_id: str, status: str, reason: str = "", crashed: bool = False) -> None:
        """End the driver's session: the new status, and its wall time (to the last heartbeat if it crashed)."""
        rec = self.get(sweep_id)
        end = (rec.beat or rec.updated) if crashed else time.time()
        seconds = rec.seconds + (max(0.0, end - rec.started) if rec.started else 0.0)
        self._write(
            "UPDATE sweeps SET status=?, reason=?, request='', seconds=?, started=NULL, updated=? WHERE sweep_id=?",
            (status, reason, seconds, time.time(), sweep_id),
        )

    def add_retried(self, sweep_id: str, numbers: list[int]) -> None:
        """Remember failed trials whose config was queued again (they no longer count as failed)."""
        retried = sorted({*self.get(sweep_id).retried, *numbers})
        self._write("UPDATE sweeps SET retried=? WHERE sweep_id=?", (json.dumps(retried), sweep_id))

    def set_confirm(self, sweep_id: str, top: int, seeds: int) -> None:
        """How many of the best trials the sweep confirms, and with how many more seeds (when it is next driven)."""
        spec = replace(self.get(sweep_id).spec, confirm_top=top, confirm_seeds=seeds)
        self._write("UPDATE sweeps SET spec=?, updated=? WHERE sweep_id=?", (spec.to_json(), time.time(), sweep_id))

    def request(self, sweep_id: str, what: str) -> None:
        """Ask the sweep's driver to "pause" (start no new trials) or "stop" (stop the running ones too)."""
        self._write("UPDATE sweeps SET request=?, updated=? WHERE sweep_id=?", (what, time.time(), sweep_id))

    def recover(self) -> list[str]:
        """Sweeps left running or queued by a process that is gone become interrupted; returns their ids."""
        rows = self._conn().execute(
            "SELECT sweep_id, pid, owner, beat FROM sweeps WHERE status IN ('running', 'queued')"
        )
        lost = [r["sweep_id"] for r in rows if not owner_alive(r["owner"], r["beat"], r["pid"])]
        for sweep_id in lost:
            self.finish_session(
                sweep_id, "interrupted", "The process driving this sweep stopped; resume it.", crashed=True
            )
        return lost


def _record(row: sqlite3.Row) -> SweepRecord:
    d = dict(row)
    d["spec"] = SweepSpec.from_json(d["spec"])
    d["retried"] = tuple(json.loads(d.get("retried") or "[]"))
    return SweepRecord(**{k: d.get(k) for k in SweepRecord.__dataclass_fields__})
