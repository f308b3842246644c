"""Command-line pieces for seed groups: `train --seeds K` and `compare A B [--json]` (registered by nnlab.cli.main)."""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable
from typing import Any

from nnlab.analysis.groups import group_id, groups_of, seed_configs
from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.records import RunRecord
from nnlab.store.runs import RunStore


def add_seeds_option(t: argparse.ArgumentParser) -> None:
    """`train --seeds K`: the config run K times, with seeds --seed, --seed + 1, ...: one group."""
    t.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="run the config K times with consecutive seeds from --seed (one group; default 1)",
    )


def add_compare_parser(sub: Any) -> argparse.ArgumentParser:
    """The `compare` subcommand's parser."""
    c = sub.add_parser(
        "compare",
        help="which of two runs or seed groups is better on the test set, and by how much",
        description="Compare B against A on their test set: each side's test metric with a 95%% bootstrap interval, "
        "B minus A with its interval, a test that fits (McNemar's for two classifiers on the same test examples, "
        "a paired permutation test for forecasters, a paired bootstrap over seeds and examples for groups), the "
        "verdict, the config fields that differ and the test examples that flipped. flipped_a_to_b counts "
        "examples A got right and B wrong (for forecasters: where A's error is smaller), flipped_b_to_a the reverse.",
    )
    c.add_argument("a", metavar="RUN_OR_GROUP_A", help="a run id, or a group id like g-3fa91c0d (`runs --groups`)")
    c.add_argument("b", metavar="RUN_OR_GROUP_B")
    c.add_argument("--json", action="store_true", help="end stdout with one JSON object")
    return c


def train_group(
    store: RunStore,
    cfg: RunConfig,
    seeds: int,
    as_json: bool,
    train: Callable[[str], RunRecord],
    name: str = "",
    note: str = "",
) -> int:
    """Create the group's runs (each named and noted as given), train them one after another (train: a queued
    run's id to its ended record, here or on Ray), and print the group's summary."""
    if seeds < 1:
        raise NNLabError(f"--seeds must be 1 or more (got {seeds}).")
    ids = []
    for member in seed_configs(cfg, seeds):
        run_id = store.create(member, name=name, note=note)
        ids.append(run_id)
        rec = train(run_id)
        if not as_json:
            score = f"test {rec.test_metric} {rec.test_value:.4f}" if rec.test_value is not None else rec.status
            print(f"run {rec.run_id}  seed {member.seed}  {score}")
        if rec.status == "stopped":
            break
    records = [store.get(i) for i in ids]
    summary = group_summary(cfg, records)
    print(json.dumps(summary) if as_json else group_line(summary))
    return 0 if all(r.status == "finished" for r in records) and len(records) == seeds else 1


def group_summary(cfg: RunConfig, records: list[RunRecord]) -> dict[str, Any]:
    """The group's id, runs and seeds, and the mean and standard deviation of their test score."""
    scores = [r.test_value for r in records if r.test_value is not None]
    metric = next((r.test_metric for r in records if r.test_metric), None)
    return {
        "group": group_id(cfg),
        "runs": [r.run_id for r in records],
        "seeds": [r.config.seed for r in records],
        "statuses": [r.status for r in records],
        "test_metric": metric,
        "mean": statistics.fmean(scores) if scores else None,
        "sd": statistics.stdev(scores) if len(scores) > 1 else None,
        "scores": scores,
    }


def group_line(s: dict[str, Any]) -> str:
    """'group g-… : 3 runs, test accuracy 0.972 ± 0.002 (mean ± sd over seeds)'."""
    if s["mean"] is None:
        return f"group {s['group']}: {_runs(len(s['runs']))}, none scored"
    sd = f" ± {s['sd']:.4f}" if s["sd"] is not None else ""
    return (
        f"group {s['group']}: {_runs(len(s['runs']))} (seed{'s' if len(s['seeds']) > 1 else ''} {', '.join(map(str, s['seeds']))}), "
        f"test {s['test_metric']} {s['mean']:.4f}{sd} (mean ± sd over seeds)"
    )


def cmd_compare(args: argparse.Namespace) -> int:
    """Print the verdict of B against A, its evidence, the differing config fields; --json ends with one object."""
    from nnlab.analysis.comparison import compare, describe, diff_rows

    tw = compare(RunStore(args.store), args.a, args.b)
    for line in describe(tw):
        print(line)
    rows = diff_rows(tw)
    if rows:
        width = max(len(k) for k, _, _ in rows)
        print("Config fields that differ (A → B):")
        for k, x, y in rows:
            print(f"  {k:{width}}  {x} → {y}")
    else:
        print("The configs are the same (only the seed's randomness differs).")
    if args.json:
        print(json.dumps(tw.to_json()))
    return 0


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
    """'mlp on digits' for the run's group line."""
    rec = next(r for r in records if r.run_id == run_id)
    return f"{rec.arch} on {rec.dataset}"


def _runs(n: int) -> str:
    return f"{n} run{'s' if n != 1 else ''}"
