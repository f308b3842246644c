"""The `sweep`, `sweep resume` and `sweeps` subcommands (nnlab.cli.main only registers them)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import Any

from nnlab.cli.check import guess_columns, with_file_dataset
from nnlab.cli.flags import add_executor_options
from nnlab.cli.plain import summary_line
from nnlab.core.errors import NNLabError
from nnlab.core.limits import MAX_CONFIRMED, MAX_PARALLEL, MAX_SEEDS, MAX_TRIALS
from nnlab.core.placement import make_placement
from nnlab.core.text import plural
from nnlab.lab import Lab
from nnlab.sweeps.store import CONFIRM_SEEDS, CONFIRM_TOP, OBJECTIVES, PRUNERS, STRATEGIES

_SWEEP_ONLY = {"command", "json", "store", "arch", "action", "vary", "trials", "strategy", "pruner", "objective"}
_SWEEP_ONLY |= {"parallel", "seeds", "time_limit", "rerun_failed", "seed", "executor", "ray_address", "dry_run"}
_SWEEP_ONLY |= {"confirm_top", "confirm_seeds"}


def _vary(text: str) -> tuple[str, str]:
    name, sep, spec = text.partition("=")
    if not sep or not name.strip() or not spec.strip():
        raise argparse.ArgumentTypeError(f"--vary takes FIELD=SPEC, like lr=1e-4:1e-2:log (got {text!r})")
    return name.strip(), spec.strip()


def add_parsers(sub: Any, add_train_options: Any, store_option: Any, archs: Any) -> None:
    """Register `sweep` (and `sweep resume SWEEP_ID`) and `sweeps`."""
    s = sub.add_parser(
        "sweep",
        help="search hyperparameters: many runs proposed by Optuna; `sweep resume SWEEP_ID` continues one",
        description="Start a sweep, or `sweep resume SWEEP_ID [--rerun-failed]` to continue one, or `sweep confirm "
        "SWEEP_ID [--confirm-top K] [--confirm-seeds S]` to re-run its top trials with more seeds (a sweep does that "
        "when it ends) and say whether its winner is really ahead or tied within seed noise.",
    )
    s.add_argument("action", nargs="*", help=argparse.SUPPRESS)  # "resume SWEEP_ID" or "confirm SWEEP_ID"
    s.add_argument("--arch", choices=archs, metavar="ARCH", help="one of %(choices)s")
    add_train_options(s, seed=False)
    a = s.add_argument
    a("--vary", action="append", type=_vary, default=[], help="FIELD=LOW:HIGH, LOW:HIGH:log or V1,V2,V3 (repeatable)")
    a("--trials", type=int, help=f"number of trials, at most {MAX_TRIALS} (a grid's size by default)")
    a(
        "--strategy",
        choices=STRATEGIES,
        default="tpe",
        help="how trials are proposed: tpe (default) learns from the trials so far, random, or grid (every combination)",
    )
    a(
        "--pruner",
        choices=PRUNERS,
        default="none",
        help="stop hopeless trials early, judged on each epoch's validation value: none (default), median or hyperband",
    )
    a(
        "--objective",
        choices=list(OBJECTIVES),
        default="val_loss",
        help="what the trials are scored by: val_loss (default), val_accuracy (classifiers) or val_rmse (forecasters)",
    )
    a(
        "--parallel",
        type=int,
        help=f"trials training at once, at most {MAX_PARALLEL} (default: 1 on a CPU, one per GPU)",
    )
    a("--seed", type=int, default=0, help="seeds the search and the runs (runs use SEED, SEED+1, ... with --seeds)")
    a(
        "--seeds",
        type=int,
        default=1,
        help=f"runs per proposed config, with seeds SEED..SEED+K-1 (at most {MAX_SEEDS}); the objective is their mean",
    )
    a("--time-limit", type=float, default=0, help="seconds; running trials stop there (default: none)")
    a("--rerun-failed", action="store_true", help="with `resume`: train the failed trials' configs again")
    a(
        "--confirm-top",
        type=int,
        help=f"at the end, re-run the best K trials with more seeds (0: none, at most {MAX_CONFIRMED}; default "
        f"{CONFIRM_TOP})",
    )
    a("--confirm-seeds", type=int, help=f"more seeds for each of them (1 to {MAX_SEEDS}; default {CONFIRM_SEEDS})")
    a("--json", action="store_true", help="print one JSON summary line last")
    a("--dry-run", action="store_true", help="print the sweep's estimated wall time and peak memory; start nothing")
    add_executor_options(s)  # --executor ray --ray-address ADDR: the trials train on a Ray cluster
    bench = sub.add_parser("sweep-bench", help="the same sweep with and without pruning: wall time and best value")
    bench.add_argument("--quick", action="store_true", help="12 trials x 10 epochs, one repeat")
    bench.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # a smoke test for the test suite
    bench.add_argument("--json", action="store_true", help="print one JSON line last")
    w = sub.add_parser("sweeps", help="list the sweeps in the store")
    w.add_argument("--json", action="store_true", help="print one JSON list of the sweeps")
    for p in (s, w):
        store_option(p)


def cmd_sweep(args: argparse.Namespace) -> int:
    """Start a sweep, or resume one, and drive it here with a progress bar over trials."""
    from nnlab.data.registry import make_config
    from nnlab.sweeps.driver import make_spec
    from nnlab.sweeps.space import parse_dim

    lab = Lab(args.store)
    executor = make_placement(args.executor, args.ray_address)
    if args.action:
        if len(args.action) != 2 or args.action[0] not in ("resume", "confirm"):
            raise NNLabError(
                "Use `sweep resume SWEEP_ID` to continue a sweep, `sweep confirm SWEEP_ID` to confirm its top trials, "
                "or `sweep --arch ...` to start one."
            )
        if args.action[0] == "confirm":
            return _confirm(lab, args.action[1], args)
        return _drive(lab, args.action[1], args.json, args.rerun_failed)
    if not args.arch:
        raise NNLabError("Give the architecture with --arch to start a sweep (or `sweep resume SWEEP_ID`).")
    given = with_file_dataset(
        {k: v for k, v in vars(args).items() if k not in _SWEEP_ONLY and v is not None}, args.arch
    )
    if given.get("batch_size") == "max":
        raise NNLabError("--batch-size max finds one run's batch size; give a number, or vary batch_size, in a sweep.")
    base = guess_columns(
        make_config(args.arch, seed=args.seed, **given), "label_column" in given, "text_column" in given
    )
    dims = [parse_dim(name, spec) for name, spec in args.vary]
    options = {"strategy": args.strategy, "pruner": args.pruner, "objective": args.objective, "seed": args.seed}
    options |= {"parallel": args.parallel, "seeds": args.seeds, "time_limit": args.time_limit}
    options |= {k: v for k in ("confirm_top", "confirm_seeds") if (v := getattr(args, k)) is not None}
    options |= {"executor": executor.kind, "ray_address": executor.address}  # kept: a resume trains there too
    spec = make_spec(base, dims, args.trials, **options)
    if args.dry_run:
        return _dry_run(lab, spec, args.json)
    sweep_id = lab.create_sweep(spec)
    confirm = f"; then its top {spec.confirm_top} with {spec.confirm_seeds} more seeds each" if spec.confirm_top else ""
    sys.stderr.write(
        f"sweep {sweep_id}: {plural(spec.trials, 'trial')}, {spec.strategy}, pruner {spec.pruner}{confirm}\n"
    )
    return _drive(lab, sweep_id, args.json, False)


def _dry_run(lab: Lab, spec: Any, as_json: bool) -> int:
    """The sweep's pre-flight: measured corners of its space, its wall time and peak memory; nothing recorded."""
    from nnlab.core.text import format_duration
    from nnlab.sweeps.preflight import estimate_sweep

    est = estimate_sweep(spec, lab.store.root)
    if as_json:
        print(json.dumps(est.to_json()))
        return 0
    print(
        f"about {format_duration(est.seconds)} for {plural(est.runs, 'run')}, {est.parallel} at a time "
        f"(expected share of epochs trained: {est.survival:.0%}, {est.survival_from}); peak memory "
        f"{est.peak_memory_mb:,.0f} MB"
    )
    for corner in est.corners:
        print(f"  {corner['params']}: {format_duration(corner['seconds'])} a run, {corner['memory_mb']:,.1f} MB")
    return 0


def _confirm(lab: Lab, sweep_id: str, args: argparse.Namespace) -> int:
    """Say what confirming the sweep's top trials trains and costs (pre-flight), then train it here."""
    from nnlab.core.text import format_duration, plural

    plan = lab.confirm_plan(sweep_id, args.confirm_top, args.confirm_seeds)
    cost = f", about {format_duration(plan.seconds)} (pre-flight estimate)" if plan.seconds is not None else ""
    trials = ", ".join(map(str, plan.trials)) or "none left to run"
    _say(f"confirming the top {plan.top} trials with {plan.seeds} more seeds each: {plural(len(plan.runs), 'run')}"
         f"{cost} (trials {trials})")  # fmt: skip
    return _drive(lab, sweep_id, args.json, False, confirm=(args.confirm_top, args.confirm_seeds))


def _drive(
    lab: Lab, sweep_id: str, as_json: bool, rerun_failed: bool, confirm: tuple[int | None, int | None] | None = None
) -> int:
    from nnlab.sweeps.confirm import confirm_fields
    from nnlab.sweeps.results import summary

    # Ctrl-C: the user's Stop (the running trials are held, to resume with the sweep); SIGTERM: a shutdown (they and
    # the sweep end interrupted, resumable). Either way the trials stop at a batch boundary.
    signal.signal(signal.SIGINT, lambda *_: lab.stop_sweep(sweep_id))
    signal.signal(signal.SIGTERM, lambda *_: lab.shutdown(wait=False))
    bar = TrialBar(lab.store, lab.sweeps.get(sweep_id))
    try:
        if confirm is None:
            final = lab.drive_sweep(sweep_id, rerun_failed, on_tick=bar.update, say=_say)
        else:
            final = lab.drive_confirmation(sweep_id, *confirm, on_tick=bar.update, say=_say)
    finally:
        bar.last = 0.0
        bar.update()
        bar.close()
    out = summary(lab.store, final) | confirm_fields(lab.store, final)
    if not as_json and out["headline"]:
        print(out["headline"])
    print(
        json.dumps(out)
        if as_json
        else summary_line({k: v for k, v in out.items() if k not in ("confirmed", "headline")})
    )
    return 0 if final.status == "finished" else 130 if final.status in ("stopped", "paused") else 1


def _say(text: str) -> None:
    sys.stderr.write(f"nnlab: {text}\n")


class TrialBar:
    """A tqdm bar on stderr over the sweep's trials, with the best value so far."""

    def __init__(self, store: Any, rec: Any):
        from tqdm import tqdm

        self.store, self.rec, self.last = store, rec, 0.0
        self.bar = tqdm(total=rec.spec.trials, unit="trial", desc=f"sweep {rec.sweep_id}", file=sys.stderr)

    def update(self) -> None:
        """Called by the driver each tick; redraws at most once a second."""
        from nnlab.core.text import format_duration
        from nnlab.sweeps.driver import ENDED
        from nnlab.sweeps.preflight import seconds_left
        from nnlab.sweeps.results import best_trial, trials_of

        if time.monotonic() - self.last < 1.0:
            return
        self.last = time.monotonic()
        trials = trials_of(self.store, self.rec)
        done = [t for t in trials if t.state in ENDED]
        self.bar.n = len(done)
        best = best_trial(self.rec, trials)
        counts = {s: sum(t.state == s for t in done) for s in ("pruned", "failed", "stopped")}
        left = format_duration(seconds_left(self.store, self.rec))  # from the runs ended so far
        self.bar.set_postfix(best=f"{best.value:.4f}" if best else "-", **counts, left=left, refresh=True)

    def close(self) -> None:
        self.bar.close()


def cmd_sweeps(args: argparse.Namespace) -> int:
    """Print the sweeps, newest first."""
    from nnlab.store.runs import RunStore
    from nnlab.sweeps.results import ended, sweeps_table

    rows = sweeps_table(RunStore(args.store))
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{'sweep id':26} {'status':11} {'trials':>6} {'done':>5} {'pruned':>6} {'failed':>6} {'best':>10}  created")
    for r in rows:
        done = ended(r)
        best = f"{r['best_value']:.4f}" if r["best_value"] is not None else "-"
        print(
            f"{r['sweep_id']:26} {r['status']:11} {r['trials']:>6} {done:>5} {r['pruned']:>6} {r['failed']:>6} "
            f"{best:>10}  {r['created']}"
        )
    return 0


def cmd_sweep_bench(args: argparse.Namespace) -> int:
    """The pruning benchmark (see nnlab.bench.sweep)."""
    from nnlab.bench.sweep import main as bench

    return bench("tiny" if args.tiny else "quick" if args.quick else "full", args.json)


COMMANDS = {"sweep": cmd_sweep, "sweeps": cmd_sweeps, "sweep-bench": cmd_sweep_bench}
