"""The layers of nnlab, read from the code: imports point down the packages, never up, with no cycle (module-level
and in-function imports alike, package files included); front ends change state only through the lab."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NNLAB = ROOT / "nnlab"
# lowest first; packages on one line share a rank and may import each other (STYLE.md, "The shape")
LAYERS = [
    ["core"],
    ["store"],
    ["models"],
    ["data"],
    ["engine"],
    ["jobs", "analysis", "export"],
    ["sweeps"],
    ["lab"],
    ["views"],
    ["cli", "ui", "bench", "__main__"],
]
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}
FRONT_ENDS = [NNLAB / "ui", NNLAB / "cli", ROOT / "pages", ROOT / "app.py"]
# what changes the store, a run folder or a sweep: front ends ask the lab instead
MUTATIONS = {"create", "update", "delete", "rename", "set_status", "claim_queued", "set_progress", "add_epoch"}
MUTATIONS |= {"truncate_metrics", "bulk_insert", "recover", "adopt_orphans", "beat", "claim", "heartbeat"}
MUTATIONS |= {"finish_session", "add_retried", "request", "write_json", "write_file", "save_checkpoint"}
MUTATIONS |= {"save_weights", "write_results", "write_facts", "remove"}
STORES = ("store", "sweeps", "folder", "RunStore", "SweepStore", "RunFolder")


def module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, text: str | None = None) -> set[str]:
    """Every nnlab name a file (or `text` as if it were that file) imports, absolute or relative, at module level
    or inside functions."""
    mod, names = module_of(path), set()
    package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text() if text is None else text)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names |= {base} | {f"{base}.{a.name}" for a in node.names}
    return {n for n in names if n.split(".")[0] == "nnlab"}


def graph() -> dict[str, set[str]]:
    """Module -> the nnlab modules it imports (a name resolves to the longest module it starts with)."""
    files = {module_of(p): p for p in NNLAB.rglob("*.py")}

    def resolve(name: str) -> str:
        while name not in files:
            name = name.rpartition(".")[0]
        return name

    return {m: {resolve(n) for n in imported(p)} - {m, "nnlab"} for m, p in files.items()}


def layer(module: str) -> str:
    return module.split(".")[1]


def cycle(edges: dict[str, set[str]]) -> list[str]:
    """One cycle of the graph as a path that comes back to its start, or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m: str, path: list[str]) -> list[str]:
        state[m] = 1
        for t in sorted(edges.get(m, ())):
            if state.get(t) == 1:
                return path[path.index(t) :] + [t]
            if t not in state and (found := visit(t, path + [t])):
                return found
        state[m] = 2
        return []

    for m in sorted(edges):
        if m not in state and (found := visit(m, [m])):
            return found
    return []


def test_every_module_sits_in_a_layer():
    stray = {layer(m) for m in graph() if m != "nnlab"} - set(RANK)
    assert not stray, f"modules in no layer: {sorted(stray)}"


def test_no_import_points_up_the_layers():
    up = [
        f"{m} -> {t}"
        for m, targets in graph().items()
        for t in targets
        if m != "nnlab" and RANK[layer(t)] > RANK[layer(m)]
    ]
    assert up == []


def test_neither_the_modules_nor_the_packages_import_in_a_cycle():
    modules = graph()
    assert cycle(modules) == []
    packages: dict[str, set[str]] = {}
    for m, targets in modules.items():
        if m != "nnlab":
            packages.setdefault(layer(m), set()).update(layer(t) for t in targets if layer(t) != layer(m))
    assert cycle(packages) == []
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]  # the check itself works


def test_an_upward_import_inside_a_function_or_a_package_file_is_seen():
    probe = NNLAB / "core" / "__init__.py"
    assert "nnlab.lab" in imported(probe, "def f():\n    from nnlab.lab import Lab\n")
    assert "nnlab.core.errors" in imported(probe, "from .errors import NNLabError\n")
    assert "nnlab.store.runs" in imported(NNLAB / "core" / "config.py", "from ..store import runs\n")


def _front_end_files() -> list[Path]:
    return [f for r in FRONT_ENDS for f in ([r] if r.is_file() else sorted(r.rglob("*.py")))]


def test_front_ends_never_reach_the_job_manager_or_an_executor():
    for path in _front_end_files():
        reached = sorted(n for n in imported(path) if n.startswith("nnlab.jobs"))
        assert not reached, f"{path.relative_to(ROOT)} imports {reached}: go through nnlab.lab"


def test_front_ends_change_the_store_only_through_the_lab():
    for path in _front_end_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATIONS:
                receiver = ast.unparse(node.func.value)
                assert not any(s in receiver for s in STORES) or receiver.startswith("lab"), (
                    f"{path.relative_to(ROOT)}:{node.lineno} calls {receiver}.{node.func.attr}: ask the lab"
                )


def _third_party_importers(name: str) -> set[str]:
    found = set()
    for path in NNLAB.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            if any(n == name or n.startswith(name + ".") for n in names):
                found.add(module_of(path))
    return found


def test_only_the_ui_imports_streamlit_and_only_the_ray_executor_imports_ray():
    assert {m for m in _third_party_importers("streamlit") if not m.startswith("nnlab.ui")} == set()
    assert {m for m in _third_party_importers("ray") if not m.startswith("nnlab.jobs.ray")} == set()
