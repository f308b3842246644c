"""Run files are written whole or not at all, and a damaged one is one sentence naming the run and the file on
Results, Playground and `nnlab compare` (issue 21 item 5): never a traceback, never a server path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnlab.core.errors import NNLabError
from nnlab.store.runfolder import EXAMPLES, PREDICTIONS, Predictions, RunFolder
from tests.trained import open_page

ROOT = Path(__file__).resolve().parents[1]


def cut(path: Path, keep: int = 300) -> None:
    """The file as a kill or a full disk leaves it: its first bytes only."""
    path.write_bytes(path.read_bytes()[:keep])


def scrambled(path: Path) -> None:
    """A whole zip whose compressed payload was overwritten (a bad sector, a copy gone wrong)."""
    data = bytearray(path.read_bytes())
    data[60:400] = b"\x00" * 340
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [cut, scrambled])
@pytest.mark.parametrize("name", [PREDICTIONS, EXAMPLES])
def test_a_damaged_array_file_is_one_sentence_naming_run_and_file(trained, workspace, damage, name):
    folder = RunFolder(workspace / "runs" / trained["digits"])
    damage(folder.path / name)
    with pytest.raises(NNLabError) as caught:
        folder.read_results()
    message = str(caught.value)
    assert message.startswith(f"{name} of run {trained['digits']} is damaged") and str(workspace) not in message


def test_predictions_without_their_arrays_are_damaged_too(trained, workspace):
    folder = RunFolder(workspace / "runs" / trained["digits"])
    np.savez(folder.path / PREDICTIONS, something_else=np.zeros(3))
    with pytest.raises(NNLabError, match=f"{PREDICTIONS} of run {trained['digits']} is damaged"):
        folder.read_results()


def test_results_are_written_whole_or_not_at_all(tmp_path, monkeypatch):
    """A write cut short (a full disk, a kill) leaves no half file under the run file's name."""
    folder = RunFolder(tmp_path / "run")
    folder.path.mkdir()
    predictions = Predictions(y_true=np.arange(5), y_pred=np.arange(5), probs=np.eye(5))
    folder.write_results({"task": "classification"}, predictions, {"rows": np.zeros((5, 2))})
    before = (folder.path / PREDICTIONS).read_bytes()

    def full_disk(file, array, **kwargs):  # the first array's bytes, then the disk is full
        file.write(b"\x93NUMPY half an array")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array", full_disk)
    with pytest.raises(OSError):
        folder.write_results({"task": "classification"}, predictions, {})
    assert (folder.path / PREDICTIONS).read_bytes() == before  # the last whole file, untouched
    assert sorted(p.name for p in folder.path.iterdir()) == [EXAMPLES, PREDICTIONS, "report.json"]


def test_the_config_is_written_atomically(tmp_path, monkeypatch):
    from nnlab.store import runfolder
    from tests.helpers import tiny_config

    written = []
    real = runfolder.atomic_write
    monkeypatch.setattr(runfolder, "atomic_write", lambda path, write: (written.append(path.name), real(path, write)))
    RunFolder(tmp_path / "run").create(tiny_config())
    assert written == ["config.json"]


@pytest.mark.slow
def test_results_and_playground_say_which_file_of_which_run_is_damaged(trained, workspace, fresh_caches):
    run_id = trained["digits"]
    cut(workspace / "runs" / run_id / PREDICTIONS)
    for page in ("../pages/2_Results.py", "../pages/4_Playground.py"):
        at = open_page(page, run_id)
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and f"{PREDICTIONS} of run {run_id} is damaged" in errors[0].replace("\\", "")
        assert str(workspace) not in errors[0]


@pytest.mark.slow
def test_compare_with_a_damaged_file_ends_in_one_sentence_and_a_non_zero_exit(trained, workspace):
    a, b = trained["digits"], trained["digits_b"]
    cut(workspace / "runs" / b / PREDICTIONS)
    done = subprocess.run(
        [sys.executable, "-m", "nnlab", "compare", a, b, "--store", str(workspace)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{PREDICTIONS} of run {b} is damaged" in lines[0], done.stderr
