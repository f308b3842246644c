"""Whether bfloat16 can run, and run fast, for an architecture on this machine: found by a tiny real probe.

oneDNN refuses some bfloat16 kernels on CPUs without AVX512 (the LSTM: "could not create a primitive descriptor")
and emulates others slowly on CPUs without AVX512-BF16 or AMX. Nothing here assumes the developers' CPU: the
probe trains one step of the architecture itself, tiny, under the same autocast the trainer uses.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

import torch

from nnlab.core.config import RunConfig
from nnlab.core.facts import DataFacts, ImageFacts, Scaler, SeriesFacts, TabularFacts, TextFacts

# oneDNN's ISA names that include native bfloat16 arithmetic (ONEDNN_MAX_CPU_ISA may cap a capable CPU):
# AVX512_CORE_BF16 and every level above it (AVX512_CORE_FP16 alias AVX10_1_512, the AMX ones), or no cap
_NATIVE_ISAS = ("BF16", "FP16", "AMX", "AVX10", "ALL", "DEFAULT")


@dataclass(frozen=True)
class Bf16Check:
    """What bfloat16 means for one run here: `problem` (it cannot run), `note` (it runs, slower), or neither."""

    problem: str = ""  # why it cannot run, a clause: "this CPU has no bfloat16 kernel for the LSTM (...)"
    note: str = ""  # why it runs slower than float32, a clause

    @property
    def ok(self) -> bool:
        return not self.problem


def _tiny_inputs(kind: str) -> tuple[DataFacts, torch.Tensor, torch.Tensor | None]:
    """(data facts, a batch of 2, lengths) shaped like each kind of data, as small as the models accept."""
    two = ("a", "b")
    if kind == "image":
        facts = ImageFacts(
            classes=two, channels=3, source_channels=3, image_size=16, scaler=Scaler.of([0.5] * 3, [1] * 3)
        )
        return facts, torch.randn(2, 3, 16, 16).contiguous(memory_format=torch.channels_last), None
    if kind == "text":
        words = tuple(f"w{i}" for i in range(16))
        return TextFacts(classes=two, vocab=words, max_len=6), torch.randint(1, 16, (2, 6)), torch.tensor([6, 3])
    if kind == "series":
        facts = SeriesFacts(columns=("y",), target_index=0, window=4, horizon=1, scaler=Scaler.of([0.0], [1.0]))
        return facts, torch.randn(2, 4, 1), None
    return TabularFacts(classes=two, features=8), torch.randn(2, 8), None


@cache
def cpu_probe(arch: str, kind: str) -> str:
    """'' when one bfloat16 training step of a tiny `arch` runs on the CPU; else the error's first line."""
    from nnlab.engine.train import fast_dropout
    from nnlab.models import build_model

    info, x, lengths = _tiny_inputs(kind)
    cfg = RunConfig(arch=arch, hidden=8, hidden_sizes=(8,), dropout=0.1, pretrained=False, freeze_backbone=False)
    try:
        model = build_model(cfg, info)
        fast_dropout(model)  # as the trainer runs it on the CPU
        if kind == "image":
            model = model.to(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(x, lengths) if lengths is not None else model(x)
        out.float().sum().backward()
    except RuntimeError as exc:
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0].split(". Run workload")[0]
    return ""


def cpu_native_bf16() -> bool:
    """Whether the CPU does bfloat16 arithmetic in hardware (AVX512-BF16 or AMX) and oneDNN may use it."""
    cap = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "").upper()
    if cap and not any(name in cap for name in _NATIVE_ISAS):
        return False
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def bf16_check(arch: str, kind: str, device: torch.device) -> Bf16Check:
    """Whether bfloat16 autocast can train `arch` on `kind` data on `device`, and whether it pays there."""
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return Bf16Check()
        return Bf16Check(problem=f"the GPU {torch.cuda.get_device_name(device)} has no bfloat16 support")
    if device.type != "cpu":
        return Bf16Check()
    failure = cpu_probe(arch, kind)
    if failure:
        return Bf16Check(problem=f'this CPU cannot train {arch} in bfloat16 (oneDNN: "{failure}")')
    if not cpu_native_bf16():
        return Bf16Check(note="this CPU has no native bfloat16 (AVX512-BF16 or AMX), so it is emulated and slower")
    return Bf16Check()


def run_bf16_check(cfg: RunConfig, kind: str) -> Bf16Check:
    """bf16_check for a run's config; nothing to say unless it asks for bfloat16 where it is not automatic."""
    from nnlab.engine.train import resolve_device

    if cfg.precision != "bf16":
        return Bf16Check()
    return bf16_check(cfg.arch, kind, resolve_device(cfg.device))
