"""The command line: train in the foreground into the store, list runs, resume a run.

torch and the trainer are imported only by the subcommands that train, so `python -m nnlab runs` stays quick.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from nnlab.cli import bench as bench_cli
from nnlab.cli import check as check_cli
from nnlab.cli import labels as labels_cli
from nnlab.cli import manage as manage_cli
from nnlab.cli import sweep as sweep_cli
from nnlab.cli.comparison import add_compare_parser, cmd_compare
from nnlab.cli.export import add_parser as add_export_parser
from nnlab.cli.export import cmd_export
from nnlab.cli.flags import add_executor_options, add_train_options
from nnlab.cli.groups import add_seeds_option, data_label, print_group, print_groups, seed_line
from nnlab.cli.plain import summary_line
from nnlab.cli.preflight import (
    add_memory_budget_option,
    estimate_line,
    largest_batch_config,
    say_raised_budget,
    workspace,
)
from nnlab.cli.report import add_parser as add_report_parser
from nnlab.cli.report import cmd_report
from nnlab.cli.series import say_baselines, series_summary
from nnlab.core.causes import Cause
from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.findings import Finding
from nnlab.core.forecast import FORECAST_KEY, Forecast
from nnlab.core.placement import make_placement
from nnlab.core.records import STATUSES, EpochRecord, Progress, RunRecord
from nnlab.lab import Lab
from nnlab.store.runs import RunStore

if TYPE_CHECKING:
    from nnlab.engine.train import Trainer


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one sentence, no usage dump
        sys.stderr.write(f"nnlab: {message[0].upper()}{message[1:].rstrip('.')}; see --help.\n")
        sys.exit(2)


BUILT_IN_ARCHS = ("mlp", "cnn", "resnet18", "lstm", "ts-lstm")  # nnlab.models' built-ins, in its order (tested)


class _Architectures:
    """The registered architecture names, read from the model registry (and torch) only when a command is parsed:
    `--help` lists the built-in names without importing torch, unless $NNLAB_MODELS registers more."""

    def __iter__(self) -> Iterator[str]:
        if os.environ.get("NNLAB_MODELS") or "nnlab.models" in sys.modules:
            return iter(self.registered())
        return iter(BUILT_IN_ARCHS)

    def __contains__(self, name: object) -> bool:
        return name in self.registered()

    @staticmethod
    def registered() -> list[str]:
        from nnlab.models import MODELS

        return list(MODELS)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m nnlab`."""
    p = _Parser(prog="python -m nnlab", description="Train, list and resume nnlab runs.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    t = sub.add_parser("train", help="train one model in the foreground")
    t.add_argument("--arch", required=True, choices=_Architectures(), metavar="ARCH", help="one of %(choices)s")
    add_train_options(t)
    add_seeds_option(t)
    t.add_argument("--json", action="store_true", help="print one JSON summary line last")
    t.add_argument("--dry-run", action="store_true", help="print the pre-flight estimate; create no run")
    t.add_argument("--name", help="what to call the run (default: the architecture on the data, e.g. MLP on wine.csv)")
    t.add_argument("--note", help="a note kept with the run (shown in the dashboard and the report)")
    add_memory_budget_option(t)
    add_executor_options(t)
    r = sub.add_parser("runs", help="list the runs in the store")
    r.add_argument("--json", action="store_true", help="print one JSON list of the runs")
    r.add_argument("--status", choices=STATUSES, metavar="STATUS", help="only runs with this status: %(choices)s")
    r.add_argument("--groups", action="store_true", help="one line per group of seeds (mean ± sd of the test score)")
    u = sub.add_parser("resume", help="continue an interrupted, stopped or failed run from its last checkpoint")
    u.add_argument("run_id", nargs="?", help="the run to continue (`runs` lists them)")
    u.add_argument("--all", action="store_true", help="every interrupted run (not a sweep's), oldest first")
    u.add_argument("--json", action="store_true", help="print one JSON summary line last")
    for s in (t, r, u, add_compare_parser(sub)):
        _store_option(s)
    sweep_cli.add_parsers(sub, add_train_options, _store_option, _Architectures())
    check_cli.add_parser(sub, add_train_options, _store_option, _Architectures())
    add_export_parser(sub)
    add_report_parser(sub)
    labels_cli.add_parser(sub, _store_option)
    manage_cli.add_parsers(sub, _store_option)
    bench_cli.add_parser(sub)
    return p


def _store_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", help="workspace folder (default $NNLAB_HOME or ./nnlab-workspace)")


_NOT_CONFIG = {"command", "json", "store", "arch", "dry_run", "seeds", "executor", "ray_address", "name", "note"}
_NOT_CONFIG |= {"memory_budget"}


def _display(hook: Callable[..., None]) -> Callable[..., None]:
    """A display hook that goes quiet for good once its terminal or pipe is gone (`... | head -2`):
    losing the progress display must never fail the run."""

    def quiet(self: ProgressBar, *args: Any) -> None:
        if self.gone:
            return
        try:
            hook(self, *args)
        except (BrokenPipeError, ValueError, OSError):  # ValueError: a closed file
            self.gone = True

    return quiet


class ProgressBar:
    """A trainer listener: a tqdm bar on stderr, one per epoch, with the smoothed loss and samples/s."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self._tqdm, self.bar, self.gone = tqdm, None, False

    def _bar(self, trainer: Trainer, epoch: int):
        if self.bar is None:
            self.bar = self._tqdm(
                total=len(trainer.data.train),
                unit="sample",
                desc=f"epoch {epoch}/{trainer.cfg.epochs}",
                file=sys.stderr,
                leave=False,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]",
            )  # the trainer's rate, not tqdm's: the bar starts at the first report, its n set, not counted up
        return self.bar

    @_display
    def on_estimate(self, trainer: Trainer, forecast: Forecast) -> None:
        sys.stderr.write(f"nnlab: {estimate_line(forecast)}\n")

    @_display
    def on_progress(self, trainer: Trainer, p: Progress) -> None:
        bar = self._bar(trainer, p.epoch)
        bar.n = int(p.fraction * len(trainer.data.train))
        bar.set_postfix_str(f"loss {p.train_loss:.4f}, {p.samples_per_s:,.0f} samples/s", refresh=True)

    @_display
    def on_epoch_end(self, trainer: Trainer, r: EpochRecord, improved: bool) -> None:
        if self.bar is not None:  # the epoch's line follows, printed by the lab's epoch callback (_epoch_printer)
            self.bar.close()
            self.bar = None


def epoch_line(r: EpochRecord, epochs: int, regression: bool, improved: bool) -> str:
    """One finished epoch as the command line prints it."""
    name = "val_rmse" if regression else "val_acc"
    return (
        f"epoch {r.epoch}/{epochs}  train_loss {r.train_loss:.4f}  val_loss {r.val_loss:.4f}  "
        f"{name} {r.val_metric:.4f}  {r.samples_per_s:,.0f} samples/s{'  *' if improved else ''}\n"
    )


def summary(rec: RunRecord, findings: tuple[Finding, ...] = ()) -> dict[str, Any]:
    """The one-line JSON summary of a run, with the data check's findings."""
    out: dict[str, Any] = {
        "run_id": rec.run_id,
        "status": rec.status,
        "arch": rec.arch,
        "dataset": rec.dataset,
        "epochs": rec.epochs_done,
        "samples_per_s": rec.samples_per_s,
        "seconds": rec.seconds,
        "device": rec.device,
        "executor": rec.placement.kind,  # where it was placed: local, ray (--executor)
    }
    for key in ("accuracy", "balanced_accuracy", "macro_f1", "rmse", "mae", "r2", "naive_rmse"):
        if key in rec.summary:
            out[f"test_{key}" if key != "naive_rmse" else key] = rec.summary[key]
    forecast = Forecast.from_json(rec.summary.get(FORECAST_KEY))
    if forecast is not None:  # the pre-flight beside what epoch 1 took
        out["estimate"] = forecast.to_json()
    out.update(series_summary(rec))  # a series run: the classical forecasters' RMSE on the same test steps
    if rec.reason:
        out["reason"] = rec.reason
    if rec.cause:
        out["cause"] = str(rec.cause)  # why it stopped, failed or was interrupted: user, shutdown, pruned, ...
    out["findings"] = [f.to_json_dict() for f in findings]
    return out


def report(rec: RunRecord, as_json: bool, findings: tuple[Finding, ...] = ()) -> int:
    """Print the run's summary (one JSON line with --json); the exit code says finished, stopped or not."""
    s = summary(rec, findings)
    if as_json:
        print(json.dumps(s))
    else:
        s.pop("findings")  # on stderr before training
        print(summary_line(s | {"dataset": data_label(rec.config)}))  # the user's file by its name, as `runs` does
    return 0 if rec.status == "finished" else 130 if rec.status == "stopped" else 1


def run_findings_of(store: RunStore, rec: RunRecord) -> tuple[Finding, ...]:
    """The findings a run keeps (its data's and its fitted values'); none before its data was read."""
    from nnlab.core.notes import run_findings

    try:
        return run_findings(rec, store.folder(rec.run_id).read_facts())
    except NNLabError:
        return ()


def cmd_train(args: argparse.Namespace) -> int:
    """Validate the options and read and check the data, then train the run (or one per seed: a group) here or on
    Ray, through the lab."""
    from nnlab.core.notes import data_findings
    from nnlab.data.registry import check, make_config

    given = {k: v for k, v in vars(args).items() if k not in _NOT_CONFIG and v is not None}
    given = check_cli.with_file_dataset(given, args.arch)
    largest = given.get("batch_size") == "max"
    cfg = check(make_config(args.arch, **(given | ({"batch_size": 0} if largest else {}))))
    cfg = check_cli.guess_columns(cfg, "label_column" in given, "text_column" in given)
    bf16_before_run(cfg)
    if largest:
        cfg = largest_batch_config(cfg, args)
    if args.dry_run:
        from nnlab.engine.preflight import dry_run

        return dry_run(cfg, args.json, workspace(args), args.memory_budget)
    placement = make_placement(args.executor, args.ray_address)
    lab = Lab(args.store)
    lab.prepare(cfg, args.seeds)  # the bounds, before anything is recorded
    data = check_cli.read_checked(cfg)  # a refused input leaves no run behind; the findings come before training
    refused = lab.memory_problem(cfg, data.facts, args.memory_budget)  # counted on the meta device: none allocated
    if refused:
        raise NNLabError(refused)
    check_cli.refuse_unbuildable(cfg, data)
    check_cli.say_findings(data.facts.source or data.name, data_findings(data.facts, cfg, len(data.train)))
    on_run = None if args.seeds == 1 else (lambda rec: None if args.json else print(seed_line(rec)))
    say_raised_budget(args)
    with _interruptible(lab):
        records = lab.train(
            cfg, args.seeds, placement, args.name or "", args.note or "", (ProgressBar(),), _epoch_printer(cfg),
            on_run, _say, data=data, memory_budget_mb=args.memory_budget,  # data: where it trains here
        )  # fmt: skip
    findings = run_findings_of(lab.store, records[0]) or data_findings(data.facts, cfg, len(data.train))
    say_baselines(lab.store, records, _say)
    if args.seeds == 1:
        return report(records[0], args.json, findings)
    return print_group(cfg, records, args.seeds, args.json, findings)


def _say(text: str) -> None:
    sys.stderr.write(f"nnlab: {text}\n")


def _epoch_printer(cfg: RunConfig) -> Callable[[EpochRecord, int, bool], None]:
    """How each epoch of a run is printed as it is recorded, wherever it trains."""
    from nnlab.models import MODELS

    regression = MODELS[cfg.arch].task == "regression"
    gone: list[bool] = []

    def show(r: EpochRecord, epochs: int, improved: bool) -> None:
        if gone:
            return
        try:  # called where the run trains: losing the display (`... | head -2`) must never fail the run
            sys.stderr.write(epoch_line(r, epochs, regression, improved))
        except (BrokenPipeError, ValueError, OSError):  # ValueError: a closed file
            gone.append(True)

    return show


@contextmanager
def _interruptible(lab: Lab) -> Iterator[None]:
    """Ctrl-C (the user's stop) or SIGTERM (a shutdown: the run ends interrupted) asks the foreground run to stop at
    its next batch (said once); resumable either way."""
    asked: list[bool] = []

    def handler(sig: int, *_: Any) -> None:
        if not asked:
            asked.append(True)
            sys.stderr.write("nnlab: stopping the run at the end of the current batch...\n")
        lab.interrupt(Cause.USER if sig == signal.SIGINT else Cause.SHUTDOWN)

    before = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in before.items():
            signal.signal(sig, old)


def bf16_before_run(cfg: RunConfig) -> None:
    """--precision bf16 where this machine cannot train it: refused; where it is emulated: said, then trained."""
    from nnlab.data import DATASETS
    from nnlab.engine.precision import run_bf16_check

    bf16 = run_bf16_check(cfg, DATASETS[cfg.dataset].kind)
    if bf16.problem:
        raise NNLabError(f"--precision bf16 cannot train here: {bf16.problem}; use --precision fp32 or auto.")
    if bf16.note:
        sys.stderr.write(f"nnlab: --precision bf16 will train slower than fp32 here: {bf16.note}.\n")


def cmd_resume(args: argparse.Namespace) -> int:
    """Continue an interrupted or stopped run (or, with --all, every interrupted one) from its last checkpoint,
    where it was placed (here, or its Ray cluster)."""
    lab = Lab(args.store)
    if args.all == bool(args.run_id):
        raise NNLabError("Give a run id or --all (every interrupted run), not both and not neither.")
    ids = [r.run_id for r in reversed(lab.store.list("interrupted")) if not r.sweep_id] if args.all else [args.run_id]
    if not ids:
        _say("No interrupted run to resume (a sweep's trials resume with `sweep resume SWEEP_ID`).")
    codes = []
    for run_id in ids:
        cfg = lab.store.get(run_id).config
        with _interruptible(lab):
            rec = lab.resume_here(run_id, (ProgressBar(),), _epoch_printer(cfg), _say)
        codes.append(report(rec, args.json, run_findings_of(lab.store, rec)))
    return max(codes, default=0)


def cmd_runs(args: argparse.Namespace) -> int:
    """Print the runs, newest first."""
    runs = RunStore(args.store).list(args.status)
    if args.groups:
        return print_groups(runs, args.json)
    if args.json:
        print(json.dumps([r.to_json_dict() for r in runs]))
        return 0
    data = [data_label(r.config) for r in runs]
    wide = max([14, *map(len, data)])
    print(
        f"{'run id':22} {'status':11} {'arch':9} {'dataset':{wide}} {'epochs':>6} {'test metric':>16}  {'created':19}  "
        "name"
    )
    for r, d in zip(runs, data, strict=True):
        value = f"{r.test_metric} {r.test_value:.4f}" if r.test_value is not None else "-"
        print(
            f"{r.run_id:22} {r.status:11} {r.arch:9} {d:{wide}} {r.epochs_done:>6} {value:>16}  {r.created_iso}  "
            f"{r.name or '-'}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; a user's mistake is one sentence on stderr and a non-zero exit."""
    args = build_parser().parse_args(argv)
    if getattr(args, "store", None):  # the default data folder and archive extractions follow the workspace
        os.environ["NNLAB_HOME"] = str(args.store)
    commands = {"train": cmd_train, "runs": cmd_runs, "resume": cmd_resume, "bench": bench_cli.cmd_bench}
    commands |= sweep_cli.COMMANDS | labels_cli.COMMANDS | manage_cli.COMMANDS
    commands["export"], commands["compare"], commands["report"] = cmd_export, cmd_compare, cmd_report
    commands["check"] = check_cli.cmd_check
    try:
        return commands[args.command](args)
    except NNLabError as exc:
        sys.stderr.write(f"nnlab: {exc}\n")
        return 2
    except BrokenPipeError:  # the reader left (`| head`) after the run was recorded: nothing left to tell it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
