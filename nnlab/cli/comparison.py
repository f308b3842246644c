"""`compare A B [--json]`: which of two runs or seed groups is better on the test set (registered by
nnlab.cli.main)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from nnlab.store.runs import RunStore


def add_compare_parser(sub: Any) -> argparse.ArgumentParser:
    """The `compare` subcommand's parser."""
    c = sub.add_parser(
        "compare",
        help="which of two runs or seed groups is better on the test set, and by how much",
        description="Compare B against A on their test set: each side's test metric with a 95% bootstrap interval, "
        "B minus A with its interval, a test that fits (McNemar's for two classifiers on the same test examples, "
        "a paired permutation test for forecasters, a paired bootstrap over seeds and examples for groups), the "
        "verdict, the config fields that differ and the test examples that flipped. flipped_a_to_b counts "
        "examples A got right and B wrong (for forecasters: where A's error is smaller), flipped_b_to_a the reverse.",
    )
    c.add_argument("a", metavar="RUN_OR_GROUP_A", help="a run id, or a group id like g-3fa91c0d (`runs --groups`)")
    c.add_argument("b", metavar="RUN_OR_GROUP_B")
    c.add_argument("--json", action="store_true", help="end stdout with one JSON object")
    return c


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
