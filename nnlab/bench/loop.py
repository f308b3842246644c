"""`python -m nnlab bench`: nnlab's fit() against the plain PyTorch loop a practitioner writes, side by side.

Both paths train the same model (same class, same initial weights) on the same in-memory tensors for the same
number of samples, in one process, with the same threads, interleaved A B A B after a warm-up pair; the table
gives each side's median samples/s and the median of the per-pair ratios (the two halves of a pair run seconds
apart under the same load, so that ratio is steadier on a shared machine).

- plain PyTorch: DataLoader(TensorDataset(x, y), batch_size, shuffle=True), torch.optim.Adam with its
  defaults, model(x) -> CrossEntropyLoss -> backward -> step; no loss read-back, no validation, no
  checkpoints; images given as float tensors already normalised.
- nnlab fit(): Trainer.fit() as in a real run: the store listener writes live progress and each epoch to a
  SQLite run store, a thread polls that store as the dashboard's live view does, the checkpoint listener
  saves last.pt and best.pt, and a validation split (2% of the samples) is evaluated every epoch; images stay
  uint8 and are normalised batch by batch; Adam, lr 1e-3, no weight decay, no schedule, like the plain loop.
- data: random but learnable, shaped like the real sets: 60,000 x 784 floats (MNIST), 10,000 x 3x32x32 uint8
  images (CIFAR-10), 5,000 token-id texts padded to 256 with IMDB-like lengths (median ~175 words, ~30% cut).
- whole job: `nnlab train` against the handout's plain script as processes, MNIST layout (nnlab/bench/job.py).
- also measured: logging + live view overhead (with against without, and two identical fit()s for the noise
  floor), the dashboard's threads (cores - 1) against all cores, and a store of 1,000 runs (list, filter,
  the Compare page's work). A bfloat16 case this machine cannot run (oneDNN lacks the kernel) or runs only
  emulated (no AVX512-BF16 or AMX: slower than float32) is skipped with a note; the 1-minute load average
  before and after is printed.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from nnlab.bench.cases import Case, Plan, head, make_plan, plain_inputs
from nnlab.bench.job import format_whole_job, whole_job
from nnlab.bench.store import store_timings
from nnlab.core.config import RunConfig
from nnlab.data.base import Dataset
from nnlab.engine.precision import Bf16Check, bf16_check
from nnlab.engine.runner import CheckpointListener, StoreListener, device_label
from nnlab.engine.train import Callback, Trainer, resolve_device
from nnlab.models import build_model
from nnlab.store.runs import RunStore

LIVE_POLL_S = 0.5  # how often the simulated live view reads the store while a run trains


# -- the two loops ------------------------------------------------------------------------------------------
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_loop(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int, device: torch.device) -> float:
    """Seconds for one epoch of the loop a practitioner writes: no nnlab code from here to the end."""
    start = time.perf_counter()
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
    _sync(device)
    return time.perf_counter() - start


class LiveView:
    """What the dashboard's live view does while a run trains: poll the record and the new epochs."""

    def __init__(self, store: RunStore, run_id: str):
        self.store, self.run_id, self.polls, self.seconds = store, run_id, 0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        seen = 0
        while not self._stop.wait(LIVE_POLL_S):
            start = time.thread_time()
            self.store.get(self.run_id)
            seen += len(self.store.metrics(self.run_id, after_epoch=seen))
            self.polls += 1
            self.seconds += time.thread_time() - start

    def __enter__(self) -> LiveView:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class TimedStoreListener(StoreListener):
    """The store listener, keeping count of the seconds its hooks take."""

    seconds = 0.0

    def on_progress(self, trainer: Trainer, progress: Any) -> None:
        start = time.perf_counter()
        super().on_progress(trainer, progress)
        self.seconds += time.perf_counter() - start

    def on_epoch_end(self, trainer: Trainer, record: Any, improved: bool) -> None:
        start = time.perf_counter()
        super().on_epoch_end(trainer, record, improved)
        self.seconds += time.perf_counter() - start


def nnlab_fit(
    cfg: RunConfig,
    model: nn.Module,
    data: Dataset,
    device: torch.device,
    store: RunStore,
    logging: bool = True,
    checkpoints: bool = True,
    costs: list[float] | None = None,
) -> float:
    """Seconds for fit(): with the store listener and a live view polling, and the checkpoint listener.

    costs, when given, receives the share of those seconds spent in the store listener and the live view.
    """
    run_id = store.create(cfg)
    store.claim_queued(run_id)
    listeners: list[Callback] = [TimedStoreListener(store, run_id)] if logging else []
    if checkpoints:
        listeners.append(CheckpointListener(store.folder(run_id)))
    trainer = Trainer(cfg, model, data, device, listeners)
    view = LiveView(store, run_id) if logging else None
    with view or nullcontext():
        start = time.perf_counter()
        trainer.fit()
        _sync(device)
        seconds = time.perf_counter() - start
    store.update(run_id, status="finished")
    if costs is not None and view is not None:
        costs.append((listeners[0].seconds + view.seconds) / seconds)
    return seconds


# -- cases and measurements ---------------------------------------------------------------------------------
def _model(cfg: RunConfig, data: Dataset, seed: int) -> nn.Module:
    torch.manual_seed(seed)  # the same initial weights for both paths
    return build_model(cfg, data.facts)


def measure_case(
    case: Case, plan: Plan, device: torch.device, store: RunStore, log: Callable[[str], None]
) -> dict[str, Any]:
    """Median samples/s of the plain loop and of fit(), interleaved after a warm-up pair.

    The ratio is the median of the per-pair ratios: the two halves of a pair run seconds apart, under the
    same load, so it is steadier on a shared machine than the ratio of the two medians.
    """
    full = case.data()
    bf16 = bf16_check(case.arch, full.kind, device) if case.precision == "bf16" else Bf16Check()
    if bf16.problem or bf16.note:  # cannot run, or only emulated: slower than float32, so nothing to learn
        why = bf16.problem or bf16.note
        log(f"  {case.name}: skipped, {why}")
        return {"case": case.name, "samples": case.samples, "batch_size": case.batch_size, "skipped": why}
    cfg, data = case.config(), head(full, case.samples, case.batch_size)
    x, y = plain_inputs(data), data.train.y
    warm = head(full, min(case.samples, max(2 * case.batch_size, case.samples // 4)), case.batch_size)
    plain_loop(_model(cfg, warm, 0), plain_inputs(warm), warm.train.y, case.batch_size, device)
    nnlab_fit(cfg, _model(cfg, warm, 0), warm, device, store)
    plain, ours = [], []
    for rep in range(plan.reps):
        plain.append(case.samples / plain_loop(_model(cfg, data, rep), x, y, case.batch_size, device))
        ours.append(case.samples / nnlab_fit(cfg, _model(cfg, data, rep), data, device, store))
        log(f"  {case.name}: rep {rep + 1}/{plan.reps}  plain {plain[-1]:,.0f}/s  nnlab {ours[-1]:,.0f}/s")
    out = {
        "case": case.name,
        "baseline_samples_per_s": round(statistics.median(plain), 1),
        "nnlab_samples_per_s": round(statistics.median(ours), 1),
        "ratio": round(statistics.median(o / p for o, p in zip(ours, plain, strict=True)), 3),
        "samples": case.samples,
        "batch_size": case.batch_size,
    }
    return {**out, "note": case.note} if case.note else out


def _paired(a: Callable[[int], float], b: Callable[[int], float], pairs: int) -> float:
    """Median over interleaved pairs of seconds(b) / seconds(a), the order flipped every pair."""
    ratios = []
    for i in range(pairs):
        if i % 2:
            tb, ta = b(i), a(i)
        else:
            ta, tb = a(i), b(i)
        ratios.append(tb / ta)
    return statistics.median(ratios)


def logging_overhead(case: Case, plan: Plan, device: torch.device, store: RunStore) -> dict[str, float]:
    """fit() with the store listener and a polling live view against fit() with no listeners, as a fraction.

    Also: the same estimate for two identical fit()s (the noise floor of that figure on this machine), and
    the share of fit()'s time spent inside the listener's hooks and the live view's polls (steadier).
    """
    cfg, data = case.config(), head(case.data(), case.samples)
    nnlab_fit(cfg, _model(cfg, data, 0), data, device, store, logging=False, checkpoints=False)  # warm-up
    costs: list[float] = []

    def fit(logging: bool) -> Callable[[int], float]:
        return lambda i: nnlab_fit(cfg, _model(cfg, data, i), data, device, store, logging, False, costs)

    overhead = _paired(fit(False), fit(True), plan.pairs) - 1
    noise = _paired(fit(False), fit(False), plan.pairs) - 1
    return {"overhead": overhead, "noise": noise, "inside": statistics.median(costs)}


@contextmanager
def _threads(n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def leave_core_cost(case: Case, plan: Plan, device: torch.device, store: RunStore) -> dict[str, Any] | None:
    """What leaving one core to the dashboard costs fit() (threads = cores - 1 against all cores)."""
    cores = torch.get_num_threads()
    if device.type != "cpu" or cores < 2:
        return None
    cfg, data = case.config(), head(case.data(), case.samples)

    def fit(threads: int) -> Callable[[int], float]:
        def run(i: int) -> float:
            with _threads(threads):
                return nnlab_fit(cfg, _model(cfg, data, i), data, device, store)

        return run

    slower = _paired(fit(cores), fit(cores - 1), plan.pairs)
    return {"case": case.name, "threads": cores, "dashboard_threads": cores - 1, "cost": round(1 - 1 / slower, 4)}


# -- the command --------------------------------------------------------------------------------------------
def run_bench(mode: str = "full", log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Measure every case, the logging overhead, the dashboard's thread choice, the store and the whole job."""
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    plan, device, load = make_plan(mode), resolve_device("auto"), os.getloadavg()[0]
    log(f"nnlab bench ({mode}) on {device_label(device)}, torch {torch.__version__}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as root:
        store = RunStore(root)
        cases = [measure_case(c, plan, device, store, log) for c in plan.cases]
        log("  logging overhead ...")
        logging = logging_overhead(plan.overhead_case, plan, device, store)
        log("  dashboard threads ...")
        threads = leave_core_cost(plan.overhead_case, plan, device, store)
        store.close()
    log("  store at scale ...")
    return {
        "cases": cases,
        "logging_overhead": round(logging["overhead"], 4),
        "logging_noise_floor": round(logging["noise"], 4),
        "logging_time_share": round(logging["inside"], 5),
        "device": device_label(device),
        "store": store_timings(plan.store_runs),
        "whole_job": whole_job(plan.job_pairs, log=log) if plan.job_pairs else None,
        "leave_core": threads,
        "mode": mode,
        "torch": torch.__version__,
        "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
    }


def format_table(result: dict[str, Any]) -> str:
    """The result as a Markdown table and a few lines, for people."""
    lines = [
        f"device: {result['device']} (torch {result['torch']}, {result['mode']} mode)",
        "",
        "| case | samples | plain PyTorch (samples/s) | nnlab fit() (samples/s) | nnlab / plain (median of pairs) |",
        "|---|---:|---:|---:|---:|",
    ]
    for c in result["cases"]:
        if "skipped" in c:
            lines.append(f"| {c['case']} | {c['samples']:,} | – | – | skipped (see the note) |")
            continue
        lines.append(
            f"| {c['case']} | {c['samples']:,} | {c['baseline_samples_per_s']:,.0f} | "
            f"{c['nnlab_samples_per_s']:,.0f} | {c['ratio']:.2f}x |"
        )
    lines += [
        "",
        f"logging + live view overhead: {result['logging_overhead']:+.1%} of fit() time, with against without "
        f"(two identical fit()s give {result['logging_noise_floor']:+.1%} here: the noise floor); time inside "
        f"the listener and the live view's polls: {result['logging_time_share']:.2%}",
    ]
    if result["leave_core"]:
        t = result["leave_core"]
        word = "slower" if t["cost"] >= 0 else "faster"
        lines.append(
            f"dashboard thread choice ({t['dashboard_threads']} of {t['threads']} threads, "
            f"{t['case']}): {abs(t['cost']):.1%} {word}"
        )
    s = result["store"]
    n = s["runs"]
    lines.append(
        f"store with {n:,} runs: list {s[f'list_{n}_s']:.3f} s (first {s['list_cold_s']:.3f} s), "
        f"filter {s['filter_s']:.3f} s, Compare with 10 runs {s['compare_10_s']:.3f} s "
        f"(filled in {s['fill_s']:.1f} s)"
    )
    if result.get("whole_job"):
        step = next((c.get("ratio") for c in result["cases"] if c["case"].startswith("mlp b64")), None)
        lines.append(format_whole_job(result["whole_job"], step))
    lines += [f"note ({c['case']}): {c['note']}" for c in result["cases"] if c.get("note")]
    lines += [f"note ({c['case']}): not measured, {c['skipped']}" for c in result["cases"] if c.get("skipped")]
    lines.append(
        "1-minute load average before and after: {} and {} (other processes skew the timings)".format(
            *result["load_average"]
        )
    )
    return "\n".join(lines)


def main(mode: str, as_json: bool) -> int:
    """Run the benchmark, print the table, and the JSON line last when asked."""
    result = run_bench(mode)
    print(format_table(result), flush=True)
    if as_json:
        print(json.dumps(result))
    return 0
