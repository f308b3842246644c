"""The command line's pre-flight words: the estimate before the first epoch, --batch-size max, --memory-budget."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nnlab.core.config import RunConfig
from nnlab.core.forecast import Forecast
from nnlab.core.limits import run_memory_budget, size_text
from nnlab.core.text import format_duration
from nnlab.store.runs import default_home


def add_memory_budget_option(p: argparse.ArgumentParser) -> None:
    """--memory-budget MB: the local operator raises one run's memory budget."""
    p.add_argument(
        "--memory-budget",
        type=float,
        metavar="MB",
        help="set this run's memory budget (default: $NNLAB_RUN_MEMORY_MB, else half of this machine's memory); "
        "a run whose model needs more is refused before anything is allocated",
    )


def workspace(args: argparse.Namespace) -> Path:
    """The workspace folder the command names (its history of estimates calibrates new ones)."""
    return Path(args.store) if args.store else default_home()


def estimate_line(forecast: Forecast) -> str:
    """'estimated 0.2 s an epoch, 4.1 s for the whole run, 1.5 MB of memory (measured on cpu (2 threads))'."""
    whole = format_duration(forecast.seconds_total, fine=True)
    total = f", {whole} for the whole run" if forecast.seconds_total else ""
    memory = f", {size_text(forecast.memory_mb * 2**20)} of memory" if forecast.memory_mb else ""
    return f"{forecast.sentence()}{total}{memory} (measured on {forecast.device})"


def largest_batch_config(cfg: RunConfig, args: argparse.Namespace) -> RunConfig:
    """--batch-size max: the largest batch that fits this run's memory budget, said with what it costs."""
    from nnlab.engine.batchsize import largest_batch

    fit = largest_batch(cfg, run_memory_budget(args.memory_budget), workspace(args))
    sys.stderr.write(f"nnlab: --batch-size max: {fit.sentence()}\n")
    return cfg.replace(batch_size=fit.batch_size)


def say_raised_budget(args: argparse.Namespace) -> None:
    """Say so when the local operator raised this run's memory budget."""
    if args.memory_budget:
        sys.stderr.write(f"nnlab: this run's memory budget is {run_memory_budget(args.memory_budget).text}\n")
