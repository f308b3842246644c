"""`export RUN_ID --format script|torchscript --out DIR` (registered by nnlab.cli.main)."""

from __future__ import annotations

import argparse
from typing import Any

FORMATS = ("script", "torchscript")  # nnlab.export.FORMATS, named here so --help imports no torch


def add_parser(sub: Any) -> None:
    """Register `export` on the command line's subparsers."""
    e = sub.add_parser("export", help="write a run as a plain PyTorch script folder or a TorchScript model")
    e.add_argument("run_id")
    e.add_argument("--format", choices=FORMATS, default="script", help="script (default) or torchscript")
    e.add_argument("--out", required=True, help="an empty or new folder to write into")
    e.add_argument("--store", help="workspace folder (default $NNLAB_HOME or ./nnlab-workspace)")


def cmd_export(args: argparse.Namespace) -> int:
    """`python -m nnlab export`: write the files through the lab and list them."""
    from nnlab.lab import Lab

    for path in Lab(args.store).export(args.run_id, args.format, args.out):
        print(path)
    return 0
