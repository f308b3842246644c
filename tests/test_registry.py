"""The registries own their specs: which datasets an architecture fits follows from its input spec,
data preparation reads that spec, and the import graph of nnlab has no cycle."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

from nnlab.data import DATASETS, load_dataset
from nnlab.data.registry import make_config, validate
from nnlab.models import MODELS, InputSpec

NNLAB = Path(__file__).resolve().parents[1] / "nnlab"


def _module(path: Path) -> str:
    parts = list(path.relative_to(NNLAB.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every nnlab module path names, at module level and inside functions alike."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return {n for n in names if n.split(".")[0] == "nnlab"}


def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for p in NNLAB.rglob("*.py")}

    def resolve(name: str) -> str:
        while name not in files:
            name = name.rpartition(".")[0]
        return name

    graph = {m: {resolve(n) for n in _imports(p)} - {m} for m, p in files.items()}
    for m, p in files.items():  # a package re-exporting its own submodules is not a dependency of theirs
        if p.name == "__init__.py":
            graph[m] = {t for t in graph[m] if not t.startswith(m + ".")}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m: str, path: list[str]) -> list[str]:
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                return path[path.index(t) :] + [t]
            if t not in state and (found := visit(t, path + [t])):
                return found
        state[m] = 2
        return []

    for m in sorted(graph):
        if m not in state and (found := visit(m, [m])):
            return found
    return []


def test_the_import_graph_of_nnlab_has_no_cycle():
    graph = _graph()
    assert _cycle(graph) == []
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]  # the check itself works


def test_config_is_a_leaf():
    assert _graph()["nnlab.core.config"] <= {"nnlab.core.errors"}


def test_the_architectures_a_dataset_fits_follow_their_input_specs():
    for name, spec in DATASETS.items():
        fits = {a for a, arch in MODELS.items() if arch.inputs.accepts(spec.kind, spec.any_size)}
        assert set(spec.archs) == fits, name
    assert DATASETS["shapes"].archs[0] == "cnn" and DATASETS["digits"].archs[0] == "mlp"
    assert "mlp" not in DATASETS["image-folder"].archs  # a user's photos of any size need a load size


def test_a_new_architecture_fits_every_dataset_its_input_spec_takes(monkeypatch):
    monkeypatch.setitem(MODELS, "gru", replace(MODELS["lstm"], name="gru", default_dataset="imdb"))
    assert DATASETS["reviews"].archs == ("lstm", "gru") and DATASETS["imdb"].archs == ("gru", "lstm")
    assert validate(make_config("gru", dataset="reviews")) == []
    assert "use lstm or gru" in validate(make_config("mlp", dataset="reviews"))[0]


def test_image_preparation_reads_the_input_spec_not_the_name(monkeypatch):
    rgb = replace(MODELS["cnn"], name="rgb-cnn", inputs=InputSpec(("image",), channels=3, load_size=64))
    monkeypatch.setitem(MODELS, "rgb-cnn", rgb)
    data = load_dataset(make_config("rgb-cnn", dataset="digits"))
    assert data.info.input_shape == (3, 8, 8) and len(data.info.scaler.mean) == 3
    assert load_dataset(make_config("cnn", dataset="digits")).info.input_shape == (1, 8, 8)
