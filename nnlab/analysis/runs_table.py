"""Runs side by side as tables: the runs table, hyperparameters against the score, and config diffs."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pandas as pd

from nnlab.analysis.naming import data_label, run_name
from nnlab.core.config import FIELDS
from nnlab.core.records import RunRecord

# the settings a person varies most often, as columns of the runs table (their descriptions rank them)
KEY_HYPERPARAMETERS = tuple(sorted((n for n in FIELDS if FIELDS[n].key), key=lambda n: FIELDS[n].key))
NOT_COMPARED = {name for name, info in FIELDS.items() if not info.compared}  # paths, device, threads, ...
_RUN_COLUMNS = ("run", "name", "status", "arch", "dataset")
_RESULT_COLUMNS = (
    "best_val_metric", "test_metric", "test_value", "seconds", "device", "placed", "created", "note", "sweep"
)  # fmt: skip


def width(rec: RunRecord) -> str:
    """The model's size as the user set it: MLP layer sizes or the hidden units of the others."""
    from nnlab.models import MODELS

    cfg = rec.config
    sizes = cfg.arch in MODELS and "hidden_sizes" in MODELS[cfg.arch].fields
    return ",".join(map(str, cfg.hidden_sizes)) if sizes else str(cfg.hidden)


def placed(rec: RunRecord) -> str:
    """Where the run trains, short: 'this machine', 'Ray (local instance)', 'Ray host:6379'."""
    where = rec.placement
    if where.is_local:
        return "this machine"
    name = "Ray" if where.is_ray else where.kind
    return f"{name} {where.address}" if where.address else f"{name} (local instance)"


def _setting(rec: RunRecord, name: str) -> Any:
    if name == "hidden":
        return width(rec)
    if name == "epochs":
        return f"{rec.epochs_done}/{rec.epochs_planned}"
    if name == "batch_size":  # 0 (fit to the data): the batch size it was fitted to
        return rec.summary.get("batch_size") or rec.config.batch_size
    return getattr(rec.config, name)


def _row(rec: RunRecord) -> dict[str, Any]:
    return {
        "run": rec.run_id,
        "name": run_name(rec),
        "status": rec.status,
        "arch": rec.arch,
        "dataset": data_label(rec.config),  # wine.csv, not "csv" for every upload
        **{name: _setting(rec, name) for name in KEY_HYPERPARAMETERS},
        "best_val_metric": rec.best_val_metric,
        "test_metric": rec.test_metric or "",
        "test_value": rec.test_value,
        "seconds": rec.seconds,
        "device": rec.device,
        "placed": placed(rec),
        "created": pd.Timestamp(rec.created, unit="s"),
        "note": rec.note,
        "sweep": rec.sweep_id or "",  # "": a run of its own
    }


def runs_table(records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per run (newest first as given), indexed by run id."""
    columns = [*_RUN_COLUMNS, *KEY_HYPERPARAMETERS, *_RESULT_COLUMNS]
    df = pd.DataFrame([_row(r) for r in records], columns=columns)
    return df.set_index("run", drop=False)


def filter_runs(
    df: pd.DataFrame,
    statuses: Sequence[str] = (),
    archs: Sequence[str] = (),
    datasets: Sequence[str] = (),
    sweeps: Sequence[str] = (),
    name: str = "",
) -> pd.DataFrame:
    """Rows whose status, arch, dataset and sweep ("" for runs of no sweep) are among those given (an empty choice
    keeps all) and whose name holds `name` (any case; empty keeps all)."""
    keep = pd.Series(True, index=df.index)
    for col, chosen in (("status", statuses), ("arch", archs), ("dataset", datasets), ("sweep", sweeps)):
        if chosen:
            keep &= df[col].isin(list(chosen))
    if name.strip():
        keep &= df["name"].str.contains(name.strip(), case=False, regex=False)
    return df[keep]


def config_values(rec: RunRecord) -> dict[str, Any]:
    """A run's config as plain, comparable values (tuples as text)."""
    out = {}
    for k, v in dataclasses.asdict(rec.config).items():
        out[k] = ",".join(map(str, v)) if isinstance(v, (tuple, list)) else v
    return out


def config_diff(records: Sequence[RunRecord]) -> pd.DataFrame:
    """Only the config fields that differ between the runs: one row per field, one column per run."""
    values = {r.run_id: config_values(r) for r in records}
    df = pd.DataFrame(values)
    if df.empty:
        return df
    differs = df.astype(str).nunique(axis=1) > 1
    return df[differs]


def scored_config_diff(records: Sequence[RunRecord]) -> pd.DataFrame:
    """config_diff as text under a first row of each run's test score; where the runs share a metric, the row is
    named after it ("test accuracy") and the best run is marked."""
    scored = [r for r in records if r.test_value is not None]
    metrics = {r.test_metric for r in scored}
    if len(metrics) != 1:
        row = pd.DataFrame([{r.run_id: r.score_text for r in records}], index=["test score"])
    else:
        scores = {r.run_id: f"{r.test_value:.3f}" if r.test_value is not None else "–" for r in records}
        best = (max if scored[0].higher_is_better else min)(r.test_value for r in scored)
        winners = [r for r in scored if r.test_value == best]
        if len(scored) > 1 and len(winners) == 1:  # a tie has no winner
            scores[winners[0].run_id] += " (best)"
        row = pd.DataFrame([scores], index=[f"test {metrics.pop()}"])
    return pd.concat([row, config_diff(records).astype(str)])


def hyperparameter_frame(records: Sequence[RunRecord]) -> pd.DataFrame:
    """Config fields that vary across runs with a test value, plus that value (for parallel coordinates)."""
    scored = [r for r in records if r.test_value is not None]
    if not scored:
        return pd.DataFrame()
    df = pd.DataFrame([config_values(r) for r in scored], index=[r.run_id for r in scored])
    df = df.drop(columns=[c for c in NOT_COMPARED if c in df.columns])
    df = df.loc[:, df.astype(str).nunique() > 1]
    for col in df.columns:  # numbers stay numeric axes; the rest become categories
        converted = pd.to_numeric(df[col], errors="coerce")
        if converted.notna().all() and df[col].map(type).ne(bool).all():
            df[col] = converted
    df["test_value"] = [r.test_value for r in scored]
    return df


def common_metric(records: Sequence[RunRecord]) -> str | None:
    """The test metric most of the scored runs share (accuracy or rmse), None when none is scored."""
    metrics = pd.Series([r.test_metric for r in records if r.test_metric])
    return None if metrics.empty else str(metrics.mode().iloc[0])


def task_of(rec: RunRecord) -> str:
    """ "classification" or "regression", from the run's architecture."""
    from nnlab.models import MODELS

    return MODELS[rec.arch].task if rec.arch in MODELS else "classification"
