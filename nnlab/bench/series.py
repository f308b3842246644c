"""`python -m nnlab bench --series [FILE ...]`: each series' default run against the classical forecasters.

For every file (a series CSV, read as `nnlab train` reads it; none: the built-in series) and every seed, `nnlab train --arch ts-lstm --seed S --json` runs as a process of its own in a fresh
workspace, as a user would run it; the figure is its test RMSE one step ahead over the best classical
forecaster's on the same test steps (below 1: nnlab is better), with the p-value of that gap (the verdict's
paired permutation test over the test steps) and the forecaster. The summary is the geometric mean of the
ratios, how many runs are above 1, and the worst.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from nnlab.bench.job import PACKAGE_ROOT, child_env


def train_command(data: str | None, seed: int, store: Path, extra: list[str]) -> list[str]:
    """The default series run of one file (the built-in series without one)."""
    source = ["--dataset", "series-csv", "--data", data] if data else ["--dataset", "series"]
    return [sys.executable, "-m", "nnlab", "train", "--arch", "ts-lstm", *source, "--seed", str(seed), "--json",
            "--store", str(store), *extra]  # fmt: skip


def one_run(data: str | None, seed: int, store: Path, extra: list[str]) -> dict[str, Any]:
    """Train once and read the run back: {series, seed, ratio, p_value, best, blend_weight, run_id} (blend_weight:
    the network's share of a blended run's forecasts, None where the run did not blend)."""
    from nnlab.analysis.baselines import baseline_rows, baseline_test
    from nnlab.store.runs import RunStore

    out = subprocess.run(
        train_command(data, seed, store, extra),
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=PACKAGE_ROOT,
        timeout=3600,
    )
    name = Path(data).stem if data else "built-in series"
    if out.returncode != 0:
        said = out.stderr.strip().splitlines()[-1:] or ["no message"]
        return {"series": name, "seed": seed, "error": said[0]}
    run_id = json.loads(out.stdout.strip().splitlines()[-1])["run_id"]
    res = RunStore(store).folder(run_id).read_results()
    best = baseline_rows(res.report)[0]
    test = baseline_test(res)
    blend = res.report.get("blend")
    return {
        "series": name,
        "seed": seed,
        "ratio": round(best.ratio, 4),
        "p_value": None if test is None else round(test.p_value, 4),
        "best": best.label,
        "blend_weight": blend["weight"] if blend else None,
        "run_id": run_id,
    }


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Geometric mean of the ratios, the runs above 1 and the worst (runs that failed left out)."""
    ratios = [r["ratio"] for r in rows if "ratio" in r]
    if not ratios:
        return {"runs": 0}
    return {
        "runs": len(ratios),
        "geometric_mean": round(math.exp(sum(map(math.log, ratios)) / len(ratios)), 4),
        "above_1": sum(r > 1 for r in ratios),
        "worst": max(ratios),
    }


def main(files: list[str], seeds: list[int], extra: list[str], as_json: bool) -> int:
    """A line per run as it ends, the summary, and the JSON line last when asked."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="nnlab-series-") as tmp:
        for data in files or [None]:
            for seed in seeds:
                row = one_run(data, seed, Path(tmp) / "ws", extra)
                rows.append(row)
                if "error" in row:
                    print(f"{row['series']}, seed {seed}: did not train: {row['error']}", flush=True)
                    continue
                p = "" if row["p_value"] is None else f", p = {row['p_value']:.2g}"
                w = "" if row["blend_weight"] is None else f", the network's blend weight {row['blend_weight']:.2f}"
                print(f"{row['series']}, seed {seed}: {row['ratio']:.3f} of {row['best']}'s RMSE{p}{w}", flush=True)
    s = summary(rows)
    if s["runs"]:
        print(
            f"{s['runs']} runs: geometric mean {s['geometric_mean']:.3f} of the best classical forecaster's RMSE, "
            f"{s['above_1']} above 1, the worst {s['worst']:.3f}"
        )
    if as_json:
        print(json.dumps({"series": rows, "summary": s}))
    return 0 if s["runs"] else 1
