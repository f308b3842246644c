"""Seed groups: runs whose configs differ only in the seed (and in where or how fast they ran) form a group."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nnlab.core.config import RunConfig
from nnlab.core.records import RunRecord
from nnlab.core.text import plural

if TYPE_CHECKING:  # pandas (and numpy) load only where a table is built: `nnlab runs` stays light
    import pandas as pd

# fields that do not make a different experiment: the seed, and where or how fast it ran
NOT_IN_GROUP_KEY = ("seed", "threads", "device", "expert", "data_root")
GROUP_PREFIX = "g-"


def group_key(cfg: RunConfig) -> str:
    """The config without its seed (and environment fields), as canonical JSON: equal keys, one group."""
    values = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in NOT_IN_GROUP_KEY}
    return json.dumps(values, sort_keys=True, default=list)


def group_id(cfg: RunConfig) -> str:
    """A short, stable name of cfg's group, like "g-3fa91c0d"."""
    return GROUP_PREFIX + hashlib.sha1(group_key(cfg).encode()).hexdigest()[:8]


def seed_configs(cfg: RunConfig, seeds: int) -> list[RunConfig]:
    """cfg with `seeds` consecutive seeds starting at its own: the members of one group."""
    return [cfg.replace(seed=cfg.seed + k) for k in range(max(1, seeds))]


def next_seed(records: Sequence[RunRecord], cfg: RunConfig) -> RunConfig:
    """cfg with the first seed after every seed its group has used: where K more seeds of it start."""
    gid = group_id(cfg)
    used = [r.config.seed for r in records if group_id(r.config) == gid]
    return cfg.replace(seed=max(used, default=cfg.seed - 1) + 1)


@dataclass(frozen=True)
class Group:
    """The runs of one config under different seeds, oldest first."""

    group_id: str
    runs: tuple[RunRecord, ...]

    @property
    def config(self) -> RunConfig:
        return self.runs[0].config

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(r.config.seed for r in self.runs)

    @property
    def scored(self) -> tuple[RunRecord, ...]:
        """The members that trained to their end with a test score: a seed stopped (or pruned) part way was tested
        on a model cut short, which is no seed's spread."""
        return tuple(r for r in self.runs if r.status == "finished" and r.test_value is not None)


def groups_of(records: Sequence[RunRecord]) -> list[Group]:
    """Every group among the records (singletons included), in the order of each group's newest run."""
    members: dict[str, list[RunRecord]] = {}
    for rec in records:
        members.setdefault(group_id(rec.config), []).append(rec)
    return [Group(gid, tuple(sorted(runs, key=lambda r: (r.created, r.run_id)))) for gid, runs in members.items()]


def find_group(records: Sequence[RunRecord], name: str) -> Group | None:
    """The group called `name` (or a unique prefix of it of at least 4 characters after "g-")."""
    if not name.startswith(GROUP_PREFIX) or len(name) < len(GROUP_PREFIX) + 4:
        return None
    found = [g for g in groups_of(records) if g.group_id.startswith(name)]
    return found[0] if len(found) == 1 else None


def no_such_run(records: Sequence[RunRecord], name: str, instead: str) -> str:
    """Why `name` is no run, in one sentence; a seed group's id (which `runs --groups` lists) is told apart and its
    runs named. instead: what to give, "{group}" standing for the group's id, e.g. "export one of its runs"."""
    group = find_group(records, name)
    if group is None:
        return f"Run {name} is not in the store; `python -m nnlab runs` lists the runs."
    ids = ", ".join(r.run_id for r in group.runs[:3]) + (", …" if len(group.runs) > 3 else "")
    return f"{group.group_id} is a group of {plural(len(group.runs), 'seed')} ({ids}); {instead.format(group=group.group_id)}."


def group_stats(group: Group) -> tuple[float | None, float | None, int]:
    """(mean, standard deviation, count) of the group's test values; sd is None below two scored seeds."""
    values = [r.test_value for r in group.scored]
    if not values:
        return None, None, 0
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None), len(values)


def groups_table(groups: Sequence[Group]) -> pd.DataFrame:
    """One row per group: its newest run's columns of the runs table, the seed count and mean ± sd."""
    from nnlab.analysis.runs_table import runs_table

    rows = runs_table([g.runs[-1] for g in groups]).reset_index(drop=True)
    stats = [group_stats(g) for g in groups]
    rows.insert(0, "group", [g.group_id for g in groups])
    rows.insert(1, "seeds", [len(g.runs) for g in groups])
    rows["status"] = [_statuses(g) for g in groups]
    rows["test_value"] = [s[0] for s in stats]
    rows.insert(rows.columns.get_loc("test_value") + 1, "test_sd", [s[1] for s in stats])
    rows["mean ± sd"] = [_mean_sd(s) for s in stats]
    return rows.drop(columns=["run", "name", "note", "epochs", "best_val_metric", "seconds"]).set_index(
        "group", drop=False
    )


def _statuses(group: Group) -> str:
    counts: dict[str, int] = {}
    for r in group.runs:
        counts[r.status] = counts.get(r.status, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in counts.items())


def _mean_sd(s: tuple[float | None, float | None, int]) -> str:
    mean, sd, n = s
    if mean is None:
        return "–"
    return f"{mean:.4f} ± {sd:.4f} (n={n})" if sd is not None else f"{mean:.4f} (n=1)"


def group_hyperparameter_frame(groups: Sequence[Group]) -> pd.DataFrame:
    """Config fields that vary across groups plus each group's mean test value: one line per group."""
    from nnlab.analysis.runs_table import hyperparameter_frame

    scored = [g for g in groups if g.scored]
    df = hyperparameter_frame([g.scored[0] for g in scored])
    if df.empty:
        return df
    df = df.drop(columns=[c for c in NOT_IN_GROUP_KEY if c in df.columns])
    df.index = [g.group_id for g in scored]
    df["test_value"] = [group_stats(g)[0] for g in scored]
    return df
