"""The live view of a run that ended before its first epoch (diverged, failed, stopped at once) promises no curves."""

from __future__ import annotations

from nnlab.core.causes import Cause
from nnlab.core.records import Outcome
from nnlab.data.registry import make_config
from tests.helpers import visible
from tests.trained import open_page


def test_a_run_that_diverged_in_epoch_1_says_it_has_no_curves_instead_of_promising_them(store):
    run_id = store.create(make_config("mlp", dataset="digits", lr=10.0, expert=True))
    reason = "Training diverged in epoch 1: the loss became nan; lower the learning rate (now 10)."
    store.set_outcome(run_id, Outcome("diverged", Cause.DIVERGED, reason))
    at = open_page("pages/1_Train.py", run_id)
    captions = [visible(c.value) for c in at.caption]
    assert "The curves appear when the first epoch ends." not in captions  # it ended: no epoch will
    assert "No epoch ended, so the run has no curves." in captions
