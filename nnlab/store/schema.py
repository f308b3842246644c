"""The runs database's tables, and the migrations that let a workspace written by an older nnlab open unchanged."""

from __future__ import annotations

import sqlite3

from nnlab.core.causes import old_cause
from nnlab.core.placement import Placement

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, created REAL NOT NULL, updated REAL NOT NULL, status TEXT NOT NULL,
    arch TEXT NOT NULL, dataset TEXT NOT NULL, config TEXT NOT NULL, reason TEXT DEFAULT '',
    epochs_done INTEGER DEFAULT 0, best_val_loss REAL, best_val_metric REAL, best_epoch INTEGER,
    test_metric TEXT, test_value REAL, seconds REAL DEFAULT 0, samples_per_s REAL, device TEXT DEFAULT '',
    pid INTEGER, progress TEXT DEFAULT '{}', summary TEXT DEFAULT '{}', sweep_id TEXT, trial INTEGER
);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status, created);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL, epoch INTEGER NOT NULL, train_loss REAL, val_loss REAL, val_metric REAL,
    lr REAL, seconds REAL, samples_per_s REAL, PRIMARY KEY (run_id, epoch)
) WITHOUT ROWID;
"""
# columns renamed since the first stores were written: (table, old name, new name); RMSE is not a score
RENAMED = (
    ("runs", "best_val_score", "best_val_metric"),
    ("runs", "test_score", "test_value"),
    ("metrics", "val_score", "val_metric"),
)
# columns added to the runs table since it was first created, in order
ADDED = (
    ("sweep_id", "TEXT"),
    ("trial", "INTEGER"),
    ("owner", "TEXT"),
    ("beat", "REAL"),
    ("name", "TEXT DEFAULT ''"),
    ("note", "TEXT DEFAULT ''"),
    ("cause", "TEXT DEFAULT ''"),
    ("placement", "TEXT DEFAULT ''"),
)


def column_names(db: sqlite3.Connection, table: str) -> set[str]:
    """The columns a table has now (none when it does not exist)."""
    return {r[1] for r in db.execute(f"PRAGMA table_info({table})")}


def rename_columns(db: sqlite3.Connection) -> None:
    """Columns renamed since (inside the caller's transaction: another process may have renamed them)."""
    for table, old, new in RENAMED:
        if old in column_names(db, table):
            db.execute(f"ALTER TABLE {table} RENAME COLUMN {old} TO {new}")


def add_columns(db: sqlite3.Connection) -> None:
    """Columns added since (inside the caller's transaction); the rows already there get their values once."""
    have = column_names(db, "runs")
    for column, kind in ADDED:
        if column not in have:
            db.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
    if "cause" not in have:
        _derive_causes(db)
    if "placement" not in have:
        _recover_placements(db)
    db.execute("CREATE INDEX IF NOT EXISTS runs_sweep ON runs(sweep_id, trial)")


def _derive_causes(db: sqlite3.Connection) -> None:
    """A store written before causes were a field: each ended run's cause, read once from its sentence."""
    rows = db.execute("SELECT run_id, status, reason FROM runs").fetchall()
    updates = [(str(old_cause(r[1], r[2] or "")), r[0]) for r in rows]
    db.executemany("UPDATE runs SET cause=? WHERE run_id=?", [u for u in updates if u[0]])


def _recover_placements(db: sqlite3.Connection) -> None:
    """A store written before runs remembered their placement: the runs that went to Ray are in the Ray executor's
    table (ray_runs, by address); every other run trained on this machine."""
    if "address" not in column_names(db, "ray_runs"):
        return
    rows = db.execute("SELECT run_id, address, shared FROM ray_runs").fetchall()
    placed = [(Placement("ray", r[1] or "", bool(r[2])).to_json(), r[0]) for r in rows]
    db.executemany("UPDATE runs SET placement=? WHERE run_id=?", placed)
