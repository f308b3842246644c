"""`compare A B [--json] [--more-seeds K]`: which of two runs or seed groups is better on the test set, down to
which flipped examples are stable and which are seed noise (registered by nnlab.cli.main)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import TYPE_CHECKING, Any

from nnlab.cli.groups import seed_line
from nnlab.core.limits import MAX_SEEDS
from nnlab.core.text import format_duration

if TYPE_CHECKING:
    from nnlab.analysis.comparison import TwoWay
    from nnlab.lab import Lab


def add_compare_parser(sub: Any) -> argparse.ArgumentParser:
    """The `compare` subcommand's parser."""
    c = sub.add_parser(
        "compare",
        help="which of two runs or seed groups is better on the test set, and by how much",
        description="Compare B against A on their test rows: each side's test metric with a 95% bootstrap interval, "
        "B minus A with its interval, a test that fits (McNemar's for two classifiers on the same test rows, a "
        "paired permutation test for two forecasters, a t-test over seeds (each seed's score one observation) for "
        "seeds that share their test rows, a bootstrap over seeds "
        "and examples for sides whose splits differ), the verdict, the config fields that differ and the test "
        "examples that flipped: stable when every seed of each side agrees, seed noise when seeds of one config "
        "disagree. JSON: flipped_a_to_b counts examples A gets right more often than B (for forecasters: where A's "
        "error is smaller more often), flipped_b_to_a the reverse; stable_a_to_b lists the original test rows A "
        "gets right in every seed and B in none, stable_b_to_a the reverse, seed_noise the rows on which seeds of "
        "one config disagree, noise_floor how many rows two seeds of one config disagree on (null below two "
        "seeds of a config), paired whether the sides were compared on shared test rows, sentence the verdict in "
        "words.",
    )
    side = (
        "a run id, a group id like g-3fa91c0d (`runs --groups`), or run ids separated by commas (seeds of one config)"
    )
    c.add_argument("a", metavar="A", help=side)
    c.add_argument("b", metavar="B", help=side)
    c.add_argument(
        "--more-seeds",
        type=int,
        metavar="K",
        help=f"first train K more seeds of each side's config here (1 to {MAX_SEEDS}), then compare with them",
    )
    c.add_argument("--json", action="store_true", help="end stdout with one JSON object")
    return c


def cmd_compare(args: argparse.Namespace) -> int:
    """Print the verdict of B against A, its evidence, the differing config fields; --json ends with one object."""
    from nnlab.analysis.comparison import compare, describe, diff_rows, wants_more_seeds
    from nnlab.core.words import as_flag
    from nnlab.lab import Lab

    lab = Lab(args.store)
    a, b = args.a, args.b
    if args.more_seeds is not None:
        a, b = _with_more_seeds(lab, a, b, args.more_seeds)
    tw = compare(lab.store, a, b)
    for line in describe(tw):
        print(line)
    if wants_more_seeds(tw) and args.more_seeds is None:
        print(_offer(lab, tw))
    rows = [(as_flag(k, x)[0], as_flag(k, x)[1], as_flag(k, y)[1]) for k, x, y in diff_rows(tw)]
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


def _offer(lab: Lab, tw: TwoWay) -> str:
    """Two more seeds of each side, with their pre-flight time, as a command to run."""
    from nnlab.lab.seeds import MORE_SEEDS

    plan = lab.plan_more_seeds([tw.a.config, tw.b.config], MORE_SEEDS, measure=True)
    cost = f"about {format_duration(plan.seconds)} here (pre-flight estimate)" if plan.seconds else "a few runs"
    return (
        f"With one seed on a side the seed-noise floor is unknown: {MORE_SEEDS} more seeds of each would take "
        f"{cost}; run `compare {tw.a.name} {tw.b.name} --more-seeds {MORE_SEEDS}`."
    )


def _with_more_seeds(lab: Lab, a: str, b: str, k: int) -> tuple[str, str]:
    """Train k more seeds of each side's config here; the sides then name their runs and the new ones."""
    from nnlab.analysis.comparison import resolve

    sides = [resolve(lab.store, name, flag=flag) for name, flag in ((a, "A"), (b, "B"))]
    plan = lab.plan_more_seeds([s.config for s in sides], k)
    sys.stderr.write(f"nnlab: training {plan.runs} more runs: {k} seeds of each side\n")
    before = {sig: signal.signal(sig, lambda *_: lab.interrupt()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        added = lab.train_more_seeds(plan, on_run=lambda r: sys.stderr.write(f"nnlab: {seed_line(r)}\n"))
    finally:
        for sig, old in before.items():
            signal.signal(sig, old)
    names = []
    for side, runs in zip(sides, added, strict=True):
        ids = [m.record.run_id for m in side.members] + [r.run_id for r in runs if r.status == "finished"]
        names.append(side.name if side.is_group and side.name.startswith("g-") else ",".join(ids))
    return names[0], names[1]
