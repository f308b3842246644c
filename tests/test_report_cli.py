"""`python -m nnlab report RUN [RUN_B] [--sweep ID] --out FILE`: one offline HTML file of a run, a comparison or a
sweep, written through the lab; a mistake is one sentence and a non-zero exit."""

from __future__ import annotations

import re
from html import escape

import pytest

from nnlab.cli.main import main
from nnlab.store.runs import RunStore


def _report(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_report_writes_a_run_and_a_comparison(trained, workspace, tmp_path, capsys):
    run = tmp_path / "deep" / "run.html"
    code, out, _ = _report(capsys, trained["digits"], "--out", str(run))
    assert code == 0 and out.startswith(str(run)) and re.search(r"\(\d+\.\d MB\)", out)
    html = run.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<template id='tpl-cm-" in html and "id='examples'" in html
    pair = tmp_path / "pair.html"
    code, _, _ = _report(capsys, trained["digits"], trained["digits_b"], "--out", str(pair))
    html = pair.read_text()
    assert code == 0 and "What flipped" in html and "<template id='tpl-flip-" in html
    assert not list(tmp_path.rglob(".*.tmp"))  # written atomically: no temporary file left


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ([], "Give RUN (and RUN_B to compare two) or --sweep ID"),
        (["nope"], "Run nope is not in the store"),
        (["RUNNING"], "has no test results"),
        (["--sweep", "sw-nope"], "Sweep sw-nope is not in the store"),
    ],
)
def test_report_refuses_in_one_sentence(trained, tmp_path, capsys, args, words):
    args = [trained["running"] if a == "RUNNING" else a for a in args]
    code, out, err = _report(capsys, *args, "--out", str(tmp_path / "r.html"))
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "r.html").exists()


def test_report_to_a_folder_or_an_unwritable_place_is_one_sentence(trained, tmp_path, capsys):
    code, _, err = _report(capsys, trained["digits"], "--out", str(tmp_path))
    assert code == 2 and "is a folder; name the report's file" in err
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = _report(capsys, trained["digits"], "--out", str(blocker / "r.html"))
    assert code == 2 and err.startswith("nnlab: The report cannot be written to") and len(err.splitlines()) == 1


@pytest.mark.slow
def test_report_writes_a_sweep(workspace, tmp_path, capsys):
    from nnlab.lab import Lab
    from nnlab.sweeps.driver import make_spec
    from nnlab.sweeps.space import parse_dim
    from tests.helpers import tiny_config

    lab = Lab(workspace)
    base = tiny_config("mlp", epochs=1)
    spec = make_spec(base, [parse_dim("lr", "1e-3:1e-2:log"), parse_dim("batch_size", "32,64")], 3, strategy="random")
    sweep_id = lab.create_sweep(spec)
    try:
        assert lab.drive_sweep(sweep_id).status == "finished"
    finally:
        lab.shutdown()
    out = tmp_path / "sweep.html"
    code, _, _ = _report(capsys, "--sweep", sweep_id, "--out", str(out))
    html = out.read_text()
    assert code == 0 and "Best configs" in html and "<table class='sortable'>" in html
    from nnlab.sweeps.confirm import confirmation
    from nnlab.sweeps.store import SweepStore
    from nnlab.sweeps.trials import is_confirmation

    store = RunStore(workspace)
    rec = SweepStore(store).get(sweep_id)
    trials = [r for r in store.list(sweep_id=sweep_id) if not is_confirmation(r, rec.spec)]
    assert len(trials) == 3 and all(r.run_id in html for r in trials)  # every trial's run in the table
    assert "Learning rate" in html and "Batch size" in html and "What mattered" in html
    found = confirmation(store, rec)  # the top trials re-run with more seeds: what holds
    assert found is not None and f"<h2>Is the winner real?</h2>\n<p class='lead'>{escape(found.headline)}</p>" in html
    assert html.count("<table class='sortable'>") == 2  # the trials, and the confirmed trials against the best


def test_a_sweep_report_before_any_trial_escapes_its_name(store, tmp_path, capsys):
    from nnlab.sweeps.driver import make_spec
    from nnlab.sweeps.space import parse_dim
    from nnlab.sweeps.store import SweepStore
    from tests.helpers import tiny_config

    evil = "<img src=x onerror=alert(1)>"
    spec = make_spec(tiny_config("mlp"), [parse_dim("lr", "1e-3:1e-2:log")], 4, name=evil)
    sweep_id = SweepStore(store).create(spec)
    out = tmp_path / "sweep.html"
    code, _, _ = _report(capsys, "--sweep", sweep_id, "--out", str(out))
    html = out.read_text()
    assert code == 0 and "No trial has finished yet." in html and "0 / 4" in html
    assert "<h1>&lt;img src=x onerror=alert(1)&gt;</h1>" in html and "<img src=x" not in html
