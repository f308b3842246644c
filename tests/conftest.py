"""Shared fixtures: every test gets its own workspace and torch cache, so nothing touches the user's."""

from __future__ import annotations

import pytest

from nnlab.store.runs import RunStore
from tests.trained import fresh_caches, trained, trained_home  # noqa: F401  (tiny real runs, trained once)


@pytest.fixture(autouse=True)
def workspace(tmp_path, monkeypatch):
    """An empty nnlab workspace ($NNLAB_HOME) and torchvision cache ($TORCH_HOME) per test."""
    home = tmp_path / "workspace"
    monkeypatch.setenv("NNLAB_HOME", str(home))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return home


@pytest.fixture
def store(workspace):
    """A RunStore in the test's workspace."""
    s = RunStore(workspace)
    yield s
    s.close()
