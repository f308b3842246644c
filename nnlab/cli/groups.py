"""Command-line pieces for seed groups: `train --seeds K` and `compare A B [--json]` (registered by nnlab.cli.main)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from nnlab.analysis.groups import Group, group_id, group_stats, groups_of
from nnlab.analysis.naming import data_label
from nnlab.core.config import RunConfig
from nnlab.core.findings import Finding
from nnlab.core.limits import MAX_SEEDS
from nnlab.core.records import RunRecord


def add_seeds_option(t: argparse.ArgumentParser) -> None:
    """`train --seeds K`: the config run K times, with seeds --seed, --seed + 1, ...: one group."""
    t.add_argument(
        "--seeds",
        type=int,
        default=1,
        help=f"run the config K times with consecutive seeds from --seed (one group; 1 to {MAX_SEEDS}, default 1)",
    )


def seed_line(rec: RunRecord) -> str:
    """'run … seed 3 test accuracy 0.9722' as each member of a group ends."""
    score = f"test {rec.test_metric} {rec.test_value:.4f}" if rec.test_value is not None else rec.status
    return f"run {rec.run_id}  seed {rec.config.seed}  {score}"


def print_group(
    cfg: RunConfig, records: list[RunRecord], seeds: int, as_json: bool, findings: tuple[Finding, ...] = ()
) -> int:
    """Print the group's summary (with --json, the data check's findings of its first run); 0 when every one of
    its `seeds` runs finished."""
    summary = group_summary(cfg, records)
    print(json.dumps(summary | {"findings": [f.to_json_dict() for f in findings]}) if as_json else group_line(summary))
    return 0 if all(r.status == "finished" for r in records) and len(records) == seeds else 1


def group_summary(cfg: RunConfig, records: list[RunRecord]) -> dict[str, Any]:
    """The group's id, runs and seeds, and the mean and standard deviation of the test scores of its seeds that
    trained to their end (`scores`)."""
    group = Group(group_id(cfg), tuple(records))
    mean, sd, _ = group_stats(group)
    return {
        "group": group.group_id,
        "runs": [r.run_id for r in records],
        "seeds": [r.config.seed for r in records],
        "statuses": [r.status for r in records],
        "test_metric": next((r.test_metric for r in group.scored), None),
        "mean": mean,
        "sd": sd,
        "scores": [r.test_value for r in group.scored],
    }


def group_line(s: dict[str, Any]) -> str:
    """'group g-… : 3 runs, test accuracy 0.972 ± 0.002 (mean ± sd over seeds)'; over the finished seeds where
    some did not finish."""
    if s["mean"] is None:
        return f"group {s['group']}: {_runs(len(s['runs']))}, none scored"
    n = len(s["scores"])
    over = "seeds" if n == len(s["runs"]) else f"the {n} finished seeds"
    spread = f" ± {s['sd']:.4f} (mean ± sd over {over})" if s["sd"] is not None else ""  # one score has no sd
    spread = spread or ("" if n == len(s["runs"]) else " (the 1 finished seed)")
    return (
        f"group {s['group']}: {_runs(len(s['runs']))} (seed{'s' if len(s['seeds']) > 1 else ''} {', '.join(map(str, s['seeds']))}), "
        f"test {s['test_metric']} {s['mean']:.4f}{spread}"
    )


def print_groups(records: list[RunRecord], as_json: bool) -> int:
    """`runs --groups`: one line per group of seeds, newest first, with the mean and spread of its test score."""
    rows = [group_summary(g.config, list(g.runs)) for g in groups_of(records)]
    if as_json:
        print(json.dumps(rows))
        return 0
    for s in rows:
        print(f"{group_line(s)}  [{records_label(records, s['runs'][0])}]")
    return 0


def records_label(records: list[RunRecord], run_id: str) -> str:
    """'mlp on digits', 'mlp on wine.csv' for the run's group line."""
    rec = next(r for r in records if r.run_id == run_id)
    return f"{rec.arch} on {data_label(rec.config)}"


def _runs(n: int) -> str:
    return f"{n} run{'s' if n != 1 else ''}"
