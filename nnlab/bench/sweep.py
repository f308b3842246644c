"""The pruning benchmark: the same sweep with and without pruning, side by side in one process, repeated with
the order swapped; wall time, best validation loss, and the spread of seeds of the unpruned best config."""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from typing import Any

from nnlab.data.registry import make_config
from nnlab.jobs.manager import JobManager
from nnlab.store.runs import RunStore
from nnlab.sweeps.driver import SweepDriver, make_spec
from nnlab.sweeps.results import summary
from nnlab.sweeps.space import parse_dim
from nnlab.sweeps.store import SweepStore

SPACE = {"lr": "1e-4:1e-2:log", "dropout": "0.1:0.5", "batch_size": "32,64,128"}
SIZES = {"full": (20, 12, 2, 3), "quick": (12, 10, 1, 3), "tiny": (3, 2, 1, 2)}  # trials, epochs, repeats, seeds
# A digits CNN: a trial trains for seconds, as trials worth pruning do. On sub-second trials (a 64-unit MLP) the
# fixed cost of a trial (start, data, test set, report: ~0.1 s) is a large share, and pruning saves less of it.
WORKLOAD, BASE = "digits CNN", {"arch": "cnn", "dataset": "digits", "early_stopping": False}


def _sweep(manager: JobManager, base: Any, trials: int, pruner: str, seed: int) -> dict[str, Any]:
    dims = [parse_dim(name, spec) for name, spec in SPACE.items()]
    spec = make_spec(base, dims, trials, strategy="tpe", pruner=pruner, seed=seed, confirm_top=0)
    sweep_id = SweepStore(manager.store).create(spec)
    start = time.perf_counter()
    rec = SweepDriver(manager, sweep_id).run()
    out = summary(manager.store, rec)
    out.update(wall_s=time.perf_counter() - start, pruner=pruner, repeat=seed)
    out["epochs"] = sum(r.epochs_done for r in manager.store.list(sweep_id=sweep_id))
    return out


def _seed_values(manager: JobManager, best_run_id: str, seeds: int) -> list[float]:
    """The best unpruned config's validation loss over `seeds` seeds (its own run plus seeds - 1 more)."""
    rec = manager.store.get(best_run_id)
    values = [rec.best_val_loss]
    for k in range(1, seeds):
        run_id = manager.submit(rec.config.replace(seed=rec.config.seed + 1000 * k))
        values.append(manager.wait(run_id, timeout=3600).best_val_loss)
    return values


def run(size: str = "quick", pruners: tuple[str, ...] = ("median", "hyperband")) -> dict[str, Any]:
    """Every repeat: the unpruned sweep and each pruned one (order rotated per repeat); then the seed spread."""
    trials, epochs, repeats, seeds = SIZES[size]
    base = make_config(epochs=epochs, **BASE)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as home:
        manager = JobManager(RunStore(home), leave_core=False)
        try:
            for rep in range(repeats):
                order = ("none", *pruners)
                for pruner in order[rep % len(order) :] + order[: rep % len(order)]:
                    rows.append(_sweep(manager, base, trials, pruner, seed=rep))
                    _report_row(rows[-1])
                unpruned = next(r for r in rows if r["repeat"] == rep and r["pruner"] == "none")
                unpruned["seed_values"] = _seed_values(manager, unpruned["best_run_id"], seeds)
        finally:
            manager.shutdown()
    return {"size": size, "trials": trials, "epochs": epochs, "rows": rows, "verdicts": _verdicts(rows, pruners)}


def _verdicts(rows: list[dict[str, Any]], pruners: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    for r in (r for r in rows if r["pruner"] != "none"):
        base = next(u for u in rows if u["repeat"] == r["repeat"] and u["pruner"] == "none")
        spread = base["seed_values"]
        out.append(
            {
                "repeat": r["repeat"],
                "pruner": r["pruner"],
                "time_ratio": r["wall_s"] / base["wall_s"],
                "epoch_ratio": r["epochs"] / base["epochs"],
                "best": r["best_value"],
                "unpruned_best": base["best_value"],
                "unpruned_seed_spread": [min(spread), max(spread)],
                "unpruned_seed_mean": statistics.fmean(spread),
                "within_spread": r["best_value"] <= max(spread),  # lower is better: at least as good as a seed
            }
        )
    return out


def _report_row(r: dict[str, Any]) -> None:
    sys.stderr.write(
        f"repeat {r['repeat']}  pruner {r['pruner']:9}  wall {r['wall_s']:7.1f} s  epochs {r['epochs']:4}  "
        f"pruned {r['pruned']:2}/{r['trials']}  best val loss {r['best_value']:.4f}\n"
    )


def main(size: str, as_json: bool) -> int:
    """Print the table (and one JSON line last with --json)."""
    result = run(size)
    print(f"Pruning benchmark: {WORKLOAD}, {result['trials']} TPE trials x {result['epochs']} epochs")
    print(f"{'repeat':>6} {'pruner':10} {'time ratio':>10} {'epoch ratio':>11} {'best':>8} {'unpruned':>9} seeds")
    for v in result["verdicts"]:
        lo, hi = v["unpruned_seed_spread"]
        print(
            f"{v['repeat']:>6} {v['pruner']:10} {v['time_ratio']:>10.2f} {v['epoch_ratio']:>11.2f} {v['best']:>8.4f} "
            f"{v['unpruned_best']:>9.4f} {lo:.4f}..{hi:.4f} {'within' if v['within_spread'] else 'OUTSIDE'}"
        )
    if as_json:
        print(json.dumps(result))
    return 0
