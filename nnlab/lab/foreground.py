"""Training in the caller's process, for the command line: a run placed here trains in this thread (with the
caller's listeners, a progress bar), a run placed on Ray trains there while its epochs are followed from the
store; either way Ctrl-C (interrupt()) stops it at a batch boundary, and a resume goes back to where the run
was placed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from nnlab.core.arithmetic import KEY, Arithmetic, recorded
from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.naming import clean
from nnlab.core.placement import Placement
from nnlab.core.records import ACTIVE, RESUMABLE, EpochRecord, RunRecord
from nnlab.lab.runs import RunActions, start_facts

if TYPE_CHECKING:
    from nnlab.data.base import Dataset
    from nnlab.engine.runner import StopFlag
    from nnlab.engine.train import Callback
    from nnlab.jobs.manager import JobManager
    from nnlab.store.runs import RunStore

# an epoch as it reaches the store: the record, the epochs the run trains at most, whether it improved
EpochShown = Callable[[EpochRecord, int, bool], None]
POLL_S = 0.3


class ForegroundActions(RunActions):
    """Mixed into Lab: train runs (or resume one) in the foreground and return their ended records. `say` gets
    the sentences a person following along wants (where the run went, why it waits)."""

    store: RunStore
    jobs: JobManager
    _here: StopFlag | None = None  # the flag of the run training in this thread
    _followed: str | None = None  # the run trained elsewhere and followed here

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
        """Train cfg (K seeds of it, one after another: a group) to the end; a stopped run ends the group. data: cfg's
        dataset, already read and checked (the command line reads it before a run exists), for the first run here.
        A run over its memory budget (memory_budget_mb: the local operator's, raised for these runs) is refused in
        one sentence before anything of its model is allocated, and before any run is recorded."""
        configs = self.prepare(cfg, seeds)
        self.check_space()
        refused = self.memory_problem(cfg, data.info if data is not None else None, memory_budget_mb)
        if refused:
            raise NNLabError(refused)
        name, note = clean(name, note)
        facts = start_facts(memory_budget_mb, None)
        records = []
        for member in configs:  # the first seed's record plans the next ones' arithmetic (create_run)
            run_id = self.create_run(member, name, note, facts, self._threads_now(member))
            given = data if member.split_by == cfg.split_by else None  # a split drawn by the seed: its own load
            rec = self._train_one(run_id, placement, listeners, on_epoch, say, resume=False, data=given)
            records.append(rec)
            if on_run is not None:
                on_run(rec)
            if rec.status == "stopped":
                break
        return records

    def resume_here(
        self,
        run_id: str,
        listeners: tuple[Callback, ...] = (),
        on_epoch: EpochShown | None = None,
        say: Callable[[str], None] = lambda text: None,
    ) -> RunRecord:
        """Continue a run from its last checkpoint where it was placed (here, or its Ray cluster); returns what
        resuming does (from which epoch, or why not from the last one) through `say`, and the ended record."""
        rec = self.store.get(run_id)
        if rec.status not in RESUMABLE:
            raise NNLabError(f"Run {run_id} is {rec.status}; only interrupted, stopped or failed runs can be resumed.")
        placement = self.jobs.ray.previous(run_id)
        say(self.store.folder(run_id).resume_point(rec.epochs_done))
        if placement is not None:
            say(f"Run {run_id} trained on {placement.where}; it resumes there.")
        self.store.update(run_id, status="queued", reason="")
        return self._train_one(run_id, placement, listeners, on_epoch, say, resume=True)

    def interrupt(self) -> None:
        """Ctrl-C: stop the run training in the foreground at its next batch (it ends stopped, resumable)."""
        if self._here is not None:
            self._here.request()
        elif self._followed is not None:
            self.jobs.stop(self._followed)

    def _train_one(
        self,
        run_id: str,
        placement: Placement | None,
        listeners: tuple[Callback, ...],
        on_epoch: EpochShown | None,
        say: Callable[[str], None],
        resume: bool,
        data: Dataset | None = None,
    ) -> RunRecord:
        if placement is not None and placement.is_ray:
            rec = self._follow(run_id, placement, on_epoch, say, resume)
        else:
            rec = self._here_and_now(run_id, listeners, resume, data)
        if rec.reason and rec.status != "finished":
            say(rec.reason)
        return rec

    @staticmethod
    def _threads_now(cfg: RunConfig) -> Arithmetic | None:
        """A new run's threads on the command line: --threads, or no more than the CPUs idle now (a plan: the
        run records them, and a resume or another seed of its group uses them whatever the load then)."""
        if cfg.threads:
            return None
        from nnlab.engine.threads import threads_for_idle_cpus

        return Arithmetic(threads=threads_for_idle_cpus())

    def _here_and_now(
        self, run_id: str, listeners: tuple[Callback, ...], resume: bool, data: Dataset | None = None
    ) -> RunRecord:
        import torch

        from nnlab.engine.runner import StopFlag, execute

        self.store.claim_queued(run_id)
        self._here = StopFlag()
        before = torch.get_num_threads()
        rec = self.store.get(run_id)
        if recorded(rec.summary) is None and (plan := self._threads_now(rec.config)) is not None:
            self.store.update(run_id, summary={**rec.summary, KEY: plan.to_dict()})  # a run made before the record
        try:
            return execute(self.store, run_id, self._here, listeners, resume=resume, data=data, own_process=True)
        finally:
            self._here = None
            torch.set_num_threads(before)

    def _follow(
        self, run_id: str, placement: Placement, on_epoch: EpochShown | None, say: Callable[[str], None], resume: bool
    ) -> RunRecord:
        """Hand the queued run to its cluster and pass each epoch to on_epoch as it reaches the store (with the
        epochs the run trains at most, as fitted to its data when given as 0)."""
        cfg = self.store.get(run_id).config
        if resume:
            self.jobs.resume(run_id, executor=placement)
        else:
            self.jobs.submit(cfg, run_id=run_id, executor=placement)
        say(f"run {run_id} submitted to {placement.where}")
        self._followed = run_id
        shown, best, said = 0, float("inf"), ""
        try:
            while True:
                rec = self.store.get(run_id)
                if rec.status == "queued" and rec.reason and rec.reason != said:  # why it waits (cluster resources)
                    said = rec.reason
                    say(said)
                records = self.store.metrics(run_id, after_epoch=shown)
                planned = self.store.get(run_id).epochs_planned if records else 0  # after its epochs: fitted
                for r in records:
                    improved, best = r.val_loss < best - cfg.min_delta, min(best, r.val_loss)
                    if on_epoch is not None:
                        on_epoch(r, planned, improved)
                    shown = r.epoch
                if rec.status not in ACTIVE and not self.jobs.is_active(run_id):
                    return self.store.get(run_id)
                time.sleep(POLL_S)
        finally:
            self._followed = None
