"""A small `nnlab train` pays for what its path needs only: no scikit-learn, scipy, pandas or TorchDynamo."""

import subprocess
import sys

import pytest

HEAVY = ("sklearn", "scipy", "pandas", "torch._dynamo.convert_frame")


@pytest.mark.slow
def test_a_digits_run_from_the_command_line_loads_no_heavy_module(tmp_path):
    code = (
        "import sys; from nnlab.cli.main import main;"
        f"code = main(['train', '--arch', 'mlp', '--dataset', 'digits', '--epochs', '1', '--store', {str(tmp_path)!r}]);"
        f"print(code, [m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "0 []", out.stderr[-2000:]


@pytest.mark.slow
def test_compiling_and_exporting_still_work_after_training_without_the_compiler():
    code = """
import sys, torch
from nnlab.engine import lean
lean.defer()
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
opt = torch.optim.Adam(model.parameters())
for _ in range(2):
    opt.zero_grad(); model(torch.randn(5, 4)).sum().backward(); opt.step()
opt.load_state_dict(opt.state_dict())
before = lean.deferred() and 'torch._dynamo.convert_frame' not in sys.modules
exported = torch.export.export(model, (torch.randn(2, 4),)).module()(torch.ones(2, 4))
compiled = torch.compile(model, backend='eager')(torch.ones(2, 4))
opt.zero_grad(); model(torch.randn(5, 4)).sum().backward(); opt.step()
print(before, lean.deferred(), torch.allclose(exported, compiled))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["True", "False", "True"], out.stderr[-2000:]


@pytest.mark.slow
def test_a_scan_of_every_module_does_not_load_the_compiler_in_the_middle_of_an_import():
    code = """
import inspect, sys, torch
from nnlab.engine import lean
lean.defer()
inspect.getmodule(torch.zeros)  # asks every module in sys.modules for __file__
import torch.distributed.tensor  # whose import registers ops through inspect: it failed half-imported
print(lean.deferred())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["True"], out.stderr[-2000:]
