"""The `bench` subcommand: nnlab's speed against plain PyTorch (nnlab.bench; nnlab.cli.main only registers it)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def bench_method() -> str:
    """The method of `bench`, from nnlab/bench.py's docstring (read, not imported: that would import torch)."""
    import ast

    source = Path(__file__).parent.parent.joinpath("bench", "loop.py").read_text()
    return ast.get_docstring(ast.parse(source)) or ""


def add_parser(sub: Any) -> None:
    """Register `bench` and its options."""
    b = sub.add_parser(
        "bench",
        help="time nnlab's training against a plain PyTorch loop, and the store at scale",
        description=bench_method(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("--quick", action="store_true", help="fewer samples and repetitions (about 5 minutes on 2 cores)")
    b.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # a smoke test for the test suite
    b.add_argument("--ray", action="store_true", help="the Ray executor against the local one (nnlab.bench.ray)")
    b.add_argument("--ray-address", help="the cluster to time (default: $NNLAB_RAY_ADDRESS, else a local instance)")
    b.add_argument("--json", action="store_true", help="print one JSON line last")
    b.add_argument("--live", action="store_true", help="training speed with 0, 1 and 4 Chromium tabs on the live view")
    b.add_argument("--whole-job", action="store_true", help="the whole MNIST job: `nnlab train` against plain scripts")
    b.add_argument("--threads", type=int, default=0, help="with --whole-job: pin every side to this many threads")
    b.add_argument("--startup", action="store_true", help="a small `nnlab train` against `import torch`, as processes")
    b.add_argument(
        "--series",
        nargs="*",
        metavar="FILE",
        help="each series CSV's default run against the classical forecasters: the RMSE ratio, its p-value "
        "(no FILE: the built-in series)",
    )
    b.add_argument("--seeds", type=int, default=3, help="with --series: seeds 0 to N-1 of each (default 3)")
    b.add_argument("--classical", choices=("blend", "residual", "none"), help="with --series: instead of the default")


def cmd_bench(args: argparse.Namespace) -> int:
    """The side-by-side benchmark (see nnlab.bench.loop), the whole job, the Ray executor's overhead, or what watching
    costs."""
    if args.series is not None:
        from nnlab.bench.series import main as series

        extra = ["--classical", args.classical] if args.classical else []
        return series(args.series, list(range(max(1, args.seeds))), extra, args.json)
    if args.live:
        from nnlab.bench.live import main as live

        return live(args.json)
    if args.startup:
        from nnlab.bench.startup import main as startup

        return startup(5 if args.quick else 9, args.json)
    if args.whole_job:
        from nnlab.bench.job import main as whole_job

        return whole_job(2 if args.quick else 3, args.json, args.threads)
    if args.ray:
        from nnlab.bench.ray import main as bench_ray

        return bench_ray(args.json, args.ray_address)
    from nnlab.bench.loop import main as bench

    return bench("tiny" if args.tiny else "quick" if args.quick else "full", args.json)
