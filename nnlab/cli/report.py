"""`report RUN [RUN_B] [--sweep ID] --out FILE`: one self-contained HTML file of a run, a comparison or a sweep
(registered by nnlab.cli.main)."""

from __future__ import annotations

import argparse
from typing import Any

from nnlab.core.errors import NNLabError


def add_parser(sub: Any) -> None:
    """Register `report` on the command line's subparsers."""
    r = sub.add_parser(
        "report",
        help="write a self-contained HTML report of a run, a comparison of two, or a sweep",
        description="Write one HTML file that opens offline and fetches nothing: a run's report (RUN), B against A "
        "(RUN RUN_B: run ids or seed group ids), or a sweep's (--sweep ID). Clicking a confusion-matrix cell in it "
        "shows that cell's test examples.",
    )
    r.add_argument("run", nargs="?", metavar="RUN", help="a run id, or a seed group id (g-...) to compare")
    r.add_argument(
        "run_b", nargs="?", metavar="RUN_B", help="a second run or group: the report compares it against RUN"
    )
    r.add_argument("--sweep", metavar="ID", help="a sweep id (`python -m nnlab sweeps` lists them)")
    r.add_argument("--out", required=True, metavar="FILE", help="the HTML file to write (its folder is made)")
    r.add_argument("--store", help="workspace folder (default $NNLAB_HOME or ./nnlab-workspace)")


def cmd_report(args: argparse.Namespace) -> int:
    """`python -m nnlab report`: build the report from the store and write it through the lab; print its path."""
    from nnlab.lab import Lab
    from nnlab.views.reports import comparison_report, run_report, sweep_report

    if bool(args.sweep) == bool(args.run):
        raise NNLabError("Give RUN (and RUN_B to compare two) or --sweep ID, not both and not neither.")
    lab = Lab(args.store)
    if args.sweep:
        _, html = sweep_report(lab.store, args.sweep)
    elif args.run_b:
        _, html = comparison_report(lab.store, args.run, args.run_b)
    else:
        _, html = run_report(lab.store, args.run)
    path = lab.report(html, args.out)
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0
