"""A group's score is over the seeds that trained to their end: a seed stopped part way (Ctrl-C in `train --seeds`,
Stop on its live view) has a test score of a model cut short, which is no seed's spread."""

from __future__ import annotations

import pytest

from nnlab.analysis.groups import group_id, group_stats, groups_of, groups_table, seed_configs
from nnlab.analysis.sides import resolve
from nnlab.cli.main import main
from nnlab.core.causes import Cause
from nnlab.core.records import Outcome
from nnlab.data.registry import make_config
from nnlab.engine.runner import execute
from nnlab.store.runs import RunStore
from tests.helpers import tiny_config


def _group(store: RunStore) -> list[str]:
    """Seeds 0 and 1 finished (0.95, 0.96), seed 2 stopped by the user in its epoch 6 (0.80)."""
    cfg = make_config("mlp", dataset="digits", epochs=40)
    ends = [("finished", Cause.NONE, 0.95), ("finished", Cause.NONE, 0.96), ("stopped", Cause.USER, 0.80)]
    ids = []
    for seed, (status, cause, value) in enumerate(ends):
        run_id = store.create(cfg.replace(seed=seed))
        store.set_outcome(run_id, Outcome(status, cause, "", "accuracy", value))
        ids.append(run_id)
    return ids


def test_a_seed_stopped_part_way_is_left_out_of_its_groups_mean_and_sd(store):
    _group(store)
    [group] = groups_of(store.list())
    mean, sd, n = group_stats(group)
    assert n == 2 and round(mean, 4) == 0.955 and round(sd, 4) == 0.0071  # not 0.9033 ± 0.0874 over three
    row = groups_table([group]).iloc[0]
    assert row["status"] == "2 finished, 1 stopped" and row["mean ± sd"] == "0.9550 ± 0.0071 (n=2)"


def test_runs_groups_says_which_seeds_its_score_is_over(store, capsys):
    _group(store)
    assert main(["runs", "--groups", "--store", str(store.root)]) == 0
    line = capsys.readouterr().out
    assert "3 runs (seeds 0, 1, 2), test accuracy 0.9550 ± 0.0071 (mean ± sd over the 2 finished seeds)" in line


@pytest.mark.slow
def test_a_comparison_of_groups_leaves_a_stopped_seed_out(store):
    base = tiny_config("mlp", epochs=2)
    ids = []
    for cfg in seed_configs(base, 3):
        run_id = store.create(cfg)
        store.claim_queued(run_id)
        assert execute(store, run_id).status == "finished"
        ids.append(run_id)
    store.update(ids[2], status="stopped", cause=Cause.USER)  # as if stopped in its last epoch: tested, cut short
    side = resolve(store, group_id(base))
    assert side.is_group and [m.record.run_id for m in side.members] == ids[:2]
