"""What a run's numbers depend on besides its config and seed: CPU threads, the device type and the precision.

The sums inside matrix products are split between threads, so 1 and 2 threads round differently; a GPU and
bfloat16 round differently again. A run records the values it started with (in its summary, under
"arithmetic"); a resume uses them whatever the load, and a new seed of a group takes its siblings'. Where a
resume cannot (a machine with fewer cores, no such device), it records what it used instead and why, under
"arithmetic_changes", and the run page and the comparison say so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from nnlab.core.text import plural

KEY, CHANGES = "arithmetic", "arithmetic_changes"  # summary keys
# why a resume could not use what the run started with: cause -> the reason in words
CAUSES = {
    "cores": "this machine has fewer cores than the run started with threads",
    "device": "the device it started on is not available here",
    "precision": "this device cannot train in the precision it started with",
}


@dataclass(frozen=True)
class Arithmetic:
    """Threads (0: not decided yet), device type ("cpu", "cuda", "mps"; "": not decided) and precision
    ("fp32" or "bf16"; "": not decided). A lab may plan some of them before the run starts."""

    threads: int = 0
    device: str = ""
    precision: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Arithmetic | None:
        """From to_dict(); None where nothing was recorded."""
        if not isinstance(d, dict):
            return None
        return cls(int(d.get("threads") or 0), str(d.get("device") or ""), str(d.get("precision") or ""))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def text(self) -> str:
        """ "2 CPU threads, fp32", "cuda, bf16"."""
        where = f"{plural(self.threads, 'CPU thread')}" if self.device == "cpu" else self.device or "?"
        return f"{where}, {self.precision or '?'}"


@dataclass(frozen=True)
class Change:
    """A resume that could not use the recorded arithmetic: the epoch it resumed after, what it used, why."""

    epoch: int
    used: Arithmetic
    cause: str  # a key of CAUSES

    def to_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "cause": self.cause, **self.used.to_dict()}

    @property
    def sentence(self) -> str:
        return (
            f"Resumed after epoch {self.epoch} with {self.used.text} because {CAUSES.get(self.cause, self.cause)}; "
            "from there its numbers can differ in the last digits from an uninterrupted run."
        )


def recorded(summary: dict[str, Any]) -> Arithmetic | None:
    """The arithmetic a run started with (or was planned to), from its summary; None for runs made before."""
    return Arithmetic.from_dict(summary.get(KEY))


def changes(summary: dict[str, Any]) -> list[Change]:
    """The resumes that could not use the recorded arithmetic, oldest first."""
    out = []
    for d in summary.get(CHANGES) or ():
        used = Arithmetic.from_dict(d)
        if used is not None:
            out.append(Change(int(d.get("epoch", 0)), used, str(d.get("cause", ""))))
    return out
