"""`python -m nnlab bench --startup`: what a small job costs beyond importing torch, as whole processes.

Each round runs `python -c "import torch"` and `python -m nnlab train --arch mlp --dataset digits --epochs 1`
(in a fresh workspace) as fresh processes, one right after the other, the order flipped every round; the
figure is the median of nnlab's seconds minus torch's, per round (both halves of a round share the machine's
load), beside each side's median and the 1-minute load average before and after. The train's own fit takes a
tenth of a second; the rest is start-up: Python, torch, nnlab's modules, the data, the pre-flight estimate,
the store and the report.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nnlab.bench.job import PACKAGE_ROOT, child_env

TORCH = [sys.executable, "-c", "import torch"]


def train_command(store: Path) -> list[str]:
    """The small job: a digits MLP for one epoch, in its own workspace."""
    return [sys.executable, "-m", "nnlab", "train", "--arch", "mlp", "--dataset", "digits", "--epochs", "1",
            "--store", str(store)]  # fmt: skip


def timed(cmd: list[str]) -> float:
    """Seconds from process start to exit (a failure raises)."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=child_env(), cwd=PACKAGE_ROOT, timeout=600)
    return time.perf_counter() - start


def startup(rounds: int = 7) -> dict[str, Any]:
    """A warm-up round, then `rounds` alternated rounds: medians and the median per-round difference."""
    load = os.getloadavg()[0]
    pairs = []
    with tempfile.TemporaryDirectory(prefix="nnlab-startup-") as tmp:
        for i in range(rounds + 1):
            store = Path(tmp) / f"ws{i}"
            if i % 2:
                train, torch_s = timed(train_command(store)), timed(TORCH)
            else:
                torch_s, train = timed(TORCH), timed(train_command(store))
            if i:  # the first round warms the file cache
                pairs.append((torch_s, train))
                print(f"  round {i}/{rounds}: import torch {torch_s:.2f} s, nnlab train {train:.2f} s", file=sys.stderr)
    return {
        "import_torch_s": round(statistics.median(p[0] for p in pairs), 2),
        "train_s": round(statistics.median(p[1] for p in pairs), 2),
        "extra_s": round(statistics.median(p[1] - p[0] for p in pairs), 2),
        "rounds": [[round(a, 2), round(b, 2)] for a, b in pairs],
        "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
    }


def main(rounds: int, as_json: bool) -> int:
    """The start-up figures, and the JSON line last when asked."""
    out = startup(rounds)
    print(
        f"nnlab train (digits MLP, 1 epoch) {out['train_s']:.2f} s against import torch {out['import_torch_s']:.2f} s: "
        f"{out['extra_s']:+.2f} s (median of {len(out['rounds'])} alternated rounds; 1-minute load average "
        f"{out['load_average'][0]} before, {out['load_average'][1]} after)"
    )
    if as_json:
        print(json.dumps({"startup": out}))
    return 0
