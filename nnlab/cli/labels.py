"""`label-issues RUN [--split test|train] [--json]`: the examples whose given label is probably wrong
(registered by nnlab.cli.main). `--split train` checks the training and validation rows with K fold models,
trained here with a progress bar, or reuses the check the run already has."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

SPLITS = ("test", "train")  # nnlab.analysis.label_report.SPLITS, named here so --help stays light
RANKINGS = ("self_confidence", "normalized_margin")
SHOWN = 20  # rows printed without --json (--all prints them all)
BAR = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}{postfix}]"  # the training check's progress on stderr


def add_parser(sub: Any, store_option: Any) -> None:
    """Register `label-issues` on the command line's subparsers."""
    p = sub.add_parser(
        "label-issues",
        help="list the examples whose given label is probably wrong (confident learning)",
        description="Rank a classifier's examples by how likely their given label is wrong (confident learning, "
        "Northcutt et al. 2021). test: the run's test examples, from its own predictions. train: the training and "
        "validation rows, from K models each trained with the run's config on the other folds.",
    )
    p.add_argument("run_id", help="a finished classifier run (`runs` lists them)")
    p.add_argument("--split", choices=SPLITS, default="test", help="test (default) or train (training + validation)")
    p.add_argument("--folds", type=int, default=5, help="fold models of the training check (2 to 10; default 5)")
    p.add_argument("--again", action="store_true", help="check the training labels again, even if checked before")
    p.add_argument(
        "--rank-by",
        choices=RANKINGS,
        default="self_confidence",
        help="how to rank the flagged examples: self_confidence (default: the given label's probability, lowest "
        "first) or normalized_margin (that probability less the largest other's)",
    )
    p.add_argument("--all", action="store_true", help="print every flagged example, not only the first 20")
    p.add_argument("--json", action="store_true", help="print one JSON object: indices (original rows), issues, ...")
    store_option(p)


def cmd_label_issues(args: argparse.Namespace) -> int:
    """Print the run's possible label errors; for --split train, run the check first when it has none."""
    from nnlab.analysis.label_report import check_state, label_report
    from nnlab.lab import Lab
    from nnlab.lab.labels import check_folds

    lab = Lab(args.store)
    if args.split == "train":
        check_folds(args.folds)  # before the progress bar opens
        state = check_state(lab.store, args.run_id)
        if args.again or state is None or state.status != "finished" or state.folds != args.folds:
            ended = _check_here(lab, args.run_id, args.folds, quiet=args.json)
            if ended.status != "finished":
                sys.stderr.write(f"nnlab: {ended.sentence()}\n")
                return 130 if ended.status == "stopped" else 1
    report = label_report(lab.store, args.run_id, args.split, args.rank_by)
    if args.json:
        print(json.dumps(report.to_json()))
        return 0
    _print(report, None if args.all else SHOWN)
    return 0


def _check_here(lab: Any, run_id: str, folds: int, quiet: bool) -> Any:
    """Train the fold models in the foreground with a progress bar on stderr; Ctrl-C stops them."""
    from tqdm import tqdm

    from nnlab.core.text import format_duration

    stop = threading.Event()
    bar = tqdm(
        total=100,
        desc=f"label check, {folds} fold models",
        file=sys.stderr,
        disable=quiet,
        mininterval=0.5,
        bar_format=BAR,  # the check's own time left only: tqdm's, from a share of 100, said 00:23 beside 8 s
    )

    def show(p: Any) -> None:
        bar.n = round(100 * p.fraction)
        left = f"about {format_duration(p.eta_s)} left" if p.folds_done < p.folds else "done"
        bar.set_postfix_str(f"fold {min(p.folds_done + 1, p.folds)}/{p.folds}, {left}", False)
        bar.update(0)  # redraws at most every mininterval

    before = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return lab.check_labels(run_id, folds, show, stop)
    finally:
        bar.close()
        for sig, old in before.items():
            signal.signal(sig, old)


def _print(report: Any, limit: int | None) -> None:
    print(report.sentence())
    rows = report.rows(limit)
    if not rows:
        return
    where, files = "split" in rows[0], "file" in rows[0]
    head = f"{'index':>8}  {'given':>12}  {'suggested':>12}  {'p(given)':>8}" + ("  split     " if where else "")
    print(head + ("  file" if files else ""))
    for r in rows:
        tail = f"  {r['split']:<10}" if where else ""
        tail += f"  {r['file']}" if files else ""
        print(f"{r['index']:>8}  {r['given']:>12}  {r['suggested']:>12}  {r['self_confidence']:>8.3f}{tail}".rstrip())
    if limit is not None and len(report.issues.order) > limit:
        print(f"... and {len(report.issues.order) - limit} more (--all lists them, --json gives every index).")
    if not report.indexed:
        print("This run kept no original row indices: index is the example's position in its split.")


COMMANDS = {"label-issues": cmd_label_issues}
