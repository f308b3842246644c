"""Resuming says what actually happens: after a kill during epoch 2's checkpoint write (epoch 2 recorded, its
checkpoint left half-written in the temporary file the atomic save writes first, epoch 1's checkpoint intact),
the run continues from epoch 1's checkpoint and the message says so, on the Train page and the command line."""

from __future__ import annotations

import pytest

from nnlab.cli.main import main
from nnlab.engine.runner import execute
from nnlab.engine.train import Callback
from nnlab.jobs.manager import JobManager
from nnlab.store.runfolder import RunFolder
from nnlab.store.runs import LOST_REASON, RunStore
from tests.helpers import app_at, tiny_config, wait_until

TRAIN_PAGE = "pages/1_Train.py"
CUT_OFF = "resumed from the checkpoint after epoch 1; epoch 2's checkpoint was incomplete, so epoch 2 trains again."


class _KeepFirstCheckpoint(Callback):
    """Keeps the bytes of last.pt as epoch 1 left it (this listener runs after the checkpoint's)."""

    def __init__(self, store: RunStore, run_id: str):
        self.path, self.saved = store.folder(run_id).path / "last.pt", b""

    def on_epoch_end(self, trainer, record, improved) -> None:
        if record.epoch == 1:
            self.saved = self.path.read_bytes()


def killed_while_saving_epoch_2(store: RunStore) -> str:
    """A run's folder and record as a kill -9 during epoch 2's checkpoint write leaves them."""
    run_id = store.create(tiny_config("mlp", epochs=2, early_stopping=False))
    assert store.claim_queued(run_id)
    keep = _KeepFirstCheckpoint(store, run_id)
    assert execute(store, run_id, callbacks=(keep,)).epochs_done == 2
    last = keep.path.read_bytes()
    keep.path.with_name(".last.pt.tmp").write_bytes(last[: len(last) // 2])  # epoch 2's, cut off mid-write
    keep.path.write_bytes(keep.saved)  # the previous checkpoint stays in place
    store.update(run_id, status="interrupted", reason=LOST_REASON)
    return run_id


def test_resume_after_a_cut_off_checkpoint_says_it_continues_from_the_one_before(store):
    run_id = killed_while_saving_epoch_2(store)
    jobs = JobManager(store)
    try:
        assert jobs.resume(run_id) == f"Run {run_id} {CUT_OFF}"
        assert jobs.wait(run_id).status == "finished"
    finally:
        jobs.shutdown()
    assert [m.epoch for m in store.metrics(run_id)] == [1, 2]  # epoch 2 trained again, recorded once


def test_resume_point_names_a_checkpoint_never_saved_and_a_whole_one(store):
    run_id = killed_while_saving_epoch_2(store)
    folder = store.folder(run_id)
    (folder.path / ".last.pt.tmp").unlink()
    assert folder.resume_point(2).endswith("epoch 2's checkpoint was never saved, so epoch 2 trains again.")
    assert folder.resume_point(1) == f"Run {run_id} resumed after epoch 1."
    assert RunFolder(folder.path.with_name("never-trained")).resume_point(0).endswith("resumed from the start.")
    (folder.path / "last.pt").unlink()
    assert (
        folder.resume_point(2)
        == f"Run {run_id} resumed from the start; epoch 2's checkpoint was never saved, so epochs 1 to 2 train again."
    )


@pytest.mark.slow
def test_train_page_resume_says_what_happened(workspace):
    store = RunStore(workspace)
    run_id = killed_while_saving_epoch_2(store)
    at = app_at(TRAIN_PAGE, run_id).run()
    at.button("tr_resume").click().run()
    assert not at.exception
    said = " ".join(s.value for s in at.success)
    assert CUT_OFF in said, said
    assert "resumed after epoch 2" not in said
    wait_until(lambda: store.get(run_id).status == "finished", "the resumed run to finish")
    store.close()


@pytest.mark.slow
def test_the_command_line_says_it_too(store, capsys):
    run_id = killed_while_saving_epoch_2(store)
    assert main(["resume", run_id, "--store", str(store.root)]) == 0
    assert f"nnlab: Run {run_id} {CUT_OFF}" in capsys.readouterr().err


def test_a_stopped_runs_page_says_where_resume_continues(trained, workspace, fresh_caches):
    """Issue 21: a newcomer found Resume on a stopped run but no word of where it would continue."""
    from nnlab.store.runs import RunStore
    from tests.trained import open_page

    run_id = trained["digits"]
    RunStore(workspace).update(run_id, status="stopped", reason="Stopped by the user.")
    at = open_page("pages/1_Train.py", run_id)
    assert at.button("tr_resume")
    said = [c.value.replace("\\", "") for c in at.caption if "Resume continues" in c.value]
    assert said == ["Resume continues after epoch 2, from its last checkpoint."], [c.value for c in at.caption]
