"""`python -m nnlab bench --whole-job`: the whole MNIST job from the command line, nnlab against the plain script.

The step figures of `nnlab bench` time fit() alone; a user waits for the whole job. Here both sides run as
fresh processes on the same MNIST folder in torchvision's layout (IDX files under MNIST/raw; 60,000 training
and 10,000 test images by default, synthetic but learnable, written once for the benchmark), each timed from
process start to exit: imports, loading, 5 epochs of the MLP (784-256-128-64-10, dropout 0.2) at batch 64
with Adam(lr 1e-3) and no weight decay, the test pass and the report written.

- nnlab: `python -m nnlab train --arch mlp --dataset mnist --data-root DATA --epochs 5 --batch-size 64
  --lr 0.001 --weight-decay 0 --schedule none --store STORE --json`, as a user runs it: it keeps 10% of the
  training images for validation every epoch, records every epoch in the run store, saves checkpoints, and
  writes the test predictions, viewable examples and the report.
- plain: nnlab/plain_mnist.py, the handout's script (torchvision's MNIST with per-sample ToTensor and
  Normalize, DataLoader, a test pass after every epoch, scikit-learn's report); it imports no nnlab code.

A first pair runs before the timed ones and is reported apart (the cold start: the files are read for the
first time, and nnlab decodes the IDX files and caches them), then `pairs` pairs alternate which side runs
first; the ratio is the median of the per-pair ratios plain / nnlab (the two halves of a pair run seconds
apart under the same load). Each side's test accuracy is printed beside its time, and the 1-minute load
average before and after.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nnlab.core.errors import NNLabError
from nnlab.store.runfolder import RunFolder

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding nnlab/: where `python -m nnlab` resolves
PLAIN_SCRIPT = Path(__file__).with_name("plain_mnist.py")


def job_commands(data: Path, work: Path, epochs: int, batch_size: int) -> dict[str, list[str]]:
    """The two command lines of one measurement: nnlab's CLI and the plain script (copied beside the data, so
    that it runs as a script in a folder of its own, not beside nnlab's modules), on the same data."""
    same = ["--epochs", str(epochs), "--batch-size", str(batch_size)]
    nnlab = [sys.executable, "-m", "nnlab", "train", "--arch", "mlp", "--dataset", "mnist", "--data-root", str(data)]
    nnlab += [*same, "--lr", "0.001", "--weight-decay", "0", "--schedule", "none", "--store", str(work / "store")]
    script = data.parent / PLAIN_SCRIPT.name
    plain = [sys.executable, str(script), "--root", str(data), "--out", str(work / "plain"), *same]
    return {"nnlab": [*nnlab, "--json"], "plain": plain}


def _env() -> dict[str, str]:
    """The caller's environment, with this nnlab first on the path (the plain script does not look at it)."""
    path = os.pathsep.join(p for p in (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def run_job(side: str, cmd: list[str], work: Path) -> tuple[float, float]:
    """Seconds from process start to exit, and the test accuracy; NNLabError when the job did not finish
    or wrote no report."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=PACKAGE_ROOT, timeout=3600)
    seconds = time.perf_counter() - start
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise NNLabError(f"The {side} job failed (exit {proc.returncode}): {tail}")
    summary = json.loads(lines[-1])
    if side == "nnlab":
        written = RunFolder(work / "store" / "runs" / summary["run_id"]).has_results()
    else:
        written = (work / "plain" / "report.json").is_file()
    if not written:
        raise NNLabError(f"The {side} job exited without writing its report (in {work}).")
    return seconds, float(summary["test_accuracy"])


def _pair(data: Path, root: Path, i: int, epochs: int, batch_size: int) -> dict[str, tuple[float, float]]:
    """One measurement of each side, in fresh folders; the order flips every pair."""
    work = root / f"job{i}"
    cmds = job_commands(data, work, epochs, batch_size)
    order = ("plain", "nnlab") if i % 2 == 0 else ("nnlab", "plain")
    return {side: run_job(side, cmds[side], work) for side in order}


def whole_job(
    pairs: int = 3,
    n_train: int = 60_000,
    n_test: int = 10_000,
    epochs: int = 5,
    batch_size: int = 64,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """A cold pair, then `pairs` alternated pairs of the whole job: seconds of each side and the ratio."""
    from nnlab.data.synthetic import write_mnist_folder

    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="nnlab-job-") as tmp:
        root = Path(tmp)
        write_mnist_folder(root / "data", n_train, n_test)
        shutil.copy(PLAIN_SCRIPT, root / PLAIN_SCRIPT.name)
        log(f"  whole job: {n_train:,} + {n_test:,} MNIST-layout images, {epochs} epochs, batch {batch_size}")
        cold = _pair(root / "data", root, 0, epochs, batch_size)
        log(f"  whole job, cold: plain {cold['plain'][0]:.1f} s  nnlab {cold['nnlab'][0]:.1f} s")
        timed = []
        for i in range(1, pairs + 1):
            timed.append(_pair(root / "data", root, i, epochs, batch_size))
            t = timed[-1]
            log(f"  whole job, pair {i}/{pairs}: plain {t['plain'][0]:.1f} s  nnlab {t['nnlab'][0]:.1f} s")
    return summarize(cold, timed, n_train, epochs, batch_size, [load, os.getloadavg()[0]])


def summarize(
    cold: dict[str, tuple[float, float]],
    timed: list[dict[str, tuple[float, float]]],
    n_train: int,
    epochs: int,
    batch_size: int,
    load: list[float],
) -> dict[str, Any]:
    """Medians of the timed pairs, the median per-pair ratio, the cold pair and the accuracies."""

    def median(side: str, at: int) -> float:
        return round(statistics.median(t[side][at] for t in timed), 4 if at else 2)

    return {
        "nnlab_s": median("nnlab", 0),
        "plain_s": median("plain", 0),
        "ratio": round(statistics.median(t["plain"][0] / t["nnlab"][0] for t in timed), 3),
        "pairs": len(timed),
        "pairs_s": [[round(t["plain"][0], 2), round(t["nnlab"][0], 2)] for t in timed],  # (plain, nnlab) each
        "cold_nnlab_s": round(cold["nnlab"][0], 2),
        "cold_plain_s": round(cold["plain"][0], 2),
        "nnlab_test_accuracy": median("nnlab", 1),
        "plain_test_accuracy": median("plain", 1),
        "train_images": n_train,
        "epochs": epochs,
        "batch_size": batch_size,
        "load_average": [round(v, 2) for v in load],
    }


def format_whole_job(job: dict[str, Any], step_ratio: float | None = None) -> str:
    """The whole-job figures as lines for people, beside the step figure when there is one."""
    step = f"; the step alone (fit(), MLP batch 64, above): {step_ratio:.2f}x" if step_ratio else ""
    return "\n".join(
        [
            f"whole job from the command line (MNIST layout, {job['train_images']:,} training images, "
            f"{job['epochs']} epochs, batch {job['batch_size']}; process start to report written):",
            f"  plain script {job['plain_s']:.1f} s, nnlab {job['nnlab_s']:.1f} s: plain / nnlab {job['ratio']:.2f}x "
            f"(median of {job['pairs']} alternated pairs){step}",
            f"  first (cold) pair: plain {job['cold_plain_s']:.1f} s, nnlab {job['cold_nnlab_s']:.1f} s; "
            f"test accuracy: plain {job['plain_test_accuracy']:.4f}, nnlab {job['nnlab_test_accuracy']:.4f}; "
            "1-minute load average before and after: {} and {}".format(*job["load_average"]),
        ]
    )


def main(pairs: int, as_json: bool) -> int:
    """Only the whole-job comparison: its lines, and the JSON line last when asked."""
    job = whole_job(pairs)
    print(format_whole_job(job), flush=True)
    if as_json:
        print(json.dumps({"whole_job": job}))
    return 0
