import argparse
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nnlab.cli.main import build_parser, main
from nnlab.store.runs import RunStore
from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "nnlab", *args], capture_output=True, text=True, env=env, timeout=300, **kw
    )


@pytest.mark.slow
def test_train_json_summary_is_the_last_line(workspace, capsys):
    code = main(
        [
            "train",
            "--arch",
            "mlp",
            "--dataset",
            "digits",
            "--epochs",
            "2",
            "--hidden-sizes",
            "32",
            "--json",
            "--store",
            str(workspace),
        ]
    )
    out = capsys.readouterr()
    summary = json.loads(out.out.strip().splitlines()[-1])
    assert code == 0 and summary["status"] == "finished"
    assert {"run_id", "test_accuracy", "epochs", "samples_per_s", "seconds", "device"} <= set(summary)
    assert summary["epochs"] == 2 and 0.5 < summary["test_accuracy"] <= 1
    assert "epoch 2/2" in out.err  # progress goes to stderr


@pytest.mark.slow
def test_ts_lstm_summary_has_rmse_and_naive_rmse(workspace, capsys):
    assert (
        main(["train", "--arch", "ts-lstm", "--epochs", "1", "--hidden", "32", "--json", "--store", str(workspace)])
        == 0
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["test_rmse"] > 0 and summary["naive_rmse"] > 0


@pytest.mark.slow
def test_runs_json_lists_every_run_with_its_score(workspace, capsys):
    for seed in ("0", "1"):
        main(
            [
                "train",
                "--arch",
                "mlp",
                "--epochs",
                "1",
                "--hidden-sizes",
                "32",
                "--seed",
                seed,
                "--store",
                str(workspace),
            ]
        )
    capsys.readouterr()
    assert main(["runs", "--json", "--store", str(workspace)]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert len(runs) == 2
    assert all({"run_id", "status", "arch", "dataset", "created", "test_accuracy"} <= set(r) for r in runs)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--arch", "mlp", "--lr", "5"], "Learning rate 5 is outside"),
        (["--arch", "mlp", "--lr", "abc"], "invalid float value"),
        (["--arch", "lstm", "--dataset", "digits"], "does not fit dataset digits"),
        (["--arch", "mlp", "--dataset", "nope"], "Dataset 'nope' is unknown"),
        (["--arch", "mlp", "--hidden-sizes", "64,x"], "whole numbers"),
        (["--arch", "transformer"], "invalid choice"),
        (["--arch", "mlp", "--batch-size", "-3"], "Batch size -3"),
    ],
)
@pytest.mark.slow
def test_bad_arguments_exit_non_zero_with_one_sentence(workspace, args, words):
    result = _cli("train", *args, "--store", str(workspace))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert all(r.status not in ("running", "queued") for r in RunStore(workspace).list())


@pytest.mark.slow
def test_killed_process_leaves_an_interrupted_run_that_resumes_to_the_end(workspace):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nnlab",
            "train",
            "--arch",
            "mlp",
            "--epochs",
            "150",
            "--no-early-stopping",
            "--hidden-sizes",
            "64",
            "--store",
            str(workspace),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = RunStore(workspace)
    runs = wait_until(lambda: (r := store.list()) and r[0].epochs_done >= 2 and r, "two epochs", every=0.1)
    assert proc.poll() is None, "the training process ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert runs and runs[0].epochs_done >= 2
    run_id = runs[0].run_id

    listing = _cli("runs", "--json", "--store", str(workspace))
    assert json.loads(listing.stdout)[0]["status"] == "interrupted"
    integrity = __import__("sqlite3").connect(store.db_path).execute("PRAGMA integrity_check").fetchone()[0]
    assert integrity == "ok"

    done_before = RunStore(workspace).get(run_id).epochs_done
    assert done_before >= 2
    resumed = subprocess.Popen(
        [sys.executable, "-m", "nnlab", "resume", run_id, "--json", "--store", str(workspace)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    wait_until(lambda: RunStore(workspace).get(run_id).epochs_done >= done_before + 2, "two resumed epochs", every=0.1)
    resumed.send_signal(signal.SIGINT)  # a user's Ctrl-C stops it cleanly at a batch boundary
    out, _ = resumed.communicate(timeout=120)
    rec = RunStore(workspace).get(run_id)
    assert rec.status == "stopped" and rec.epochs_done >= done_before + 2
    epochs = [m.epoch for m in RunStore(workspace).metrics(run_id)]
    assert epochs == list(range(1, rec.epochs_done + 1))  # no gap, no repeat: it continued
    assert json.loads(out.strip().splitlines()[-1])["status"] == "stopped"


@pytest.mark.slow
def test_resume_finishes_an_interrupted_run(workspace):
    store = RunStore(workspace)
    assert (
        main(
            [
                "train",
                "--arch",
                "mlp",
                "--epochs",
                "3",
                "--no-early-stopping",
                "--hidden-sizes",
                "32",
                "--store",
                str(workspace),
            ]
        )
        == 0
    )
    run_id = store.list()[0].run_id
    store.truncate_metrics(run_id, 0)
    store.update(run_id, status="interrupted", epochs_done=0)
    assert main(["resume", run_id, "--store", str(workspace)]) == 0
    rec = store.get(run_id)
    assert rec.status == "finished" and rec.epochs_done == 3


# the flags `train` took when they were written by hand; generated from the field descriptions now
HAND_WRITTEN_FLAGS = (
    "--arch --dataset --data --data-root --label-column --text-column --target --epochs --batch-size --lr "
    "--optimizer --momentum --weight-decay --dropout --hidden-sizes --hidden --batchnorm --schedule --lr-patience "
    "--step-size --gamma --patience --min-delta --no-early-stopping --seed --device --precision --threads "
    "--no-pretrained --unfreeze --weights --image-size --augment --vocab-size --max-len --window --horizon "
    "--val-fraction --test-fraction --expert --json --store"
).split()


def _train_parser():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sub.choices["train"]


def test_train_flags_are_generated_from_the_fields_and_keep_every_name():
    flags = {s for a in _train_parser()._actions for s in a.option_strings} - {"-h", "--help"}
    assert set(HAND_WRITTEN_FLAGS) <= flags
    args = _train_parser().parse_args(
        "--arch resnet18 --data x.zip --lr 0.003 --hidden-sizes 8,4 --augment flip,crop --no-pretrained "
        "--unfreeze --batchnorm --optimizer sgd --epochs 3".split()
    )
    assert (args.data_path, args.lr, args.hidden_sizes, args.augment) == ("x.zip", 0.003, (8, 4), ("flip", "crop"))
    assert (args.pretrained, args.freeze_backbone, args.batchnorm, args.early_stopping) == (False, False, True, None)
    assert (args.optimizer, args.epochs, args.dropout) == ("sgd", 3, None)


@pytest.mark.slow
def test_a_closed_pipe_never_fails_the_run(workspace):
    """`python -m nnlab train ... 2>&1 | head -2`: the progress display going away leaves the run finished."""
    args = ["train", "--arch", "mlp", "--epochs", "3", "--hidden-sizes", "32", "--store", str(workspace)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnlab", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    proc.stdout.read(200)  # the first bytes of the progress bar, as `head` reads them
    proc.stdout.close()  # the reader leaves
    proc.wait(timeout=300)
    [run] = RunStore(workspace).list()
    assert run.status == "finished", run.reason


def test_every_help_text_reads_as_written(capsys):
    """A literal percent sign shows once in every subcommand's --help ('95%', never '95%%')."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        text = command.format_help()
        assert "%%" not in text, f"{name} --help: {text[text.index('%%') - 60 : text.index('%%') + 20]}"
    assert "95% bootstrap interval" in " ".join(sub.choices["compare"].format_help().split())


def test_train_without_json_ends_with_a_line_a_person_reads(workspace, capsys):
    """Without --json the summary line printed the pre-flight as a Python dict (estimate={'seconds_per_epoch': ...})
    and samples/s as 3.294e+04."""
    args = ["train", "--arch", "mlp", "--dataset", "digits", "--epochs", "1", "--hidden-sizes", "32"]
    assert main([*args, "--store", str(workspace)]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("run_id=") and "status=finished" in line
    assert "{" not in line and "e+0" not in line
    assert re.search(r"  estimate='estimated [^']+ an epoch, took [^']+'", line), line


def test_the_progress_bar_shows_the_trainers_rate(capsys):
    """The bar showed tqdm's rate, counted from its first report with most of an epoch already done: 4,728,124
    samples/s for an LSTM that trained 148 a second."""
    from types import SimpleNamespace

    from nnlab.cli.main import ProgressBar
    from nnlab.core.records import Progress

    trainer = SimpleNamespace(data=SimpleNamespace(train=range(141)), cfg=SimpleNamespace(epochs=2))
    bar = ProgressBar()
    bar.on_progress(trainer, Progress(1, 2, 0.88, 148.2, 1.0, 1.5368))
    bar.on_epoch_end(trainer, None, False)
    err = capsys.readouterr().err
    assert "124/141" in err and "loss 1.5368, 148 samples/s" in err
    assert "sample/s" not in err.replace("samples/s", "")


def test_every_ranged_flag_names_its_range_in_help():
    """The README says `--help` gives each flag's range; --hidden, --patience and --hidden-sizes gave none."""
    from nnlab.core.config import FIELDS, RANGES, number_text
    from nnlab.core.words import flag_of

    helps = {s: " ".join((a.help or "").split()) for a in _train_parser()._actions for s in a.option_strings}
    for name in RANGES:
        if FIELDS[name].cli:
            lo, hi = (number_text(v) for v in RANGES[name].bounds(False))
            assert f"Range {lo} to {hi}" in helps[flag_of(name)], (name, helps[flag_of(name)])
    lo, hi = (number_text(v) for v in RANGES["hidden"].bounds(False))
    assert f"each {lo} to {hi}" in helps["--hidden-sizes"]


def test_runs_refuses_a_status_that_does_not_exist(workspace, capsys):
    """`runs --status finised` listed nothing and exited 0, as if no run had finished."""
    with pytest.raises(SystemExit) as exit_:
        main(["runs", "--status", "finised", "--store", str(workspace)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "finised" in err and "finished" in err and len(err.strip().splitlines()) == 1


def test_resume_help_names_every_status_it_continues():
    """`resume --help` said 'an interrupted or stopped run'; a failed run resumes too (core.records.RESUMABLE)."""
    from nnlab.core.records import RESUMABLE

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    text = sub._choices_actions[[c.dest for c in sub._choices_actions].index("resume")].help
    assert all(status in text for status in RESUMABLE), text


def test_every_option_of_every_command_says_what_it_does_and_its_default():
    """`runs --json`, `sweeps --json`, `resume RUN_ID`, `sweep --strategy/--pruner/--objective` and others had no help
    line, so `--help` named neither what they do nor the default a user gets."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing, no_default = [], []
    for name, command in sub.choices.items():
        for action in command._actions:
            if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
                continue
            flag = action.option_strings[0] if action.option_strings else action.dest
            if not action.help:
                missing.append(f"{name} {flag}")
            elif action.choices is not None and action.default is not None and "default" not in action.help:
                no_default.append(f"{name} {flag}")
    assert not missing and not no_default, (missing, no_default)


def test_resume_all_with_nothing_to_resume_says_so(workspace, capsys):
    """`resume --all` with no interrupted run printed nothing at all and exited 0: the user could not tell it from
    a resume that did nothing by mistake."""
    assert main(["resume", "--all", "--store", str(workspace)]) == 0
    assert capsys.readouterr().err.strip().startswith("nnlab: No interrupted run to resume")


def test_every_file_a_help_text_names_exists():
    """`bench --help` sent readers to nnlab/bench_job.py, a file that is not there (it is nnlab/bench/job.py)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    text = " ".join(command.format_help() for command in sub.choices.values())
    named = set(re.findall(r"\b(nnlab/[\w/]+\.\w+)", text))
    assert named and all((ROOT / path).exists() for path in named), sorted(p for p in named if not (ROOT / p).exists())


def test_a_folder_of_images_given_to_a_table_model_names_the_architectures_that_read_it(workspace, tmp_path, capsys):
    """train --arch mlp --data photos/ said 'photos is a folder, not a CSV file; give the path of the file itself',
    and a zip of them 'is not a text file; give a CSV saved as text': as if the user had the wrong file, where they
    had the wrong architecture for it."""
    (tmp_path / "photos" / "cats").mkdir(parents=True)
    (tmp_path / "photos.zip").write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip archive
    for data in (tmp_path / "photos", tmp_path / "photos.zip"):
        for command in ("train", "check"):
            code = main([command, "--arch", "mlp", "--data", str(data), "--store", str(workspace)])
            err = capsys.readouterr().err
            assert code == 2 and len(err.strip().splitlines()) == 1, err
            assert "--arch mlp reads a CSV" in err and "--arch cnn or resnet18" in err, err


def test_label_issues_refuses_a_fold_count_before_drawing_its_progress_bar(workspace, capsys):
    """`label-issues RUN --split train --folds 1` drew an empty 'label check, 1 fold models: 0%' bar, twice, before
    saying that --folds must be from 2 to 10."""
    assert (
        main(["label-issues", "20261207-000000-abcd", "--split", "train", "--folds", "1", "--store", str(workspace)])
        == 2
    )
    err = capsys.readouterr().err
    assert err == "nnlab: --folds must be from 2 to 10 (got 1): each fold is a model.\n", err
