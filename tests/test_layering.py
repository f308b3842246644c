"""The direction of dependencies: pages -> nnlab, never back; only nnlab.ui imports Streamlit."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import nnlab
from nnlab.data.registry import make_config
from nnlab.store.runs import RunStore

ROOT = Path(__file__).resolve().parents[1]


def _modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(nnlab.__path__, "nnlab.")]
    return [n for n in names if not n.startswith("nnlab.ui") and n != "nnlab.__main__"]


@pytest.mark.slow
def test_nothing_in_nnlab_but_the_ui_imports_streamlit():
    code = (
        "import importlib, sys\n"
        f"for name in {_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "print('streamlit' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_pages_hold_no_training_code():
    for page in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        tree = ast.parse(page.read_text())
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "torch" not in imported, page.name
        assert ".backward(" not in page.read_text(), page.name


def test_the_package_never_loads_a_checkpoint_with_plain_pickle():
    for path in (ROOT / "nnlab").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "load":
                owner = getattr(node.func.value, "id", "")
                if owner == "torch":
                    kw = {k.arg: getattr(k.value, "value", None) for k in node.keywords}
                    assert kw.get("weights_only") is True, f"{path.name}:{node.lineno}"
                assert owner != "pickle", f"{path.name}:{node.lineno}"


@pytest.mark.parametrize("data_path", ["", "/data/wine.csv"])
def test_reading_the_store_and_listing_runs_never_import_torch(tmp_path, data_path):
    # a store with a run in it: naming its data (a built-in set, or the user's file by its name) reads no registry
    # that imports torch (an empty store passed while every listed run took torch's 2 s of import)
    store = RunStore(tmp_path)
    dataset = "csv" if data_path else "digits"
    store.create(make_config("mlp", dataset=dataset, data_path=data_path, label_column="label"))
    code = (
        "import sys\n"
        "import nnlab.store.runs\n"
        "print('torch' in sys.modules)\n"
        "from nnlab.cli.main import main\n"
        f"main(['runs', '--store', {str(tmp_path)!r}])\n"
        "print('torch' in sys.modules, 'numpy' in sys.modules)\n"
        f"main(['runs', '--groups', '--store', {str(tmp_path)!r}])\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "False" and lines[-3] == "False False" and lines[-1] == "False", out.stdout
    assert ("wine.csv" if data_path else "digits") in out.stdout


@pytest.mark.parametrize(
    "args", [["--help"], ["bench", "--help"], ["report", "--help"], ["train", "--help"], ["sweep", "--help"],
             ["check", "--help"]],
)  # fmt: skip
def test_the_command_lines_help_never_imports_torch(args):
    code = (
        "import sys\n"
        "from nnlab.cli.main import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('torch' in sys.modules, 'numpy' in sys.modules, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0 and "usage: python -m nnlab" in out.stdout, out.stderr
    assert out.stderr.strip().splitlines()[-1] == "False False", out.stderr


def test_no_module_uses_a_private_name_of_another():
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "nnlab").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nnlab"):
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                assert not private, f"{path.name}:{node.lineno} imports {private} from {node.module}"


def test_the_architectures_help_lists_are_the_registered_ones():
    """`train --help` names the built-in architectures without importing torch: the same names, in the same order,
    as the registry (train --help took 10 s on a busy machine while it imported torch to list them)."""
    from nnlab.cli.main import BUILT_IN_ARCHS
    from nnlab.models import BUILT_IN, MODELS

    assert len(BUILT_IN) == len(BUILT_IN_ARCHS) and tuple(MODELS)[: len(BUILT_IN)] == BUILT_IN_ARCHS
