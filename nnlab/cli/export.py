"""`export RUN_ID --format script|torchscript|torch-export --out DIR` (registered by nnlab.cli.main)."""

from __future__ import annotations

import argparse
from typing import Any

FORMATS = ("script", "torchscript", "torch-export")  # nnlab.export.FORMATS, named here so --help imports no torch


def add_parser(sub: Any) -> None:
    """Register `export` on the command line's subparsers."""
    e = sub.add_parser(
        "export", help="write a run as a plain PyTorch script folder, or its model for TorchScript or torch.export"
    )
    e.add_argument("run_id", help="a finished run (`runs` lists them)")
    e.add_argument(
        "--format",
        choices=FORMATS,
        default="script",
        help="script (default): train.py and its data; torchscript: model.torchscript.pt for torch.jit.load; "
        "torch-export: model.pt2 for torch.export.load. The model formats come with preprocessing.json and predict.py",
    )
    e.add_argument("--out", required=True, help="an empty or new folder to write into")
    e.add_argument("--store", help="workspace folder (default $NNLAB_HOME or ./nnlab-workspace)")


def cmd_export(args: argparse.Namespace) -> int:
    """`python -m nnlab export`: write the files through the lab and list them."""
    from nnlab.lab import Lab

    for path in Lab(args.store).export(args.run_id, args.format, args.out):
        print(path)
    return 0
