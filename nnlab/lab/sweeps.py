"""Sweep actions: record and drive a sweep (in the background, or in the caller's thread for the command line),
resume it (re-running its failed trials on request), pause it and stop it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from nnlab.core.errors import NNLabError
from nnlab.sweeps.store import RESUMABLE_SWEEPS, SweepRecord, SweepSpec

if TYPE_CHECKING:
    from nnlab.jobs.manager import JobManager
    from nnlab.store.runs import RunStore
    from nnlab.sweeps.store import SweepStore


class SweepActions:
    """Mixed into Lab: the actions on sweeps. Each sweep trains its trials `spec.parallel` at a time in a queue
    of its own, so it never changes how many of the other runs train at once."""

    store: RunStore
    sweeps: SweepStore
    jobs: JobManager

    def create_sweep(self, spec: SweepSpec) -> str:
        """Record a checked sweep (see sweeps.driver.make_spec) without starting it; returns its id."""
        return self.sweeps.create(spec)

    def start_sweep(self, spec: SweepSpec) -> str:
        """Record the sweep and drive it in a background thread of this process; returns its id."""
        from nnlab.sweeps.driver import start_in_thread

        sweep_id = self.create_sweep(spec)
        start_in_thread(self.jobs, sweep_id)
        return sweep_id

    def resume_sweep(self, sweep_id: str, rerun_failed: bool = False) -> str:
        """Drive a paused, stopped or interrupted sweep again in the background (its failed trials queued again as
        new trials when asked); says what was done."""
        from nnlab.sweeps.driver import start_in_thread

        said = self._prepare_resume(sweep_id, rerun_failed)
        start_in_thread(self.jobs, sweep_id)
        return said or f"Sweep {sweep_id} resumed."

    def drive_sweep(
        self,
        sweep_id: str,
        rerun_failed: bool = False,
        on_tick: Callable[[], None] | None = None,
        say: Callable[[str], None] = lambda text: None,
    ) -> SweepRecord:
        """Drive a new or resumable sweep in this thread until it ends or is paused or stopped (the command line;
        stop_sweep from a signal handler stops it); returns its final record."""
        from nnlab.sweeps.driver import SweepDriver

        said = self._prepare_resume(sweep_id, rerun_failed)
        if said:
            say(said)
        try:
            return SweepDriver(self.jobs, sweep_id, on_tick=on_tick).run()
        finally:
            self.shutdown()

    def _prepare_resume(self, sweep_id: str, rerun_failed: bool) -> str:
        rec = self.sweeps.get(sweep_id)
        if rec.status not in RESUMABLE_SWEEPS:
            raise NNLabError(f"Sweep {sweep_id} is {rec.status}; only paused, stopped or interrupted sweeps resume.")
        if rerun_failed:
            from nnlab.sweeps.driver import rerun_failed_trials

            return f"{rerun_failed_trials(self.store, sweep_id)} failed trial(s) of sweep {sweep_id} queued again."
        return ""

    def pause_sweep(self, sweep_id: str) -> str:
        """Let the running trials finish and start no more until the sweep is resumed."""
        self.sweeps.request(sweep_id, "pause")
        return "The sweep pauses once its running trials finish."

    def stop_sweep(self, sweep_id: str) -> str:
        """Stop the running trials at their next batch (they resume with the sweep) and start no more."""
        self.sweeps.request(sweep_id, "stop")
        return "The sweep stops its running trials at the end of their current batch."
