"""Pre-flight work for the dashboard, measured one job at a time on a background thread (never in a page's script
run) and kept by key: a run's estimate, the largest batch that fits, a whole sweep's estimate."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.engine.preflight import Budget, estimate


class Estimates:
    """Pre-flight jobs measured one at a time on a background thread, kept by key (the config's JSON for a
    run's estimate), the oldest dropped past `keep`. root: the workspace whose history calibrates estimates."""

    def __init__(
        self, leave_core: bool = True, budget: Budget = Budget(), keep: int = 32, root: Path | None = None
    ) -> None:
        self.leave_core, self.budget, self.keep, self.root = leave_core, budget, keep, root
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nnlab-preflight")
        self._futures: dict[str, Future] = {}
        self._lock = threading.Lock()

    # -- any job ----------------------------------------------------------------------------------
    def submit(self, key: str, job: Callable[[], Any]) -> None:
        """Run job() unless the job under key is done or under way."""
        with self._lock:
            if key in self._futures:
                return
            while len(self._futures) >= self.keep:
                self._futures.pop(next(iter(self._futures)))
            self._futures[key] = self._pool.submit(job)

    def busy(self, key: str) -> bool:
        """Whether the job under key runs now (or waits its turn)."""
        future = self._futures.get(key)
        return future is not None and not future.done()

    def outcome(self, key: str) -> Any:
        """The job's result, a sentence saying why there is none, or None while it is not ready (or not asked)."""
        future = self._futures.get(key)
        if future is None or not future.done():
            return None
        try:
            return future.result()
        except NNLabError as exc:
            return str(exc)
        except torch.OutOfMemoryError:
            return "The estimate ran out of memory: this run will not fit; lower the batch size or the model's size."
        except Exception as exc:  # the form must never show a traceback
            return f"The estimate failed ({type(exc).__name__}); the run itself may still work."

    # -- a run's estimate -------------------------------------------------------------------------
    def request(self, cfg: RunConfig) -> None:
        """Start measuring cfg unless it is measured or being measured."""
        self.submit(cfg.to_json(), lambda: estimate(cfg, self.leave_core, self.budget, root=self.root))

    def pending(self, cfg: RunConfig) -> bool:
        """Whether cfg is being measured now (or waits its turn)."""
        return self.busy(cfg.to_json())

    def result(self, cfg: RunConfig) -> Any:
        """The estimate, a sentence saying why there is none, or None while it is not ready (or not asked for)."""
        return self.outcome(cfg.to_json())
