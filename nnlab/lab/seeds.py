"""More seeds of configs already trained: what a comparison with one seed on a side offers, so that its seed-noise
floor can be measured. Each config gets the seeds after those its group has used; the pre-flight estimate says
what they cost before they start."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nnlab.analysis.groups import next_seed
from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.records import RunRecord
from nnlab.lab.foreground import ForegroundActions
from nnlab.lab.runs import check_seeds

if TYPE_CHECKING:
    from nnlab.engine.preflight import Estimate

MORE_SEEDS = 2  # what a comparison with one seed on a side offers


@dataclass(frozen=True)
class MoreSeeds:
    """K more seeds of each config (its first new seed in `configs`) and what they cost, one after another."""

    configs: tuple[RunConfig, ...]
    seeds: int
    seconds: float | None = None  # the pre-flight estimate of all of them; None where not measured

    @property
    def runs(self) -> int:
        return len(self.configs) * self.seeds


def seconds_of(estimates: Sequence[Estimate | None], seeds: int) -> float | None:
    """The time of `seeds` runs of each estimated config, one after another (None where one is not measured)."""
    totals = [e.seconds_total if e is not None else None for e in estimates]
    return None if any(t is None for t in totals) else seeds * float(sum(totals))  # type: ignore[arg-type]


def estimate_or_none(cfg: RunConfig) -> Estimate | None:
    """The pre-flight estimate of one run of cfg here; None where it cannot be measured (it says why elsewhere)."""
    from nnlab.engine.preflight import estimate

    try:
        return estimate(cfg)
    except NNLabError:  # too slow to time within the budget, or data that cannot load now
        return None


class SeedActions(ForegroundActions):
    """Mixed into Lab: K more seeds of configs already trained, queued or trained in the foreground."""

    def plan_more_seeds(
        self, configs: Sequence[RunConfig], seeds: int = MORE_SEEDS, measure: bool = False
    ) -> MoreSeeds:
        """The seeds to add to each config's group (checked), and with measure=True their pre-flight time."""
        check_seeds(seeds)
        records = self.store.list()
        firsts = tuple(self.prepare(next_seed(records, c), seeds)[0] for c in configs)
        if not measure:
            return MoreSeeds(firsts, seeds)
        return MoreSeeds(firsts, seeds, seconds_of([estimate_or_none(c) for c in firsts], seeds))

    def start_more_seeds(self, plan: MoreSeeds) -> list[str]:
        """Queue the planned seeds in the background (the dashboard); returns their run ids, config by config."""
        return [run_id for cfg in plan.configs for run_id in self.start(cfg, plan.seeds).run_ids]

    def train_more_seeds(
        self, plan: MoreSeeds, on_run: Callable[[RunRecord], None] | None = None
    ) -> list[list[RunRecord]]:
        """Train the planned seeds here, one after another (the command line); the records, config by config."""
        return [self.train(cfg, plan.seeds, on_run=on_run) for cfg in plan.configs]
