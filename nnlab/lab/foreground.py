"""Training in the caller's process, for the command line: each run goes to the executor of its placement through
the job manager (here: a thread of this process, which calls the caller's listeners, a progress bar; or a Ray
cluster), and the caller follows it until it ends, each epoch passed to `on_epoch` as it is recorded. Ctrl-C
(interrupt()) stops it at a batch boundary; a resume goes back to where the run was placed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from nnlab.core.arithmetic import KEY, Arithmetic, recorded
from nnlab.core.causes import Cause
from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.naming import clean
from nnlab.core.placement import Placement
from nnlab.core.records import RESUMABLE, EpochRecord, RunRecord, best_loss, improves
from nnlab.jobs.executor import EpochObserver, InProcess
from nnlab.lab.runs import RunActions, start_facts

if TYPE_CHECKING:
    from nnlab.data.base import Dataset
    from nnlab.engine.train import Callback
    from nnlab.jobs.manager import JobManager
    from nnlab.store.runs import RunStore

# an epoch as it reaches the store: the record, the epochs the run trains at most, whether it improved
EpochShown = Callable[[EpochRecord, int, bool], None]
POLL_S = 0.1


class ForegroundActions(RunActions):
    """Mixed into Lab: train runs (or resume one) in the foreground and return their ended records. `say` gets
    the sentences a person following along wants (where the run went, why it waits, how it ended)."""

    store: RunStore
    jobs: JobManager
    _followed: str | None = None  # the run followed in the foreground

    def train(
        self,
        cfg: RunConfig,
        seeds: int = 1,
        placement: Placement | None = None,
        name: str = "",
        note: str = "",
        listeners: tuple[Callback, ...] = (),
        on_epoch: EpochShown | None = None,
        on_run: Callable[[RunRecord], None] | None = None,
        say: Callable[[str], None] = lambda text: None,
        data: Dataset | None = None,
        memory_budget_mb: float | None = None,
    ) -> list[RunRecord]:
        """Train cfg (K seeds of it, one after another: a group) to the end; a stopped or interrupted run ends the
        group. data: cfg's dataset, already read and checked (the command line reads it before a run exists), for
        the first run where it trains in this process. A run over its memory budget (memory_budget_mb: the local
        operator's, raised for these runs) is refused in one sentence before anything of its model is allocated,
        and before any run is recorded."""
        configs = self.prepare(cfg, seeds)
        self.check_space()
        refused = self.memory_problem(cfg, data.facts if data is not None else None, memory_budget_mb)
        if refused:
            raise NNLabError(refused)
        name, note = clean(name, note)
        facts = start_facts(memory_budget_mb, None)
        records = []
        for member in configs:  # the first seed's record plans the next ones' arithmetic (create_run)
            run_id = self.create_run(member, name, note, facts, self._threads_now(member))
            given = data if member.split_by == cfg.split_by else None  # a split drawn by the seed: its own load
            here = InProcess(listeners, given, sole=True)
            self.jobs.submit(member, self._shown(on_epoch), run_id, placement, in_process=here)
            if placement is not None and not placement.is_local:
                say(f"run {run_id} submitted to {placement.where}")
            rec = self._follow(run_id, say)
            records.append(rec)
            if on_run is not None:
                on_run(rec)
            if rec.status in ("stopped", "interrupted"):  # Ctrl-C or SIGTERM ends the group
                break
        return records

    def resume_here(
        self,
        run_id: str,
        listeners: tuple[Callback, ...] = (),
        on_epoch: EpochShown | None = None,
        say: Callable[[str], None] = lambda text: None,
    ) -> RunRecord:
        """Continue a run from its last checkpoint where it was placed (here, or its Ray cluster; or here, saying why,
        when that cannot take it now); says from which epoch through `say`, and returns the ended record."""
        rec = self.store.get(run_id)
        plan = self._threads_now(rec.config)
        if rec.status in RESUMABLE and rec.placement.is_local and recorded(rec.summary) is None and plan is not None:
            self.store.update(run_id, summary={**rec.summary, KEY: plan.to_dict()})  # a run made before the record
        say(self.jobs.resume(run_id, self._shown(on_epoch), in_process=InProcess(listeners, sole=True)))
        return self._follow(run_id, say)

    @staticmethod
    def _threads_now(cfg: RunConfig) -> Arithmetic | None:
        """A new run's threads on the command line: --threads, or no more than the CPUs idle now (a plan: the
        run records them, and a resume or another seed of its group uses them whatever the load then)."""
        if cfg.threads:
            return None
        from nnlab.engine.threads import threads_for_idle_cpus

        return Arithmetic(threads=threads_for_idle_cpus())

    def interrupt(self, cause: Cause = Cause.USER) -> None:
        """Ctrl-C (the user) or SIGTERM (a shutdown): stop the run followed in the foreground at its next batch; it
        ends stopped or interrupted, resumable either way."""
        if self._followed is not None:
            self.jobs.stop(self._followed, cause)

    def _follow(self, run_id: str, say: Callable[[str], None]) -> RunRecord:
        """Wait for the run to end, saying why it waits (a cluster's resources) and, unless it finished, how it ended."""
        self._followed, said = run_id, set()
        try:
            while self.jobs.is_active(run_id):
                rec = self.store.get(run_id)
                if rec.status == "queued" and rec.reason and rec.reason not in said:  # each sentence once
                    said.add(rec.reason)
                    say(rec.reason)
                time.sleep(POLL_S)
        finally:
            self._followed = None
        rec = self.store.get(run_id)
        if rec.reason and rec.status != "finished":
            say(rec.reason)
        return rec

    def _shown(self, on_epoch: EpochShown | None) -> EpochObserver | None:
        """An epoch observer that passes each epoch to on_epoch, with the epochs the run trains at most (as fitted
        to its data when given as 0) and whether it is a new best as the trainer counts it (a resumed run's best
        so far included); it never prunes."""
        if on_epoch is None:
            return None
        best: list[float] = []  # the best validation loss before the epoch observed, once read

        def observe(run_id: str, record: EpochRecord) -> bool:
            rec = self.store.get(run_id)
            if not best:  # the epochs before the first observed one: a resumed run's, or none
                earlier = [m for m in self.store.metrics(run_id) if m.epoch < record.epoch]
                best.append(best_loss(earlier, rec.config.min_delta))
            improved = improves(record.val_loss, best[0], rec.config.min_delta)
            best[0] = record.val_loss if improved else best[0]
            on_epoch(record, rec.epochs_planned, improved)
            return False

        return observe
