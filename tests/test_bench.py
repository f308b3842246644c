"""The benchmark command and the 1,000-run store filler (no timing assertions: figures live in the bench output)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnlab.bench.job import format_whole_job, whole_job
from nnlab.store.runs import RunStore
from tests.helpers import fill_store

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_tiny_prints_the_table_and_the_json_line_last(workspace):
    """Run where oneDNN has no AVX512 (ONEDNN_MAX_CPU_ISA=AVX2), as on many CPUs: no bfloat16 LSTM there, so the
    bench skips that case with a note and still measures every other one."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ONEDNN_MAX_CPU_ISA": "AVX2", "NNLAB_HOME": str(workspace)}
    proc = subprocess.run(
        [sys.executable, "-m", "nnlab", "bench", "--tiny", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout.strip().splitlines()
    result = json.loads(out[-1])
    assert "| case |" in "\n".join(out[:-1])  # the readable table comes first
    assert [c["case"] for c in result["cases"]] == ["mlp b64", "cnn b64", "lstm b64", "lstm b64, bf16"]
    *measured, bf16 = result["cases"]
    for case in measured:
        assert {"case", "baseline_samples_per_s", "nnlab_samples_per_s", "ratio"} <= set(case)
        assert case["baseline_samples_per_s"] > 0 and case["nnlab_samples_per_s"] > 0
    assert "cannot train lstm in bfloat16" in bf16["skipped"]
    assert "note (lstm b64, bf16): not measured" in proc.stdout
    assert isinstance(result["logging_overhead"], float)
    assert result["device"].startswith(("cpu", "cuda", "mps"))
    assert {"list_cold_s", "filter_s", "compare_10_s"} <= set(result["store"])


@pytest.mark.slow
def test_fill_store_adds_1000_finished_looking_runs_that_list_and_filter(store: RunStore):
    ids = fill_store(store, 1000, epochs=20)
    runs = store.list()
    assert len(ids) == len(set(ids)) == len(runs) == 1000
    assert [r.created for r in runs] == sorted((r.created for r in runs), reverse=True)
    finished = store.list("finished")
    assert 0 < len(finished) < 1000 and all(r.status == "finished" for r in finished)
    histories = store.metrics_many(ids[:10])
    assert all(1 <= len(h) <= 20 for h in histories.values())
    assert all(h[-1].epoch == store.get(i).epochs_done for i, h in histories.items())
    assert {r.arch for r in runs} >= {"mlp", "cnn", "lstm"}
    assert all(store.run_dir(i).joinpath("config.json").exists() for i in ids[:5])


def test_the_live_view_reads_only_new_epochs(store: RunStore):
    run_id = fill_store(store, 1, epochs=5)[0]
    done = store.get(run_id).epochs_done
    assert [r.epoch for r in store.metrics(run_id, after_epoch=done - 1)] == [done]
    assert store.metrics(run_id, after_epoch=done) == []


@pytest.mark.slow
def test_the_whole_job_runs_nnlab_and_the_plain_script_on_an_mnist_folder_and_reports_both(workspace):
    """Small (600 training images, 2 epochs, one timed pair): both sides run as processes, end to end, and
    both figures come back; no timing is asserted (the figures are the benchmark's output)."""
    said: list[str] = []
    job = whole_job(pairs=1, n_train=600, n_test=200, epochs=2, log=said.append)
    assert job["pairs"] == 1 and job["train_images"] == 600 and job["epochs"] == 2
    for side in ("nnlab", "plain", "handout"):
        assert job[f"{side}_s"] > 0 and job[f"cold_{side}_s"] > 0
        assert 0.3 < job[f"{side}_test_accuracy"] <= 1.0  # all trained on the same learnable digits
    assert job["ratio"] == pytest.approx(job["plain_s"] / job["nnlab_s"], rel=0.01)
    assert job["handout_ratio"] == pytest.approx(job["handout_s"] / job["nnlab_s"], rel=0.01)
    text = format_whole_job(job, step_ratio=1.5)
    assert f"plain script {job['plain_s']:.1f} s, nnlab {job['nnlab_s']:.1f} s" in text and "handout script" in text
    assert "the step alone" in text and "load average" in text
    assert any("round 1/1" in line for line in said)


@pytest.mark.slow
def test_the_startup_benchmark_times_a_small_train_against_importing_torch():
    from nnlab.bench.startup import startup

    out = startup(rounds=1)
    assert out["train_s"] > out["import_torch_s"] > 0 and len(out["rounds"]) == 1
    assert out["extra_s"] == pytest.approx(out["train_s"] - out["import_torch_s"], abs=0.02)


@pytest.mark.slow
def test_the_series_benchmark_prints_each_runs_ratio_to_the_best_classical_forecaster(tmp_path):
    t = np.arange(160)
    rng = np.random.default_rng(0)
    (tmp_path / "waves.csv").write_text(
        "value\n" + "\n".join(f"{v:.4f}" for v in 10 + np.sin(t / 5) + rng.normal(0, 0.1, 160)) + "\n"
    )
    (tmp_path / "short.csv").write_text("value\n" + "\n".join(str(v) for v in range(12)) + "\n")
    out = subprocess.run(
        [sys.executable, "-m", "nnlab", "bench", "--series", str(tmp_path / "waves.csv"), str(tmp_path / "short.csv"),
         "--seeds", "1", "--json"],  # fmt: skip
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    said = json.loads(lines[-1])
    (run, failed) = said["series"]
    assert run["series"] == "waves" and run["ratio"] > 0 and 0 < run["p_value"] <= 1 and run["best"]
    assert 0 <= run["blend_weight"] <= 1  # the default blends
    assert failed["series"] == "short" and "short.csv" in failed["error"]  # the one-sentence refusal, not a traceback
    assert said["summary"]["runs"] == 1 and said["summary"]["worst"] == run["ratio"]
    assert lines[0].startswith(f"waves, seed 0: {run['ratio']:.3f} of ") and "short, seed 0: did not train" in lines[1]
