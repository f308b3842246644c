"""Run actions: start (one config, K seeds, a placement, a name and a note), resume, stop, delete, rename."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nnlab.analysis.groups import group_id, seed_configs
from nnlab.analysis.naming import default_name
from nnlab.core.arithmetic import KEY, Arithmetic, recorded
from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.forecast import FORECAST_KEY, Forecast
from nnlab.core.limits import BUDGET_KEY, MAX_SEEDS, run_memory_budget
from nnlab.core.naming import clean
from nnlab.core.placement import Placement
from nnlab.core.text import plural

if TYPE_CHECKING:
    from nnlab.core.facts import DataFacts
    from nnlab.core.records import RunRecord
    from nnlab.jobs.manager import JobManager
    from nnlab.store.runs import RunStore


@dataclass(frozen=True)
class Started:
    """What a start did: the runs it queued (the first one's live view is the one to show) and a sentence."""

    run_ids: tuple[str, ...]
    message: str
    place: int = 0  # where the first run waits in line (1: next), 0 when it started at once or went to Ray

    @property
    def run_id(self) -> str:
        return self.run_ids[0]


def start_facts(memory_budget_mb: float | None, forecast: Forecast | None) -> dict[str, Any]:
    """What a run's summary keeps from its start: a raised memory budget, the pre-flight measured before it."""
    facts: dict[str, Any] = {BUDGET_KEY: float(memory_budget_mb)} if memory_budget_mb else {}
    return facts | ({FORECAST_KEY: forecast.to_json()} if forecast is not None else {})


def check_seeds(seeds: int) -> int:
    """The one bound on seeds, for every front end: 1 to MAX_SEEDS."""
    if not 1 <= seeds <= MAX_SEEDS:
        raise NNLabError(f"--seeds must be from 1 to {MAX_SEEDS} (got {seeds}): each seed is a whole run.")
    return seeds


class RunActions:
    """Mixed into Lab: the actions on single runs and seed groups."""

    store: RunStore
    jobs: JobManager
    _jobs: JobManager | None

    def prepare(self, cfg: RunConfig, seeds: int = 1) -> list[RunConfig]:
        """The configs a start would queue (one per seed), checked; ConfigError or NNLabError says why not.
        Nothing is recorded: a refused start leaves no run behind."""
        from nnlab.data.registry import check  # the registries import torch; listing runs does not

        check(cfg)
        return seed_configs(cfg, check_seeds(seeds))

    def memory_problem(
        self, cfg: RunConfig, facts: DataFacts | None = None, override_mb: float | None = None
    ) -> str | None:
        """Why cfg cannot start within the run memory budget (one sentence), or None: counted on the meta device
        from the data's facts (given, or the data loaded now), so nothing of the model is allocated to find out.
        override_mb: the local operator's budget for this run (never a password visitor's)."""
        from nnlab.data import load_dataset
        from nnlab.engine.memory import memory_problem

        return memory_problem(cfg, facts or load_dataset(cfg).facts, run_memory_budget(override_mb))

    def start(
        self,
        cfg: RunConfig,
        seeds: int = 1,
        placement: Placement | None = None,
        name: str = "",
        note: str = "",
        memory_budget_mb: float | None = None,
        forecast: Forecast | None = None,
        visitor: str = "",
        data_facts: DataFacts | None = None,
    ) -> Started:
        """Queue cfg (K seeds of it: one group) to train in the background, here or where `placement` says; a
        raised memory budget (the local operator's) and the pre-flight measured before Start stay with each run.
        Refused in one sentence, before any run exists, when the workspace is at its disk quota or (visitor: one
        visitor of a shared dashboard) the visitor's seeds or runs at once would pass their bounds, or over the run
        memory budget (counted from data_facts, the facts of the data the caller has at hand, else the data loaded
        now), as `train` refuses it."""
        configs = self.prepare(cfg, seeds)
        self.check_space()
        self.check_visitor(visitor, seeds)
        refused = self.memory_problem(cfg, data_facts, memory_budget_mb)
        if refused:
            raise NNLabError(refused)
        name, note = clean(name, note)
        facts = start_facts(memory_budget_mb, forecast)
        ids = tuple(self._queue(c, placement, name, note, facts) for c in configs)
        self.count_visitor(visitor, ids)
        return Started(ids, self.start_message(cfg, ids, placement), self.queue_place(ids[0]))

    def create_run(
        self,
        cfg: RunConfig,
        name: str = "",
        note: str = "",
        facts: dict[str, Any] | None = None,
        plan: Arithmetic | None = None,
    ) -> str:
        """A queued run, with what its start knows of it in its summary: the facts, and the arithmetic it is to
        train with: that of the seeds of its group that trained before it, or `plan` where none did."""
        run_id = self.store.create(cfg, name=name, note=note)
        plan = self.group_arithmetic(cfg) or plan
        summary = (facts or {}) | ({KEY: plan.to_dict()} if plan is not None else {})
        if summary:
            self.store.update(run_id, summary=summary)
        return run_id

    def _queue(self, cfg: RunConfig, placement: Placement | None, name: str, note: str, facts: dict[str, Any]) -> str:
        run_id = self.create_run(cfg, name, note, facts)
        try:
            self.jobs.submit(cfg, run_id=run_id, placement=placement)
        except NNLabError:
            self.store.delete(run_id)  # refused on submit (bf16 on this machine): no run is left behind
            raise
        return run_id

    def group_arithmetic(self, cfg: RunConfig) -> Arithmetic | None:
        """What the oldest seed of cfg's group that started trained with (threads, device, precision), so a new
        seed computes as its siblings did; None when cfg pins its threads or no seed has started."""
        if cfg.threads:
            return None
        gid = group_id(cfg)
        for rec in reversed(self.store.list()):  # oldest first
            used = recorded(rec.summary)
            if used is not None and used.device and group_id(rec.config) == gid:
                return used
        return None

    def start_message(self, cfg: RunConfig, ids: tuple[str, ...], placement: Placement | None) -> str:
        """'Run … started: MLP on wine.csv.', or where it waits in line, or the group it starts (plain text)."""
        where = f" on {placement.where}" if placement and not placement.is_local else ""
        title = default_name(cfg)
        if len(ids) > 1:
            return (
                f"{len(ids)} runs queued{where}: {title} with seeds {cfg.seed} to {cfg.seed + len(ids) - 1}, "
                f"group {group_id(cfg)}; this is the first (Compare shows their mean with a band)."
            )
        place = self.queue_place(ids[0])
        if place:
            return f"Run {ids[0]} is queued: number {place} in line; it starts when the runs ahead of it end."
        return f"Run {ids[0]} started{where}: {title}."

    def queue_place(self, run_id: str) -> int:
        """1 for the next run to start once one ends, 2 for the one after, ...; 0 when the run is not waiting
        here or starts now (its lane has room: right after Start, before a worker has taken it)."""
        return self.jobs.place(run_id)

    def resume(self, run_id: str) -> str:
        """Queue an interrupted, stopped or failed run to continue from its last checkpoint, where it was placed;
        returns what resuming does (from which epoch, and why when that is before the last recorded one)."""
        return self.jobs.resume(run_id)

    def resume_all(self) -> list[str]:
        """Queue every interrupted run (not a sweep's trial: its sweep resumes it), oldest first."""
        return self.jobs.resume_all()

    def stop(self, run_id: str) -> str:
        """Stop a queued run at once or a running one at its next batch; says what happened."""
        return self.jobs.stop(run_id)

    def stop_all(self) -> int:
        """Empty the queue and stop every running run at its next batch; returns how many."""
        return self.jobs.stop_all()

    def deletable(self, run_ids: list[str]) -> list[RunRecord]:
        """The runs a delete of run_ids would remove (not queued or running); NNLabError when one is not in the
        store, or when every one of them is queued or running: nothing would be deleted."""
        records = [self.store.get(run_id) for run_id in dict.fromkeys(run_ids)]  # unknown ids refused first
        gone = [r for r in records if not self._active(r)]
        if records and not gone:
            busy = [f"{r.run_id} is {r.status}" for r in records]
            them = "it" if len(records) == 1 else "them"
            raise NNLabError(f"Run {', run '.join(busy)}; stop {them} before deleting {them} (nothing was deleted).")
        return gone

    def _active(self, rec: RunRecord) -> bool:
        """Queued or running, here or in another process (a job manager is asked only when this lab has one)."""
        return rec.active or (self._jobs is not None and self._jobs.is_active(rec.run_id))

    def delete(self, run_ids: list[str]) -> str:
        """Delete runs that are not queued or running, with their files; says how many (and which were kept).
        Nothing is deleted when a run id is unknown or every run is queued or running (NNLabError says why)."""
        gone = self.deletable(run_ids)
        kept = [run_id for run_id in dict.fromkeys(run_ids) if run_id not in {r.run_id for r in gone}]
        for rec in gone:
            self.store.delete(rec.run_id)
        left = f"; {plural(len(kept), 'queued or running run')} left alone (stop {'it' if len(kept) == 1 else 'them'} first: {', '.join(kept)})"
        return f"Deleted {plural(len(gone), 'run')}{left if kept else ''}."

    def rename(self, run_id: str, name: str | None, note: str | None) -> str:
        """Keep a typed name (the default name typed back means none) and note, None keeping what the run has;
        says so."""
        rec = self.store.get(run_id)
        name, note = clean(rec.name if name is None else name, rec.note if note is None else note)
        self.store.rename(run_id, "" if name == default_name(rec.config) else name, note)
        return f"Saved the name and note of run {run_id}."
