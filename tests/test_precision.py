"""bfloat16 on CPUs that lack it: refused before a run exists, or said to be slow; the bench skips it with a note
(tests/test_bench.py).

These CPUs are reproduced on any x86 machine by capping oneDNN's instruction set in a fresh process:
ONEDNN_MAX_CPU_ISA=AVX2 is a CPU without AVX512 (oneDNN has no bfloat16 LSTM there), AVX512_CORE one with AVX512
but without native bfloat16 (emulated, slow). The probe finds both by training a tiny model, not by a CPU list.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nnlab.engine.precision import bf16_check, cpu_native_bf16

ROOT = Path(__file__).resolve().parents[1]
NO_AVX512, NO_NATIVE_BF16 = "AVX2", "AVX512_CORE"


def _run(args: list[str], isa: str, workspace: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ONEDNN_MAX_CPU_ISA": isa, "NNLAB_HOME": str(workspace)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)


def _runs(workspace: Path) -> list[dict]:
    out = _run(["-m", "nnlab", "runs", "--json"], NO_AVX512, workspace)
    return json.loads(out.stdout)


def test_the_probe_agrees_with_a_real_bf16_lstm_step_here():
    """On this machine, whatever it is: the check says 'cannot' exactly when a bfloat16 LSTM step raises."""
    lstm = torch.nn.LSTM(4, 4, batch_first=True)
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            lstm(torch.randn(2, 3, 4))[0].float().sum().backward()
        runs = True
    except RuntimeError:
        runs = False
    assert bf16_check("lstm", "text", torch.device("cpu")).ok == runs


@pytest.mark.parametrize(
    ("cap", "native"),
    [("AVX2", False), ("avx512_core", False), ("AVX512_CORE_VNNI", False), ("AVX512_CORE_FP16", None), ("", None)],
)
def test_native_bf16_respects_the_onednn_cap(monkeypatch, cap, native):
    """A cap below AVX512_CORE_BF16 rules native bfloat16 out; at or above it (AVX512_CORE_FP16 is AVX10_1_512) or
    uncapped, the CPU itself decides."""
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    cpu = bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    assert cpu_native_bf16() == (cpu if native is None else native)


def _bench_case(isa: str, workspace: Path) -> dict:
    """The tiny bench's bfloat16 LSTM case measured (or skipped) in a fresh process under a oneDNN ISA cap."""
    script = """
import json, tempfile, torch
from nnlab.bench.loop import make_plan, measure_case
from nnlab.store.runs import RunStore
plan = make_plan("tiny")
case = next(c for c in plan.cases if c.precision == "bf16")
print(json.dumps(measure_case(case, plan, torch.device("cpu"), RunStore(tempfile.mkdtemp()), print)))
"""
    out = _run(["-c", script], isa, workspace)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_bench_skips_emulated_bf16_with_a_note(workspace):
    case = _bench_case(NO_NATIVE_BF16, workspace)
    assert "nnlab_samples_per_s" not in case
    assert "no native bfloat16" in case["skipped"] and "emulated and slower" in case["skipped"]


@pytest.mark.slow
def test_cli_refuses_bf16_lstm_without_avx512_in_one_sentence_before_any_run(workspace):
    args = ["-m", "nnlab", "train", "--arch", "lstm", "--dataset", "reviews", "--precision", "bf16", "--epochs", "1"]
    out = _run(args, NO_AVX512, workspace)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr
    assert lines[0].startswith("nnlab: --precision bf16 cannot train here") and "--precision fp32" in lines[0]
    assert _runs(workspace) == []  # refused before a run was recorded


@pytest.mark.slow
def test_cli_says_emulated_bf16_is_slower_then_trains(workspace):
    args = ["-m", "nnlab", "train", "--arch", "mlp", "--precision", "bf16", "--epochs", "1", "--json"]
    out = _run(args, NO_NATIVE_BF16, workspace)
    assert out.returncode == 0, out.stderr
    assert "--precision bf16 will train slower than fp32 here" in out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1])["status"] == "finished"


@pytest.mark.slow
def test_dashboard_submit_and_a_stored_bf16_run_give_the_reason_not_onednn_gibberish(workspace):
    script = """
import json, sys
from nnlab.data.registry import make_config
from nnlab.core.errors import NNLabError
from nnlab.jobs.manager import JobManager
from nnlab.engine.runner import execute
from nnlab.store.runs import RunStore
store = RunStore(sys.argv[1])
cfg = make_config("lstm", precision="bf16", epochs=1)
try:
    JobManager(store).submit(cfg)
    refused = ""
except NNLabError as exc:
    refused = str(exc)
count = len(store.list())
run_id = store.create(cfg)  # a run stored elsewhere (another machine, an older version), resumed here
store.claim_queued(run_id)
rec = execute(store, run_id)
print(json.dumps({"refused": refused, "count": count, "status": rec.status, "reason": rec.reason}))
"""
    out = _run(["-c", script, str(workspace)], NO_AVX512, workspace)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["refused"].startswith("Precision bfloat16 cannot train here") and result["count"] == 0
    assert result["status"] == "failed" and result["reason"].startswith("Precision bfloat16 cannot train here")
    assert "fp32" in result["reason"]


@pytest.mark.slow
def test_the_form_blocks_start_with_the_reason_before_a_bf16_lstm_without_avx512(workspace):
    script = """
import json
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=120)
at.switch_page("pages/1_Train.py")
at.run()
at.selectbox(key="tr_dataset").set_value("reviews").run()
at.selectbox(key="tr_precision").set_value("bf16").run()
print(json.dumps({"errors": [e.value for e in at.error], "start_disabled": at.button(key="tr_start").disabled,
                  "exceptions": [str(e.value) for e in at.exception]}))
"""
    out = _run(["-c", script], NO_AVX512, workspace)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["exceptions"] == []
    assert any(e.startswith("Precision bfloat16 cannot train here") for e in result["errors"]), result
    assert result["start_disabled"]
