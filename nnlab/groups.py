"""Seed groups: runs whose configs differ only in the seed (and in where or how fast they ran) form a group."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from nnlab.config import RunConfig
from nnlab.records import RunRecord

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
        """The members with a test score."""
        return tuple(r for r in self.runs if r.test_value is not None)


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
