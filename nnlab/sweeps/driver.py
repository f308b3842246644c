"""Sweeps on Optuna: propose configs (ask), train each as ordinary runs through the JobManager, prune through
the manager's epoch observer, and tell Optuna how each trial ended.

Storage, chosen knowingly: the run store is the source of truth for every trial's runs (a run carries its
sweep id and trial number); Optuna keeps its own history in one journal file per sweep (JournalStorage with a
JournalFileBackend: an append-only log with a single writer, the sweep's driver, so no SQLite writer contention
and nothing half-written after kill -9). On every start the driver reconciles the two: a trial Optuna proposed
but whose runs were never created gets them now, an interrupted run resumes from its checkpoint, and a run
that ended while nobody listened is told now. So no trial is lost or run twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nnlab.core.causes import HELD_REASON, TIME_LIMIT_REASON, Cause
from nnlab.core.errors import NNLabError
from nnlab.core.fitted import AUTO_EPOCHS
from nnlab.core.liveness import Heartbeat
from nnlab.core.records import EpochRecord, RunRecord
from nnlab.data.registry import validate
from nnlab.jobs.lanes import sweep_lane
from nnlab.jobs.manager import JobManager
from nnlab.store.runs import RunStore
from nnlab.sweeps.confirm import confirmation_runs, planned_runs
from nnlab.sweeps.preflight import split_cores
from nnlab.sweeps.specs import make_spec
from nnlab.sweeps.store import SweepRecord, SweepSpec, SweepStore
from nnlab.sweeps.trials import ENDED, FAILED, group_trials, own_runs, run_value, trial_state

__all__ = ["ENDED", "FAILED", "HELD_REASON", "SweepDriver", "group_trials", "make_spec", "run_value", "trial_state"]

TICK_S = 0.25  # how often the driver looks at its runs
SHUTDOWN_REASON = (
    "Interrupted: the process driving the sweep was told to end (a server shutdown, or SIGTERM); resume it to "
    "continue its trials."
)
# when one seed of a trial ends it, its other seeds stop with it: (cause, sentence) by the trial's state
SIBLINGS = {
    "pruned": (Cause.PRUNED, "Pruned with the other seeds of its trial."),
    "failed": (Cause.SIBLING, "Stopped: another seed of its trial failed."),
    "stopped": (Cause.SIBLING, "Stopped: another seed of its trial was stopped by hand."),
}


def epoch_value(record: EpochRecord, objective: str) -> float:
    """An epoch's objective value, reported to the pruner."""
    return record.val_loss if objective == "val_loss" else record.val_metric


def _load_optuna() -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def make_sampler(spec: SweepSpec, asked: int) -> Any:
    """The strategy's sampler, seeded from the sweep's seed and the trial's index, so the same history always
    proposes the same next trial (also after a restart)."""
    optuna = _load_optuna()
    seed = spec.seed * 100_003 + asked
    if spec.strategy == "grid":  # one seed for every trial: the sampler shuffles its grid ids with it
        return optuna.samplers.GridSampler({d.name: list(d.grid()) for d in spec.dims}, seed=spec.seed)
    if spec.strategy == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    startup = max(3, min(10, spec.trials // 3))  # TPE models the space after a few random trials
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, constant_liar=spec.parallel > 1)


def make_pruner(spec: SweepSpec) -> Any:
    """None, median (after a few trials and epochs), or Hyperband over the epochs."""
    optuna = _load_optuna()
    if spec.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2)
    if spec.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(spec.base.epochs or AUTO_EPOCHS, 2))
    return optuna.pruners.NopPruner()


def _repair_journal(path: Path) -> None:
    """Drop a torn last line (a write cut short) and a lock left by a killed driver: this process is the
    sweep's only driver once it has claimed it."""
    Path(f"{path}.lock").unlink(missing_ok=True)
    if path.exists():
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            path.write_bytes(data[: data.rfind(b"\n") + 1])


def open_study(sweeps: SweepStore, rec: SweepRecord, repair: bool = False) -> Any:
    """The sweep's Optuna study, replayed from its journal file."""
    optuna = _load_optuna()
    from optuna.storages.journal import JournalFileBackend

    path = sweeps.journal_path(rec.sweep_id)
    if repair:
        _repair_journal(path)
    storage = optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    return optuna.create_study(
        study_name=rec.sweep_id,
        storage=storage,
        direction=rec.spec.direction,
        pruner=make_pruner(rec.spec),
        load_if_exists=True,
    )


class SweepDriver:
    """Drives one sweep in this process until its budget is spent, or it is paused or stopped."""

    def __init__(
        self,
        manager: JobManager,
        sweep_id: str,
        on_tick: Callable[[], None] | None = None,
        say: Callable[[str], None] | None = None,
    ):
        self.manager, self.store, self.on_tick, self.say = manager, manager.store, on_tick, say
        self.sweeps = SweepStore(self.store)
        self.rec = self.sweeps.get(sweep_id)
        self.sweep_id, self.spec = sweep_id, self.rec.spec
        self.optuna = _load_optuna()
        self.study: Any = None
        self.lock = threading.RLock()  # one Optuna call at a time: the driver's and the observers' threads
        self.distributions = {d.name: d.distribution() for d in self.spec.dims}
        self.placement = self.spec.runs_on  # the Sweep page's "Where to train" (this machine: the manager's executor)
        self.reporters: dict[str, int] = {}  # run id -> trial id, for the run of each trial that feeds the pruner
        self.lane = sweep_lane(sweep_id)  # its trials queue here, `parallel` at a time, apart from other runs
        manager.set_lane(self.lane, self.spec.parallel)

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> SweepRecord:
        """Claim the sweep, reconcile, then launch and settle trials until done; returns the final record."""
        if not self.sweeps.claim(self.sweep_id):
            raise NNLabError(
                f"Sweep {self.sweep_id} is already running in process {self.sweeps.get(self.sweep_id).pid}."
            )
        status, reason = "interrupted", "The sweep's driver failed; resume it."
        beat = Heartbeat(lambda: self.sweeps.heartbeat(self.sweep_id), name=f"sweep-{self.sweep_id}-heartbeat")
        try:
            self.study = open_study(self.sweeps, self.rec, repair=True)
            self._reconcile()
            status, reason = self._loop()
        finally:
            beat.stop()
            self.sweeps.finish_session(self.sweep_id, status, reason)
        return self.sweeps.get(self.sweep_id)

    def _groups(self) -> dict[int, list[RunRecord]]:
        """The trials' own runs by trial number (the confirmation's re-runs left out)."""
        return group_trials(own_runs(self.store.list(sweep_id=self.sweep_id), self.spec))

    def _loop(self) -> tuple[str, str]:
        while True:
            if self.manager.closed:  # its runs end interrupted: their trials stay open, to resume with the sweep
                return "interrupted", SHUTDOWN_REASON
            rec = self.sweeps.get(self.sweep_id)
            groups = self._groups()
            self._settle(groups, hold=rec.request == "stop")
            active = [r for runs in groups.values() for r in runs if self.manager.is_active(r.run_id)]
            confirming = [r for r in confirmation_runs(self.store, rec) if self.manager.is_active(r.run_id)]
            timed_out = bool(self.spec.time_limit) and rec.elapsed >= self.spec.time_limit
            if rec.request == "stop" or timed_out:
                self._stop_runs(active + confirming, timed_out)
                if not active and not confirming:
                    self._settle(self._groups(), hold=not timed_out)
                    if timed_out:
                        return "finished", f"Reached the time limit of {self.spec.time_limit:g} s."
                    return "stopped", "Stopped by the user; resume it to continue."
            elif rec.request == "pause":
                if not active and not confirming:
                    return "paused", "Paused; resume it to start the remaining trials."
            elif self._can_launch(active_trials=len({r.trial for r in active})):
                self._launch()
                continue
            elif not active and self._done() and not self._confirm(rec) and not confirming:
                return "finished", ""
            if self.on_tick is not None:
                self.on_tick()
            time.sleep(TICK_S)

    def _confirm(self, rec: SweepRecord) -> bool:
        """Queue the re-runs that confirm the top trials once the budget is spent; True when it queued some."""
        planned = planned_runs(self.store, rec)
        for number, cfg in planned:
            run_id = self.store.create(cfg, "queued", self.sweep_id, number)
            self.manager.submit(cfg, run_id=run_id, placement=self.placement, lane=self.lane)
        if planned and self.say is not None:
            self.say(f"Confirming the top trials with more seeds: {len(planned)} runs.")
        return bool(planned)

    # -- budget ---------------------------------------------------------------------------------
    def _counts(self) -> tuple[int, int]:
        """(trials launched and counting, trials waiting in Optuna's queue)."""
        trials = self.study.get_trials(deepcopy=False)
        waiting = sum(t.state.name == "WAITING" for t in trials)
        retried = set(self.sweeps.get(self.sweep_id).retried)
        return len(trials) - waiting - len(retried), waiting

    def _can_launch(self, active_trials: int) -> bool:
        if self.manager.closed:
            return False
        with self.lock:
            launched, waiting = self._counts()
        return active_trials < self.spec.parallel and (launched < self.spec.trials or waiting > 0)

    def _done(self) -> bool:
        with self.lock:
            launched, waiting = self._counts()
            running = self.study.get_trials(deepcopy=False, states=(self.optuna.trial.TrialState.RUNNING,))
        return launched >= self.spec.trials and not waiting and not running

    # -- trials ---------------------------------------------------------------------------------
    def _launch(self) -> None:
        """Ask Optuna for the next config and queue its runs (one per seed)."""
        with self.lock:
            self.study.sampler = make_sampler(self.spec, len(self.study.get_trials(deepcopy=False)))
            trial = self.study.ask(self.distributions)
        self._create_runs(trial.number, trial._trial_id, trial.params, [])

    def _create_runs(self, number: int, trial_id: int, params: dict[str, Any], existing: list[RunRecord]) -> None:
        cfg = split_cores(self.spec.base.replace(**params), self.spec)  # trials at once share the cores
        have = {r.config.seed for r in existing}
        for j in range(self.spec.seeds):
            seeded = cfg.replace(seed=cfg.seed + j)
            if seeded.seed in have:
                continue
            problems = validate(seeded)
            run_id = self.store.create(seeded, "failed" if problems else "queued", self.sweep_id, number)
            if problems:
                self.store.update(run_id, cause=Cause.ERROR, reason=problems[0])
                continue
            self._submit(run_id, trial_id, j == 0)

    def _submit(self, run_id: str, trial_id: int, reports: bool, resume: bool = False) -> None:
        if reports:
            self.reporters[run_id] = trial_id
        observer = self.observe if reports else None
        if resume:
            self.manager.resume(run_id, observer, self.placement, lane=self.lane)
        else:
            cfg = self.store.get(run_id).config
            self.manager.submit(cfg, observer, run_id=run_id, placement=self.placement, lane=self.lane)

    def observe(self, run_id: str, record: EpochRecord) -> bool:
        """The JobManager's epoch observer: report the epoch's value to Optuna; True when its pruner says prune."""
        trial_id = self.reporters.get(run_id)
        if trial_id is None:
            return False
        with self.lock:
            trial = self.optuna.trial.Trial(self.study, trial_id)
            trial.report(epoch_value(record, self.spec.objective), record.epoch)
            return self.spec.pruner != "none" and trial.should_prune()

    def _reconcile(self) -> None:
        """After a restart: create runs Optuna proposed but the store lacks, resume interrupted or paused runs."""
        groups = self._groups()
        for r in confirmation_runs(self.store, self.rec):  # confirmation re-runs resume like trials
            if r.status == "interrupted" or (r.status == "stopped" and r.cause == Cause.HELD):
                self.manager.resume(r.run_id, None, self.placement, lane=self.lane)
            elif r.status == "queued" and not self.manager.is_active(r.run_id):
                self.manager.submit(r.config, run_id=r.run_id, placement=self.placement, lane=self.lane)
        running = self.optuna.trial.TrialState.RUNNING
        for t in self.study.get_trials(deepcopy=False, states=(running,)):
            runs = groups.get(t.number, [])
            self._create_runs(t.number, t._trial_id, t.params, runs)
            for r in runs:
                reports = r.config.seed == self.spec.base.seed  # the first seed's run feeds the pruner
                if r.status in ("interrupted", "stopped") and trial_state(runs, self.spec.seeds) == "paused":
                    self._submit(r.run_id, t._trial_id, reports, resume=True)
                elif r.status == "queued" and not self.manager.is_active(r.run_id):
                    self._submit(r.run_id, t._trial_id, reports)
                elif reports:
                    self.reporters[r.run_id] = t._trial_id

    def _settle(self, groups: dict[int, list[RunRecord]], hold: bool) -> None:
        """Tell Optuna about every trial whose runs have all ended; prune or stop the siblings of one that ended.
        With `hold` (the sweep is stopping, or the server), trials whose runs were stopped stay open, to resume later."""
        hold = hold or self.manager.closed
        with self.lock:
            running = self.optuna.trial.TrialState.RUNNING
            open_trials = {t.number: t for t in self.study.get_trials(deepcopy=False, states=(running,))}
        for number, runs in groups.items():
            if number not in open_trials:
                continue
            active = [r for r in runs if self.manager.is_active(r.run_id)]
            if not active:
                runs = [self.store.get(r.run_id) for r in runs]  # read after they left the manager: final
            state = trial_state(runs, self.spec.seeds)
            if state in SIBLINGS and active:
                for r in active:
                    self.manager.stop(r.run_id, *SIBLINGS[state])
            elif not active and (state in ENDED or (state == "paused" and not hold)):
                self._tell(number, state, runs)

    def _tell(self, number: int, state: str, runs: list[RunRecord]) -> None:
        states = self.optuna.trial.TrialState
        if state == "finished":
            values = [run_value(r, self.spec.objective) for r in runs]
            if None not in values:
                self._tell_study(number, sum(values) / len(values))
                return
            state = "failed"
        # Optuna has no "stopped": a trial stopped by hand is a failed one to it (its sampler learns nothing from it)
        self._tell_study(number, state=states.PRUNED if state == "pruned" else states.FAIL)

    def _tell_study(self, number: int, value: float | None = None, state=None) -> None:
        """Tell Optuna a trial's end. The grid sampler calls study.stop() after the last grid point, which
        raises under ask-and-tell (Optuna documents this) once the trial is already stored: the budget ends it."""
        with self.lock:
            try:
                self.study.tell(number, value, state=state)
            except RuntimeError as exc:
                if "Study.stop" not in str(exc):
                    raise

    def _stop_runs(self, active: list[RunRecord], timed_out: bool) -> None:
        for r in active:
            if timed_out:
                self.manager.stop(r.run_id, Cause.TIME_LIMIT, TIME_LIMIT_REASON)
            else:
                self.manager.stop(r.run_id, Cause.HELD, HELD_REASON)


def rerun_failed_trials(store: RunStore, sweep_id: str) -> int:
    """Queue the configs of a stopped sweep's failed trials again as new trials; returns how many."""
    sweeps = SweepStore(store)
    rec = sweeps.get(sweep_id)
    if rec.status == "running":
        raise NNLabError(f"Sweep {sweep_id} is running; pause it before re-running its failed trials.")
    groups = group_trials(own_runs(store.list(sweep_id=sweep_id), rec.spec))
    failed = [n for n, runs in groups.items() if n not in rec.retried and trial_state(runs, rec.spec.seeds) == "failed"]
    study = open_study(sweeps, rec, repair=True)
    for number in failed:
        cfg = groups[number][0].config
        params = {d.name: getattr(cfg, d.name) for d in rec.spec.dims}
        study.enqueue_trial(params, user_attrs={"retry_of": number}, skip_if_exists=False)
    sweeps.add_retried(sweep_id, failed)
    return len(failed)


def start_in_thread(manager: JobManager, sweep_id: str) -> threading.Thread:
    """Drive a sweep in a daemon thread of this process (the dashboard's); at most one driver per sweep."""
    with _DRIVERS_LOCK:
        thread = _DRIVERS.get(sweep_id)
        if thread is not None and thread.is_alive():
            return thread
        thread = threading.Thread(
            target=_drive_quietly, args=(manager, sweep_id), name=f"sweep-{sweep_id}", daemon=True
        )
        _DRIVERS[sweep_id] = thread
        thread.start()
        return thread


_DRIVERS: dict[str, threading.Thread] = {}
_DRIVERS_LOCK = threading.Lock()


def _drive_quietly(manager: JobManager, sweep_id: str) -> None:
    import traceback

    sweeps = SweepStore(manager.store)
    try:
        SweepDriver(manager, sweep_id).run()
    except NNLabError as exc:
        if sweeps.get(sweep_id).status != "running":  # another process drives it: leave its record alone
            sweeps.finish_session(sweep_id, "interrupted", str(exc))
    except Exception as exc:  # the sweep is left interrupted with its reason; the server lives on
        log = sweeps.journal_path(sweep_id).with_suffix(".log")
        log.write_text(traceback.format_exc())
        # the reason shows on the Sweep page, to visitors too: it names the log inside the workspace, not the server's path
        reason = f"The sweep's driver failed with {type(exc).__name__} (details in sweeps/{log.name} in the workspace); resume it."
        sweeps.finish_session(sweep_id, "interrupted", reason)
