"""How many CPU threads a run trains with, and how its device is named (in its record, and in the calibration
history of estimates, where the thread count is part of the key)."""

from __future__ import annotations

import os
import time

import torch

from nnlab.core.config import RunConfig
from nnlab.core.text import plural


def device_label(device: torch.device) -> str:
    """ "cuda (NVIDIA H100 ...)", "mps" or "cpu (2 threads)"."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({plural(torch.get_num_threads(), 'thread')})"
    return device.type


def usable_cores() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_threads(cfg: RunConfig, leave_core: bool) -> int:
    """cfg.threads if given; in the dashboard all cores but one on machines with more than one; else torch's."""
    cores = usable_cores()
    if cfg.threads:
        return cfg.threads
    if leave_core and cores > 1:
        return max(1, cores - 1)
    return torch.get_num_threads()


def set_threads(cfg: RunConfig, leave_core: bool) -> None:
    """cfg.threads if given; in the dashboard, leave one core to the UI on machines with few cores."""
    torch.set_num_threads(default_threads(cfg, leave_core))


def idle_cpus(wait_s: float = 0.2) -> float | None:
    """How many of this process's CPUs sat idle over the next wait_s seconds (from /proc/stat); None where
    that cannot be read (not Linux)."""
    mine = {f"cpu{i}" for i in os.sched_getaffinity(0)} if hasattr(os, "sched_getaffinity") else set()

    def ticks() -> dict[str, tuple[int, int]]:  # cpu -> (idle + iowait, total) in clock ticks since boot
        with open("/proc/stat") as f:
            rows = [line.split() for line in f if line.startswith("cpu") and not line.startswith("cpu ")]
        return {r[0]: (int(r[4]) + int(r[5]), sum(int(v) for v in r[1:])) for r in rows if r[0] in mine}

    try:
        before = ticks()
        time.sleep(wait_s)
        after = ticks()
    except (OSError, ValueError, IndexError):
        return None
    shares = [(after[c][0] - before[c][0]) / max(after[c][1] - before[c][1], 1) for c in after if c in before]
    return sum(shares) if shares else None


def threads_for_idle_cpus() -> int:
    """torch's thread count capped by the CPUs idle right now (at least one). On a busy machine a team of
    threads waits at every operation for a member the scheduler has not run: the MLP at batch 64 on 2 cores
    under a load of 10 trained at about 400 samples/s with 2 threads and 11,000 with 1."""
    idle = idle_cpus()
    threads = torch.get_num_threads()
    return threads if idle is None else max(1, min(threads, round(idle)))
