"""Sweep actions: record and drive a sweep (in the background, or in the caller's thread for the command line),
resume it (re-running its failed trials on request), pause it, stop it, and confirm its top trials with more
seeds (it does that at its end too)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from nnlab.core.errors import NNLabError
from nnlab.core.limits import MAX_CONFIRMED, MAX_SEEDS
from nnlab.sweeps.store import CONFIRM_SEEDS, CONFIRM_TOP, RESUMABLE_SWEEPS, SweepRecord, SweepSpec

if TYPE_CHECKING:
    from nnlab.core.config import RunConfig
    from nnlab.engine.preflight import Estimate
    from nnlab.jobs.manager import JobManager
    from nnlab.store.runs import RunStore
    from nnlab.sweeps.store import SweepStore


@dataclass(frozen=True)
class ConfirmPlan:
    """What a confirmation would train: (trial number, config) of each re-run, `parallel` at a time, and its
    pre-flight time (None where not measured)."""

    top: int
    seeds: int
    runs: tuple[tuple[int, RunConfig], ...]
    parallel: int = 1
    seconds: float | None = None

    @property
    def trials(self) -> list[int]:
        """The trials it re-runs, in order."""
        return sorted({n for n, _ in self.runs})

    def seconds_of(self, estimates: Sequence[Estimate | None]) -> float | None:
        """The whole confirmation's time from one estimate per run (None where one is missing)."""
        times = [e.seconds_total if e is not None else None for e in estimates]
        if any(t is None for t in times):
            return None
        return sum(times) / max(self.parallel, 1)  # type: ignore[arg-type]


class SweepActions:
    """Mixed into Lab: the actions on sweeps. Each sweep trains its trials `spec.parallel` at a time in a queue
    of its own, so it never changes how many of the other runs train at once."""

    store: RunStore
    sweeps: SweepStore
    jobs: JobManager

    def create_sweep(self, spec: SweepSpec, visitor: str = "") -> str:
        """Record a checked sweep (see sweeps.driver.make_spec) without starting it; returns its id. Refused in one
        sentence when the workspace is at its disk quota, or when a visitor of a shared dashboard (see
        check_visitor) would have more runs at once than it may."""
        self.check_space(refused="New sweeps are refused")
        self.check_visitor_sweep(visitor, spec.parallel, spec.seeds)
        return self.sweeps.create(spec)

    def start_sweep(self, spec: SweepSpec, visitor: str = "") -> str:
        """Record the sweep and drive it in a background thread of this process; returns its id."""
        from nnlab.sweeps.driver import start_in_thread

        sweep_id = self.create_sweep(spec, visitor)
        start_in_thread(self.jobs, sweep_id)
        return sweep_id

    def resume_sweep(self, sweep_id: str, rerun_failed: bool = False) -> str:
        """Drive a paused, stopped or interrupted sweep again in the background (its failed trials queued again as
        new trials when asked); says what was done."""
        said = self._prepare_resume(sweep_id, rerun_failed)
        self._in_background(sweep_id)
        return said or f"Sweep {sweep_id} resumed."

    def _in_background(self, sweep_id: str) -> None:
        """Drive the sweep in a thread of this process, queued until that thread claims it."""
        from nnlab.sweeps.driver import start_in_thread

        self.sweeps.requeue(sweep_id)
        start_in_thread(self.jobs, sweep_id)

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
            return SweepDriver(self.jobs, sweep_id, on_tick=on_tick, say=say).run()
        finally:
            self.shutdown()

    def confirm_plan(
        self, sweep_id: str, top: int | None = None, seeds: int | None = None, measure: bool = True
    ) -> ConfirmPlan:
        """What confirming the sweep's top trials (top of them, seeds more seeds each; the sweep's own numbers when
        not given) would train, with its pre-flight time when measure is set; nothing is recorded."""
        from nnlab.lab.seeds import estimate_or_none
        from nnlab.sweeps.confirm import planned_runs

        rec = self._confirmable(sweep_id, top, seeds)
        planned = planned_runs(self.store, rec)
        plan = ConfirmPlan(rec.spec.confirm_top, rec.spec.confirm_seeds, tuple(planned), rec.spec.parallel)
        if not measure:
            return plan
        return replace(plan, seconds=plan.seconds_of([estimate_or_none(cfg) for _, cfg in planned]))

    def confirm_sweep(self, sweep_id: str, top: int | None = None, seeds: int | None = None) -> str:
        """Re-run the sweep's top trials with more seeds in the background (a finished sweep; a running one does
        it at its end); says what was queued."""

        self._set_confirm(sweep_id, top, seeds)
        self._in_background(sweep_id)
        return f"Sweep {sweep_id} is confirming its top trials with more seeds."

    def drive_confirmation(
        self,
        sweep_id: str,
        top: int | None = None,
        seeds: int | None = None,
        on_tick: Callable[[], None] | None = None,
        say: Callable[[str], None] = lambda text: None,
    ) -> SweepRecord:
        """Re-run the sweep's top trials with more seeds in this thread (the command line); the final record."""
        self._set_confirm(sweep_id, top, seeds)
        return self.drive_sweep(sweep_id, on_tick=on_tick, say=say)

    def _confirmable(self, sweep_id: str, top: int | None, seeds: int | None) -> SweepRecord:
        rec = self.sweeps.get(sweep_id)
        if rec.status not in RESUMABLE_SWEEPS:
            raise NNLabError(f"Sweep {sweep_id} is {rec.status}; it confirms its top trials when it ends.")
        top = rec.spec.confirm_top or CONFIRM_TOP if top is None else top
        seeds = rec.spec.confirm_seeds or CONFIRM_SEEDS if seeds is None else seeds
        if not 1 <= top <= MAX_CONFIRMED or not 1 <= seeds <= MAX_SEEDS:
            raise NNLabError(
                f"--top must be from 1 to {MAX_CONFIRMED} and --seeds from 1 to {MAX_SEEDS} (got {top} and {seeds})."
            )
        return replace(rec, spec=replace(rec.spec, confirm_top=top, confirm_seeds=seeds))

    def _set_confirm(self, sweep_id: str, top: int | None, seeds: int | None) -> None:
        rec = self._confirmable(sweep_id, top, seeds)
        self.sweeps.set_confirm(sweep_id, rec.spec.confirm_top, rec.spec.confirm_seeds)

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
