"""Space actions: the workspace's disk quota (what new work and uploads may add), reclaiming space, keeping an
upload, and what one visitor of a shared dashboard may queue."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from nnlab.core.errors import NNLabError
from nnlab.core.limits import DISK_ENV, MAX_VISITOR_SEEDS, VISITOR_RUNS_ENV, size_text, visitor_runs
from nnlab.core.text import plural
from nnlab.store.space import Reclaimable, Usage, keep_upload, reclaim, reclaimable, usage

if TYPE_CHECKING:
    from nnlab.jobs.manager import JobManager
    from nnlab.store.runs import RunStore

USAGE_S = 5.0  # how long a measured usage stands (a form reruns on every widget change; walking 1,000 runs costs)


class SpaceActions:
    """Mixed into Lab: the disk quota, reclaiming space, uploads, and the bounds on one visitor's runs."""

    store: RunStore
    jobs: JobManager
    _usage: tuple[float, Usage] | None  # (when measured, what), set by Lab
    _usage_lock: threading.Lock
    _visitors: dict[str, list[str]]  # a shared dashboard's visitor -> the runs they started

    def space(self, fresh: bool = False) -> Usage:
        """What the workspace's uploads and run folders take, against the quota (measured at most every USAGE_S)."""
        with self._usage_lock:
            if fresh or self._usage is None or time.monotonic() - self._usage[0] > USAGE_S:
                self._usage = (time.monotonic(), usage(self.store))
            return self._usage[1]

    def space_problem(self, adding: int = 0, refused: str = "New runs are refused") -> str | None:
        """Why new work (or `adding` bytes more) does not fit in the workspace's quota, in one sentence; else None."""
        used = self.space()
        if not used.full(adding):
            return None
        return (
            f"{refused}: the workspace holds {size_text(used.total)} of its {size_text(used.quota)} quota; "
            f"reclaim space on Home or delete runs (the operator sets the quota with {DISK_ENV})."
        )

    def check_space(self, adding: int = 0, refused: str = "New runs are refused") -> None:
        """NNLabError (one sentence) when the workspace is at its quota, or `adding` bytes would pass it."""
        if (problem := self.space_problem(adding, refused)) is not None:
            raise NNLabError(problem)

    def reclaimable(self) -> Reclaimable:
        """What reclaiming would delete now (unused uploads, finished runs' last checkpoints) and how much."""
        return reclaimable(self.store)

    def reclaim(self) -> str:
        """Delete unused uploads and the last checkpoints of finished runs; says what was freed."""
        what = self.reclaimable()
        freed = reclaim(self.store, what)
        self.space(fresh=True)
        if not freed:
            return "Nothing to reclaim: every upload is used by a run, and no finished run keeps a last checkpoint."
        return f"Freed {size_text(freed)}: {what.text}."

    def keep_upload(self, name: str, data: BinaryIO, size: int) -> Path:
        """Keep an uploaded file in the workspace (streamed to disk, never copied whole in memory); NNLabError when
        it does not fit in the quota."""
        self.check_space(size, f"Upload {Path(name).name} ({size_text(size)}) is refused")
        path = keep_upload(self.store, name, data)
        self.space(fresh=True)
        return path

    def check_visitor(self, visitor: str, seeds: int) -> None:
        """The bounds on one visitor of a shared dashboard (none for the local operator: visitor ""): at most
        MAX_VISITOR_SEEDS seeds a start, and visitor_runs() runs queued or running at once."""
        if not visitor:
            return
        if seeds > MAX_VISITOR_SEEDS:
            raise NNLabError(
                f"Seeds {seeds} is more than a visitor of this shared dashboard may start at once "
                f"({MAX_VISITOR_SEEDS}); start fewer."
            )
        mine = [i for i in self._visitors.get(visitor, []) if self.jobs.is_active(i)]
        most = visitor_runs()
        if len(mine) + seeds > most:
            raise NNLabError(
                f"You have {plural(len(mine), 'run')} queued or running, and a visitor of this shared dashboard may "
                f"have {most} at once; wait for one to end, or stop one (the operator sets this with "
                f"{VISITOR_RUNS_ENV})."
            )

    def check_visitor_sweep(self, visitor: str, parallel: int, seeds: int) -> None:
        """A visitor's sweep keeps `parallel` trials of `seeds` runs each queued or running: no more than the
        visitor may still start (see check_visitor); none for the local operator."""
        if not visitor:
            return
        mine = [i for i in self._visitors.get(visitor, []) if self.jobs.is_active(i)]
        most, at_once = visitor_runs(), parallel * seeds
        if len(mine) + at_once > most:
            raise NNLabError(
                f"A sweep of {plural(parallel, 'trial')} at a time with {plural(seeds, 'seed')} each keeps "
                f"{plural(at_once, 'run')} queued or running, and a visitor of this shared dashboard may have {most} "
                f"at once ({len(mine)} of yours now); lower Trials at once or Seeds per trial (the operator sets "
                f"this with {VISITOR_RUNS_ENV})."
            )

    def count_visitor(self, visitor: str, run_ids: tuple[str, ...]) -> None:
        """Remember the runs a visitor started (for check_visitor); the local operator's are not counted."""
        if visitor:
            runs = self._visitors.setdefault(visitor, [])
            runs[:] = [i for i in runs if self.jobs.is_active(i)] + list(run_ids)
