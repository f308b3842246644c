"""`python -m nnlab bench --whole-job`: the whole MNIST job from the command line, nnlab against two plain scripts.

The step figures of `nnlab bench` time fit() alone; a user waits for the whole job. Here every side runs as a
fresh process on the same MNIST folder in torchvision's layout (IDX files under MNIST/raw; 60,000 training
and 10,000 test images by default, synthetic but learnable, written once for the benchmark), each timed from
process start to exit: imports, loading, 5 epochs of the MLP (784-256-128-64-10, dropout 0.2) at batch 64
with Adam(lr 1e-3) and no weight decay, the test pass and the report written.

- nnlab: `python -m nnlab train --arch mlp --dataset mnist --data-root DATA --epochs 5 --batch-size 64
  --lr 0.001 --weight-decay 0 --schedule none --store STORE --json`, as a user runs it: it keeps 10% of the
  training images for validation every epoch, measures its pre-flight estimate, records every epoch in the run
  store, saves checkpoints, and writes the test predictions, viewable examples and the report.
- tensors (the strongest plain script, nnlab/bench/plain_mnist_tensors.py): the IDX files read once into
  normalised tensors, DataLoader(TensorDataset) at batch 64, 10% held out and validated every epoch, then the
  test report (scikit-learn's classification report and confusion matrix) and the weights.
- handout (nnlab/bench/plain_mnist.py): torchvision's MNIST with per-sample ToTensor and Normalize, DataLoader,
  a test pass after every epoch, scikit-learn's report. Neither script imports nnlab code.

Threads: as each is run (torch's default on the plain side, nnlab's own choice), or all pinned to the same
count (`threads`: nnlab's --threads, OMP_NUM_THREADS for the scripts), which compares the work each does
without the scheduler's say (a busy machine costs torch's default two spinning threads far more than one).
A first round runs before the timed ones and is reported apart (the cold start: the files are read for the
first time, and nnlab decodes the IDX files and caches them), then `pairs` rounds rotate which side runs first;
each ratio is the median of the per-round ratios script / nnlab (the sides of a round run seconds apart under
the same load). Each side's test accuracy is printed beside its time, and the 1-minute load average before
and after.
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
SCRIPTS = {
    "tensors": Path(__file__).with_name("plain_mnist_tensors.py"),
    "handout": Path(__file__).with_name("plain_mnist.py"),
}
SIDES = ("nnlab", *SCRIPTS)


def job_commands(data: Path, work: Path, epochs: int, batch_size: int, threads: int = 0) -> dict[str, list[str]]:
    """The command lines of one round: nnlab's CLI and each plain script (copied beside the data, so that it runs
    as a script in a folder of its own, not beside nnlab's modules), on the same data."""
    same = ["--epochs", str(epochs), "--batch-size", str(batch_size)]
    nnlab = [sys.executable, "-m", "nnlab", "train", "--arch", "mlp", "--dataset", "mnist", "--data-root", str(data)]
    nnlab += [*same, "--lr", "0.001", "--weight-decay", "0", "--schedule", "none", "--store", str(work / "store")]
    nnlab += ["--threads", str(threads)] if threads else []
    out = {"nnlab": [*nnlab, "--json"]}
    for side, script in SCRIPTS.items():
        out[side] = [
            sys.executable,
            str(data.parent / script.name),
            "--root",
            str(data),
            "--out",
            str(work / side),
            *same,
        ]
    return out


def child_env(threads: int = 0) -> dict[str, str]:
    """The caller's environment, with this nnlab first on the path (the plain scripts do not look at it), and the
    scripts' threads pinned when asked."""
    path = os.pathsep.join(p for p in (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path} | ({"OMP_NUM_THREADS": str(threads)} if threads else {})


def run_job(side: str, cmd: list[str], work: Path, threads: int = 0) -> tuple[float, float]:
    """Seconds from process start to exit, and the test accuracy; NNLabError when the job did not finish
    or wrote no report."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(threads), cwd=PACKAGE_ROOT, timeout=3600)
    seconds = time.perf_counter() - start
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise NNLabError(f"The {side} job failed (exit {proc.returncode}): {tail}")
    summary = json.loads(lines[-1])
    if side == "nnlab":
        written = RunFolder(work / "store" / "runs" / summary["run_id"]).has_results()
    else:
        written = (work / side / "report.json").is_file()
    if not written:
        raise NNLabError(f"The {side} job exited without writing its report (in {work}).")
    return seconds, float(summary["test_accuracy"])


def _round(
    data: Path, root: Path, i: int, epochs: int, batch_size: int, threads: int
) -> dict[str, tuple[float, float]]:
    """One measurement of each side, in fresh folders; which side goes first rotates every round."""
    work = root / f"job{i}"
    cmds = job_commands(data, work, epochs, batch_size, threads)
    order = SIDES[i % 3 :] + SIDES[: i % 3]
    return {side: run_job(side, cmds[side], work, threads) for side in order}


def whole_job(
    pairs: int = 3,
    n_train: int = 60_000,
    n_test: int = 10_000,
    epochs: int = 5,
    batch_size: int = 64,
    log: Callable[[str], None] | None = None,
    threads: int = 0,
) -> dict[str, Any]:
    """A cold round, then `pairs` rotated rounds of the whole job: seconds of each side and the ratios."""
    from nnlab.data.synthetic import write_mnist_folder

    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="nnlab-job-") as tmp:
        root = Path(tmp)
        write_mnist_folder(root / "data", n_train, n_test)
        for script in SCRIPTS.values():
            shutil.copy(script, root / script.name)
        pinned = f", threads pinned to {threads}" if threads else ""
        log(f"  whole job: {n_train:,} + {n_test:,} MNIST-layout images, {epochs} epochs, batch {batch_size}{pinned}")
        cold = _round(root / "data", root, 0, epochs, batch_size, threads)
        log("  whole job, cold: " + _seconds(cold))
        timed = []
        for i in range(1, pairs + 1):
            timed.append(_round(root / "data", root, i, epochs, batch_size, threads))
            log(f"  whole job, round {i}/{pairs}: " + _seconds(timed[-1]))
    return summarize(cold, timed, n_train, epochs, batch_size, [load, os.getloadavg()[0]]) | {"threads": threads}


def _seconds(one: dict[str, tuple[float, float]]) -> str:
    return "  ".join(f"{side} {one[side][0]:.1f} s" for side in SIDES)


def summarize(
    cold: dict[str, tuple[float, float]],
    timed: list[dict[str, tuple[float, float]]],
    n_train: int,
    epochs: int,
    batch_size: int,
    load: list[float],
) -> dict[str, Any]:
    """Medians of the timed rounds, the median per-round ratio of each script to nnlab, the cold round and the
    accuracies ("plain" is the strongest script, the tensors one)."""

    def median(side: str, at: int) -> float:
        return round(statistics.median(t[side][at] for t in timed), 4 if at else 2)

    def ratio(side: str) -> float:
        return round(statistics.median(t[side][0] / t["nnlab"][0] for t in timed), 3)

    out = {
        "nnlab_s": median("nnlab", 0),
        "plain_s": median("tensors", 0),
        "ratio": ratio("tensors"),
        "handout_s": median("handout", 0),
        "handout_ratio": ratio("handout"),
        "pairs": len(timed),
        "rounds_s": [{side: round(t[side][0], 2) for side in SIDES} for t in timed],
        "cold_nnlab_s": round(cold["nnlab"][0], 2),
        "cold_plain_s": round(cold["tensors"][0], 2),
        "cold_handout_s": round(cold["handout"][0], 2),
        "nnlab_test_accuracy": median("nnlab", 1),
        "plain_test_accuracy": median("tensors", 1),
        "handout_test_accuracy": median("handout", 1),
        "train_images": n_train,
        "epochs": epochs,
        "batch_size": batch_size,
        "load_average": [round(v, 2) for v in load],
    }
    return out


def format_whole_job(job: dict[str, Any], step_ratio: float | None = None) -> str:
    """The whole-job figures as lines for people, beside the step figure when there is one."""
    step = f"; the step alone (fit(), MLP batch 64, above): {step_ratio:.2f}x" if step_ratio else ""
    pinned = f", every side pinned to {job['threads']} thread(s)" if job.get("threads") else ""
    return "\n".join(
        [
            f"whole job from the command line (MNIST layout, {job['train_images']:,} training images, "
            f"{job['epochs']} epochs, batch {job['batch_size']}; process start to report written{pinned}):",
            f"  plain script {job['plain_s']:.1f} s, nnlab {job['nnlab_s']:.1f} s: plain / nnlab {job['ratio']:.2f}x "
            f"(the strongest script: tensors read once, DataLoader(TensorDataset); median of {job['pairs']} "
            f"rotated rounds){step}",
            f"  handout script (per-sample transforms) {job['handout_s']:.1f} s: handout / nnlab "
            f"{job['handout_ratio']:.2f}x",
            f"  first (cold) round: plain {job['cold_plain_s']:.1f} s, handout {job['cold_handout_s']:.1f} s, nnlab "
            f"{job['cold_nnlab_s']:.1f} s; test accuracy: plain {job['plain_test_accuracy']:.4f}, handout "
            f"{job['handout_test_accuracy']:.4f}, nnlab {job['nnlab_test_accuracy']:.4f}; "
            "1-minute load average before and after: {} and {}".format(*job["load_average"]),
        ]
    )


def main(pairs: int, as_json: bool, threads: int = 0) -> int:
    """Only the whole-job comparison: its lines, and the JSON line last when asked."""
    job = whole_job(pairs, threads=threads)
    print(format_whole_job(job), flush=True)
    if as_json:
        print(json.dumps({"whole_job": job}))
    return 0
