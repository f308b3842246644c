"""`delete RUN_ID ... [--yes]` and `rename RUN_ID [--name] [--note]` (registered by nnlab.cli.main): the dashboard's
Delete and Name-and-note, through the same Lab methods, so both refuse and say the same."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nnlab.core.errors import NNLabError
from nnlab.core.text import plural


def add_parsers(sub: Any, store_option: Any) -> None:
    """Register `delete` and `rename` on the command line's subparsers."""
    d = sub.add_parser("delete", help="delete runs with their checkpoints and results (not queued or running ones)")
    d.add_argument("run_ids", nargs="+", metavar="RUN_ID", help="the runs to delete (`runs` lists them)")
    d.add_argument("--yes", action="store_true", help="delete without asking (default: ask on a terminal)")
    store_option(d)
    r = sub.add_parser("rename", help="give a run a name and a note (shown by `runs`, the dashboard and the report)")
    r.add_argument("run_id", help="the run to name (`runs` lists it)")
    r.add_argument("--name", help="its new name; '' for the default (default: keep its name)")
    r.add_argument("--note", help="its new note; '' for none (default: keep its note)")
    store_option(r)


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete the runs after a question on a terminal (or with --yes); the lab refuses unknown and running ones."""
    from nnlab.analysis.naming import data_label
    from nnlab.lab import Lab

    lab = Lab(args.store)
    gone = lab.deletable(args.run_ids)
    if not args.yes:
        if not sys.stdin.isatty():
            raise NNLabError("Deleting runs cannot be undone, and there is no terminal to ask: add --yes to delete.")
        listed = ", ".join(f"{r.run_id} ({r.arch} on {data_label(r.config)}, {r.status})" for r in gone)
        their = "its" if len(gone) == 1 else "their"
        sys.stderr.write(f"Delete {plural(len(gone), 'run')} with {their} checkpoints and results: {listed}? ")
        sys.stderr.write("This cannot be undone. [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            sys.stderr.write("nnlab: Nothing was deleted.\n")
            return 1
    print(lab.delete(args.run_ids))
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    """Store the run's new name and/or note, keeping what is not given."""
    from nnlab.lab import Lab

    if args.name is None and args.note is None:
        raise NNLabError("Give --name, --note or both: rename keeps what is not given.")
    lab = Lab(args.store)
    print(lab.rename(args.run_id, args.name, args.note))
    return 0


COMMANDS = {"delete": cmd_delete, "rename": cmd_rename}
