"""What will train: the device `auto` picks (CUDA, then Apple MPS, then CPU), described for a person."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

import torch

from nnlab.engine.train import resolve_device


@dataclass(frozen=True)
class DeviceInfo:
    """The training device: its kind ("cuda", "mps", "cpu"), name, memory and the CPU threads beside it."""

    kind: str
    name: str
    memory_bytes: int | None  # GPU memory; None for the CPU and MPS
    cores: int  # logical CPU cores of the machine
    threads: int  # CPU threads a dashboard run trains with (one core is left to the UI on small machines)
    gpu_count: int = 0

    @property
    def is_gpu(self) -> bool:
        return self.kind in ("cuda", "mps")

    @property
    def headline(self) -> str:
        """'NVIDIA H100 80GB HBM3 · 79.1 GiB' or 'CPU · 2 cores'."""
        if self.kind == "cuda":
            return f"{self.name} · {self.memory_bytes / 2**30:.1f} GiB"
        if self.kind == "mps":
            return f"{self.name} (Apple GPU)"
        return f"CPU · {self.cores} core{'s' if self.cores != 1 else ''}"

    @property
    def detail(self) -> str:
        """One sentence on what that means for training."""
        if self.kind == "cuda":
            more = f" ({self.gpu_count} GPUs found; runs use the first)" if self.gpu_count > 1 else ""
            return f"Runs train on the GPU with CUDA{more}, in bfloat16 mixed precision where it helps."
        if self.kind == "mps":
            return "Runs train on the Apple GPU through Metal (MPS)."
        return (
            f"No GPU found: runs train on the CPU ({self.name}) with {self.threads} "
            f"thread{'s' if self.threads != 1 else ''}, leaving a core for the dashboard."
        )


def cpu_name() -> str:
    """The CPU's model name where the system tells it, else the architecture."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name") and ":" in line:
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def training_threads(cores: int) -> int:
    """Threads a dashboard run uses: all cores but one on a machine with more than one (see runner.set_threads)."""
    return max(1, cores - 1) if cores > 1 else 1


def detect_device() -> DeviceInfo:
    """The device `device="auto"` resolves to, with its name and memory."""
    device = resolve_device("auto")
    cores = os.cpu_count() or 1
    threads = training_threads(cores)
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return DeviceInfo("cuda", props.name, int(props.total_memory), cores, threads, torch.cuda.device_count())
    if device.type == "mps":
        return DeviceInfo("mps", "Apple silicon", None, cores, threads)
    return DeviceInfo("cpu", cpu_name(), None, cores, threads)
