"""A sweep's finish guards against the winner's curse: its top trials re-run with more seeds, and a headline that
says whether the winner is really ahead or tied within seed noise."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from nnlab.cli.main import main
from nnlab.store.runs import RunStore
from nnlab.sweeps.confirm import Confirmed, _scored, headline, ranked_trials
from nnlab.sweeps.store import SweepStore
from nnlab.sweeps.trials import is_confirmation
from tests.helpers import app_at, visible


def _trial(number: int, mean: float, **kw) -> Confirmed:
    defaults = {"run_ids": ("r1", "r2", "r3"), "seeds": (0, 1, 2), "interval": (mean - 0.01, mean + 0.01)}
    return Confirmed(number, mean=mean, **(defaults | {"sd": 0.004, "seconds_per_epoch": 1.0} | kw))


def _epochs(median: float) -> tuple[float, ...]:
    return tuple(median * f for f in (0.97, 1.0, 1.03, 0.99, 1.01, 1.02, 0.98))


def test_the_headline_names_the_best_and_what_it_beats_or_the_tie_and_which_is_faster():
    best = _trial(17, 0.981, best=True, seconds_per_epoch=2.3, epoch_seconds=_epochs(2.3))
    behind = _trial(9, 0.975, diff=-0.006, p_value=0.01)
    assert headline("accuracy", (best, behind)) == (
        "Best: trial 17, 0.981 ± 0.004 over 3 seeds, better than trial 9 by 0.006 (p = 0.010)."
    )
    tied = _trial(9, 0.979, tied_with_best=True, diff=-0.002, p_value=0.4, epoch_seconds=_epochs(1.0))
    assert (
        headline("accuracy", (best, tied)) == "Tie between 17 and 9 within seed noise: 9 is 2.3 times faster per epoch."
    )
    third = _trial(4, 0.978, tied_with_best=True, seconds_per_epoch=1.15, epoch_seconds=_epochs(1.15))
    assert headline("accuracy", (best, tied, third)).startswith("Tie between 17, 9 and 4 within seed noise: 9 is 2.3")


def _confirmed(trial: int, epochs: list[list[float]], **kw) -> Confirmed:
    """A confirmed trial from stand-ins of its runs (one a seed) and their epochs' seconds, as the store has them."""
    from types import SimpleNamespace as Rec

    runs = [
        Rec(run_id=f"t{trial}s{i}", config=Rec(seed=i), test_value=0.95, seconds=sum(e), epochs_done=len(e),
            test_metric=None)
        for i, e in enumerate(epochs)
    ]  # fmt: skip
    records = {r.run_id: [Rec(seconds=t) for t in e] for r, e in zip(runs, epochs, strict=True)}
    return replace(_scored(trial, runs, records).trial, **kw)


def test_a_tie_names_a_faster_trial_only_where_its_epochs_are_faster_beyond_a_busy_machine():
    # seen: two series LSTMs alike but for lr (window 16 both) on a busy machine: "2 is 1.8 times faster per
    # epoch", from each run's seconds over its epochs; these are their epochs as the store held them
    two = _confirmed(2, [[2.341, 1.794, 2.05, 0.904], [2.208, 0.636, 0.968, 1.539]], best=True)
    four = _confirmed(4, [[5.663, 2.286, 1.677, 1.416], [3.038, 1.603, 2.016, 4.27]], tied_with_best=True)
    assert headline("rmse", (two, four)).endswith("within seed noise: they train about as fast per epoch.")
    # a process's first run carries its start-up in its first epoch; that epoch does not count
    first = _confirmed(0, [[0.2, 0.0068, 0.007, 0.0069], [0.007, 0.0071, 0.0069, 0.0072]], best=True)
    wide = _confirmed(2, [[0.021, 0.0205, 0.022, 0.0215], [0.02, 0.021, 0.022, 0.0212]], tied_with_best=True)
    assert first.seconds_per_epoch == pytest.approx(0.00695)  # the median epoch, the start-up left out
    assert headline("accuracy", (first, wide)).endswith(": 0 is 3.1 times faster per epoch.")


def test_trials_that_confirm_to_the_same_score_keep_the_sweeps_order():
    # seen: an LSTM sweep whose best_run_id was trial 3's run confirmed trials 2 and 3 at 1.000 each and marked
    # trial 2 "best" ("Tie between 2 and 3"), by its smaller number
    two, three, one = _trial(2, 1.0), _trial(3, 1.0), _trial(1, 0.99)
    assert [t.trial for t in ranked_trials("accuracy", [one, two, three], [3, 2, 1])] == [3, 2, 1]
    assert [t.trial for t in ranked_trials("rmse", [one, two, three], [3, 2, 1])] == [1, 3, 2]  # lower is better


@pytest.mark.slow
def test_must_show_a_sweep_ends_with_its_top_three_confirmed_over_seeds_and_a_headline_naming_the_tie(
    workspace, capsys
):
    store = ["--store", str(workspace)]
    args = ["sweep", "--arch", "mlp", "--dataset", "digits", "--hidden-sizes", "32", "--epochs", "3", "--threads", "1"]
    args += ["--strategy", "grid", "--vary", "lr=0.001,0.0001", "--vary", "min_delta=0.001,0.002", "--json"]
    assert main([*args, *store]) == 0  # min_delta decides nothing in 3 epochs: each learning rate has a twin
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["status"] == "finished" and out["trials"] == 4 and out["finished"] == 4  # its own trials only
    confirmed = out["confirmed"]
    assert len(confirmed) == 3 and confirmed[0]["best"] and out["headline"].startswith("Tie between")
    runs = RunStore(workspace)
    rec = SweepStore(runs).get(out["sweep_id"])
    for c in confirmed:
        assert sorted(c["seeds"]) == [0, 1, 2] and len(c["run_ids"]) == 3
        assert c["interval"][0] <= c["mean"] <= c["interval"][1] and isinstance(c["tied_with_best"], bool)
        members = [runs.get(r) for r in c["run_ids"]]
        assert {m.sweep_id for m in members} == {rec.sweep_id} and {m.trial for m in members} == {c["trial"]}
        assert sorted(is_confirmation(m, rec.spec) for m in members) == [False, True, True]
    lrs = [runs.get(c["run_ids"][0]).config.lr for c in confirmed]
    assert lrs == [0.001, 0.001, 0.0001]  # the best, its twin, and one of the slow learners
    assert [c["tied_with_best"] for c in confirmed[1:]] == [True, False]
    best = confirmed[0]["trial"]
    assert main(["sweep", "confirm", rec.sweep_id, "--confirm-top", "1", "--confirm-seeds", "3", "--json", *store]) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    mine = next(c for c in again["confirmed"] if c["trial"] == best)
    assert sorted(mine["seeds"]) == [0, 1, 2, 3] and again["trials"] == 4
    page = app_at("pages/5_Sweep.py")  # the Sweep page says the same
    page.query_params["sweep"] = rec.sweep_id
    page.run()
    assert not page.exception and any(again["headline"] in visible(x.value) for x in (*page.success, *page.info))
    # the confirmed trials as the sweep's HTML report lists them, in a table that wraps on a narrow window (the
    # grid it was cut its 's per epoch' column at 820 px and wrote [0.342, 0.4775] beside the report's figures)
    from nnlab.sweeps.confirm import confirmation
    from nnlab.views.sweep_report import confirmed_cells, confirmed_columns

    found = confirmation(runs, SweepStore(runs).get(rec.sweep_id))
    shown = page.table[0].value
    assert list(shown.columns) == confirmed_columns(found.metric)[1:]
    assert [list(row) for row in shown.itertuples(index=False)] == [
        [text for text, _ in confirmed_cells(found.metric, t)] for t in found.trials
    ]
