"""The run store: SQLite (WAL) for run and epoch records, a RunFolder per run for its files; no torch here."""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from nnlab.core.causes import Cause
from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.liveness import Heartbeat, identity, owner_alive
from nnlab.core.placement import Placement
from nnlab.core.records import EPOCH_COLUMNS, RUN_COLUMNS, STATUSES, EpochRecord, Outcome, Progress, RunRecord
from nnlab.store import schema
from nnlab.store.runfolder import RunFolder
from nnlab.store.sink import RunSink

_EPOCH_SELECT = ", ".join(EPOCH_COLUMNS)


def default_home() -> Path:
    """The workspace: $NNLAB_HOME, else ./nnlab-workspace."""
    return Path(os.environ.get("NNLAB_HOME") or "nnlab-workspace")


def new_run_id() -> str:
    """Sortable and short: date, time and 4 random hex digits."""
    return datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


LOST_REASON = "The process training this run ended before the run did (killed or crashed); resume it to continue."
_HEARTBEATS: dict[str, Heartbeat] = {}  # one per workspace and process: it beats for every run the process holds
_HEARTBEATS_LOCK = threading.Lock()


class RunStore(RunSink):
    """Records, metrics and artifacts of runs under one workspace folder; safe to share between threads."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root else default_home()
        try:
            (self.root / "runs").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise NNLabError(
                f"Workspace {self.root} cannot be created ({exc.strerror}); choose another folder."
            ) from exc
        self.db_path = self.root / "nnlab.db"
        self._local = threading.local()
        self._migrate()
        self.recover()

    # -- connection ---------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _migrate(self) -> None:
        """Create the tables, or bring those of a store written by an older nnlab up to date (its runs kept)."""
        with self._tx() as db:  # one transaction: another process opening the store at once sees all or nothing
            schema.rename_columns(db)
            for statement in schema.SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            schema.add_columns(db)

    # -- runs -----------------------------------------------------------------------------------
    def create(
        self,
        cfg: RunConfig,
        status: str = "queued",
        sweep_id: str | None = None,
        trial: int | None = None,
        name: str = "",
        note: str = "",
    ) -> str:
        """A new run record (queued) and its folder, a sweep's trial when sweep_id is given, named and noted when
        name and note are given; returns the run id."""
        run_id, now = new_run_id(), time.time()
        while (self.root / "runs" / run_id).exists():
            run_id = new_run_id()
        self.folder(run_id).create(cfg)
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (run_id, created, updated, status, arch, dataset, config, pid, sweep_id, trial, "
                "owner, beat, name, note) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (run_id, now, now, status, cfg.arch, cfg.dataset, cfg.to_json(), os.getpid(), sweep_id, trial)
                + (identity(), now, name.strip(), note.strip()),
            )
        self._hold()
        return run_id

    def run_dir(self, run_id: str) -> Path:
        """The path of the run's folder."""
        if not run_id or "/" in run_id or "\\" in run_id or run_id.startswith("."):
            raise NNLabError(f"Run id {run_id!r} is not valid.")
        return self.root / "runs" / run_id

    def folder(self, run_id: str) -> RunFolder:
        """The run's folder: its files and their reads and writes."""
        return RunFolder(self.run_dir(run_id))

    def get(self, run_id: str) -> RunRecord:
        """The record of one run; NNLabError when there is none."""
        row = self._conn().execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise NNLabError(f"Run {run_id} is not in the store at {self.root}.")
        return _record(row)

    def find(self, run_id: str) -> RunRecord | None:
        """The record, or None."""
        row = self._conn().execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return _record(row) if row else None

    def list(
        self, status: str | tuple[str, ...] | None = None, limit: int | None = None, sweep_id: str | None = None
    ) -> list[RunRecord]:
        """Runs, newest first, optionally only some statuses, or only one sweep's trials (sweep_id="": no sweep's)."""
        where, args = [], []
        if status:
            statuses = (status,) if isinstance(status, str) else status
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            args += list(statuses)
        if sweep_id is not None:
            where.append("sweep_id = ?" if sweep_id else "(sweep_id IS NULL OR sweep_id = '')")
            args += [sweep_id] if sweep_id else []
        sql = "SELECT * FROM runs" + (f" WHERE {' AND '.join(where)}" if where else "")
        sql += " ORDER BY created DESC, run_id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_record(r) for r in self._conn().execute(sql, args)]

    def update(self, run_id: str, **values: Any) -> None:
        """Set some columns of a run (dicts are stored as JSON)."""
        unknown = set(values) - set(RUN_COLUMNS)
        if unknown:
            raise KeyError(f"unknown run fields {unknown}")
        values = {k: _column_value(k, v) for k, v in values.items()}
        values["updated"] = time.time()
        if values.get("pid"):  # a process takes the run over: record who it is, beyond its reusable id
            values["owner"], values["beat"] = identity(values["pid"]), values["updated"]
            if values["pid"] == os.getpid():
                self._hold()
        cols = ", ".join(f"{k} = ?" for k in values)
        with self._tx() as db:
            db.execute(f"UPDATE runs SET {cols} WHERE run_id = ?", [*values.values(), run_id])

    def rename(self, run_id: str, name: str, note: str) -> None:
        """Set what the user calls a run and their note on it ("" for none); the run's own record is untouched,
        so readers that follow `updated` (results, a sweep's timing) are not disturbed."""
        with self._tx() as db:
            cur = db.execute("UPDATE runs SET name=?, note=? WHERE run_id=?", (name.strip(), note.strip(), run_id))
        if not cur.rowcount:
            raise NNLabError(f"Run {run_id} is not in the store at {self.root}; it may have been deleted.")

    def set_status(self, run_id: str, status: str, reason: str = "") -> None:
        """Move a run to a status, with a one-sentence reason where it failed."""
        assert status in STATUSES, status
        self.update(run_id, status=status, reason=reason)

    def set_started(self, run_id: str, device: str, summary: dict[str, Any]) -> None:
        """Training begins: the device it trains on and the sizes it trains with."""
        self.update(run_id, device=device, summary=summary)

    def add_summary(self, run_id: str, values: dict[str, Any]) -> None:
        """Facts learned while a run trains, kept in its summary beside those already there."""
        self.update(run_id, summary=self.get(run_id).summary | values)

    def workspace(self) -> Path | None:
        """This store's workspace folder."""
        return self.root

    def set_outcome(self, run_id: str, outcome: Outcome) -> None:
        """How the run ended: status, cause and sentence, test result (when it has one); no live progress."""
        assert outcome.status in STATUSES, outcome.status
        values: dict[str, Any] = {"status": outcome.status, "cause": outcome.cause, "reason": outcome.reason}
        if outcome.test_value is not None:
            values |= {"test_metric": outcome.test_metric, "test_value": outcome.test_value}
        if outcome.summary is not None:
            values["summary"] = outcome.summary
        self.update(run_id, progress=None, **values)

    def set_placement(self, run_id: str, placement: Placement) -> None:
        """Where a run is placed (kept: a resume sends it back there)."""
        self.update(run_id, placement=placement)

    def requeue(self, run_id: str) -> None:
        """A stopped, interrupted or failed run waits again, to continue from its checkpoint (this process holds it);
        a stopped run's test score and results, of the model it trains past, go (its end tests it again)."""
        self.folder(run_id).drop_results()
        values = {"test_metric": None, "test_value": None}
        self.update(run_id, status="queued", cause=Cause.NONE, reason="", pid=os.getpid(), **values)

    def placement_kinds(self, statuses: tuple[str, ...]) -> set[str]:
        """The kinds of placement ("local", "ray", ...) of the runs in these statuses."""
        marks = ",".join("?" * len(statuses))
        rows = self._conn().execute(f"SELECT DISTINCT placement FROM runs WHERE status IN ({marks})", statuses)
        return {Placement.from_json(r[0]).kind for r in rows}

    def claim_queued(self, run_id: str) -> bool:
        """Atomically move a queued run to running for this process; False if it was not queued."""
        with self._tx() as db:
            now = time.time()
            cur = db.execute(
                "UPDATE runs SET status='running', pid=?, owner=?, beat=?, updated=?, reason='' "
                "WHERE run_id=? AND status='queued'",
                (os.getpid(), identity(), now, now, run_id),
            )
        self._hold()
        return cur.rowcount == 1

    def set_progress(self, run_id: str, progress: Progress | None) -> None:
        """The live, within-epoch progress of a running run (None: none any more)."""
        with self._tx() as db:
            db.execute("UPDATE runs SET progress = ? WHERE run_id = ?", (_column_value("progress", progress), run_id))

    def add_epoch(self, run_id: str, rec: EpochRecord, best: tuple[float, float, int] | None) -> None:
        """Append one epoch's metrics and update the run's summary columns in one transaction."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO metrics VALUES (?,?,?,?,?,?,?,?)", (run_id, *_epoch_row(rec)))
            db.execute(
                "UPDATE runs SET epochs_done=?, samples_per_s=?, updated=?, "
                "seconds = (SELECT SUM(seconds) FROM metrics WHERE run_id=?) WHERE run_id=?",
                (rec.epoch, rec.samples_per_s, time.time(), run_id, run_id),
            )
            if best is not None:
                db.execute(
                    "UPDATE runs SET best_val_loss=?, best_val_metric=?, best_epoch=? WHERE run_id=?", (*best, run_id)
                )

    def truncate_metrics(self, run_id: str, after_epoch: int) -> None:
        """Forget epochs after the checkpoint a resumed run continues from."""
        with self._tx() as db:
            db.execute("DELETE FROM metrics WHERE run_id=? AND epoch>?", (run_id, after_epoch))

    def metrics(self, run_id: str, after_epoch: int = 0) -> list[EpochRecord]:
        """Epoch records of a run; after_epoch lets a poller read only what is new."""
        rows = self._conn().execute(
            f"SELECT {_EPOCH_SELECT} FROM metrics WHERE run_id=? AND epoch>? ORDER BY epoch",
            (run_id, after_epoch),
        )
        return [EpochRecord(*r) for r in rows]

    def metrics_many(self, run_ids: list[str]) -> dict[str, list[EpochRecord]]:
        """Epoch records of several runs in one query."""
        out: dict[str, list[EpochRecord]] = {r: [] for r in run_ids}
        if not run_ids:
            return out
        rows = self._conn().execute(
            f"SELECT run_id, {_EPOCH_SELECT} FROM metrics WHERE run_id IN ({','.join('?' * len(run_ids))}) ORDER BY run_id, epoch",
            run_ids,
        )
        for r in rows:
            out[r[0]].append(EpochRecord(*r[1:]))
        return out

    def bulk_insert(self, runs: list[RunRecord], histories: dict[str, list[EpochRecord]]) -> None:
        """Add complete runs and their epoch records in one transaction (imports and test fixtures)."""
        for rec in runs:
            self.folder(rec.run_id).create(rec.config, exist_ok=True)
        rows = [[_column_value(c, getattr(rec, c)) for c in RUN_COLUMNS] for rec in runs]
        points = [(run_id, *_epoch_row(r)) for run_id, history in histories.items() for r in history]
        with self._tx() as db:
            db.executemany(
                f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({','.join('?' * len(RUN_COLUMNS))})", rows
            )
            db.executemany("INSERT OR REPLACE INTO metrics VALUES (?,?,?,?,?,?,?,?)", points)

    def delete(self, run_id: str) -> None:
        """Remove a run that is not active, its metrics, its folder, and the archives unpacked for it alone."""
        from nnlab.store.unpacked import clean_workspace

        rec = self.get(run_id)
        if rec.status == "running" and run_id not in self.recover():
            raise NNLabError(f"Run {run_id} is running; stop it before deleting it.")
        with self._tx() as db:
            db.execute("DELETE FROM metrics WHERE run_id=?", (run_id,))
            db.execute("DELETE FROM runs WHERE run_id=?", (run_id,))
        self.folder(run_id).remove()
        clean_workspace(self, released=[rec.config.data_path] if rec.config.data_path else [])

    def recover(self) -> list[str]:
        """Running runs whose owner is gone become interrupted (returns their ids); queued ones stay queued for
        the next dashboard to take over (orphans()), except a sweep's trials, which the sweep resumes."""
        lost = []
        for row in self._orphan_rows():
            if row["status"] == "running" or row["sweep_id"]:
                with self._tx() as db:  # only if no one took it over meanwhile
                    cur = db.execute(
                        "UPDATE runs SET status='interrupted', cause=?, reason=?, progress='{}', updated=? "
                        "WHERE run_id=? AND status=? AND owner IS ?",
                        (Cause.LOST, LOST_REASON, time.time(), row["run_id"], row["status"], row["owner"]),
                    )
                lost += [row["run_id"]] * cur.rowcount
        return lost

    def _orphan_rows(self) -> list[sqlite3.Row]:
        rows = self._conn().execute(
            "SELECT run_id, status, pid, owner, beat, sweep_id FROM runs WHERE status IN ('running','queued') "
            "ORDER BY created, run_id"
        )
        return [r for r in rows if not owner_alive(r["owner"], r["beat"], r["pid"])]

    def adopt_orphans(self, wanted: Callable[[str], bool] = lambda run_id: True) -> list[str]:
        """Take over queued runs (not a sweep's) whose owner is gone and that `wanted`, oldest first; returns the
        ids now ours."""
        taken = []
        for row in self._orphan_rows():
            if row["status"] == "queued" and not row["sweep_id"] and wanted(row["run_id"]):
                with self._tx() as db:
                    now = time.time()
                    cur = db.execute(
                        "UPDATE runs SET pid=?, owner=?, beat=?, updated=? WHERE run_id=? AND status='queued' "
                        "AND owner IS ?",
                        (os.getpid(), identity(), now, now, row["run_id"], row["owner"]),
                    )
                taken += [row["run_id"]] * cur.rowcount
        return taken

    def beat(self) -> None:
        """Renew the heartbeat of every active run this process holds, and mark others' lost runs."""
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET beat=? WHERE owner=? AND status IN ('running','queued')", (time.time(), identity())
            )
        self.recover()

    def _hold(self) -> None:
        """This process holds a run here: make sure its heartbeat runs."""
        key = str(self.db_path.resolve())
        with _HEARTBEATS_LOCK:
            if key not in _HEARTBEATS:
                _HEARTBEATS[key] = Heartbeat(self.beat)

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _epoch_row(rec: EpochRecord) -> tuple[Any, ...]:
    return tuple(getattr(rec, c) for c in EPOCH_COLUMNS)


def _column_value(column: str, value: Any) -> Any:
    """A record field as its SQLite column holds it (config, progress and dicts as JSON)."""
    if column == "config":
        return value.to_json()
    if column in ("progress", "placement"):
        return value.to_json() if value is not None else "{}"
    return json.dumps(value) if isinstance(value, dict) else value


@lru_cache(maxsize=8192)
def _config(text: str) -> RunConfig:
    # a config never changes once stored and RunConfig is frozen, so pages that list 1,000 runs on every
    # rerun parse each one once per process
    return RunConfig.from_json(text)


def _json_dict(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text and text != "{}" else {}


def _record(row: sqlite3.Row) -> RunRecord:
    d = dict(row)
    d["config"] = _config(d["config"])
    d["progress"] = Progress.from_json(d["progress"])
    d["summary"] = _json_dict(d["summary"])
    d["name"], d["note"] = d.get("name") or "", d.get("note") or ""
    d["cause"], d["placement"] = Cause.read(d.get("cause")), Placement.from_json(d.get("placement"))
    return RunRecord(**{k: d.get(k) for k in RUN_COLUMNS})
