"""Tiny real runs of every data kind, trained once per test session and copied into each test's workspace."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from nnlab.data.builtin import SHAPES, make_reviews, make_series, make_shapes
from nnlab.data.registry import make_config
from nnlab.engine.runner import execute
from nnlab.store.runs import RunStore
from tests.helpers import app_at

TABULAR_CLASSES = ("setosa", "<b>versi</b>color", "virginica")  # a tag in a class name must show as typed


def _data_files(root: Path) -> dict[str, Path]:
    """Small files in the real user formats: a folder of class folders, and three CSVs."""
    images, labels = make_shapes(160, 16, np.random.default_rng(0))
    folder = root / "shapes"
    for i, (img, label) in enumerate(zip(images, labels, strict=True)):
        (folder / SHAPES[label]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(img.transpose(1, 2, 0)).save(folder / SHAPES[label] / f"{i}.png")
    texts, y = make_reviews(400, np.random.default_rng(1))
    pd.DataFrame({"text": texts, "label": np.array(["negative", "positive"])[y]}).to_csv(
        root / "reviews.csv", index=False
    )
    pd.DataFrame({"value": make_series(260, np.random.default_rng(2))[:, 0]}).to_csv(root / "series.csv", index=False)
    from sklearn.datasets import load_iris

    iris = load_iris()
    table = pd.DataFrame(iris.data, columns=["sepal length", "sepal width", "petal length", "petal width"])
    table["label"] = np.array(TABULAR_CLASSES)[iris.target]
    table.to_csv(root / "iris.csv", index=False)
    return {"shapes": folder, "reviews": root / "reviews.csv", "series": root / "series.csv", "iris": root / "iris.csv"}


def _configs(files: dict[str, Path]) -> dict[str, object]:
    return {
        "digits": make_config("mlp", dataset="digits", hidden_sizes=(32,), epochs=2),
        "digits_b": make_config("mlp", dataset="digits", hidden_sizes=(64,), epochs=2, dropout=0.1, lr=3e-3),
        "shapes": make_config("cnn", dataset="image-folder", data_path=str(files["shapes"]), hidden=32, epochs=1),
        "reviews": make_config(
            "lstm", dataset="text-csv", data_path=str(files["reviews"]), hidden=32, epochs=1, max_len=40, vocab_size=200
        ),
        # the network alone (a 2-epoch network would blend with a classical forecaster by default): these runs pin
        # the network's own path, exact from the run to the Playground and the exports; blends: test_baselines.py
        "series": make_config(
            "ts-lstm",
            dataset="series-csv",
            data_path=str(files["series"]),
            hidden=32,
            epochs=2,
            window=8,
            classical="none",
        ),
        "iris": make_config("mlp", dataset="csv", data_path=str(files["iris"]), hidden_sizes=(32,), epochs=3),
    }


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """(workspace, {name: run id}): finished tiny runs of each kind, a failed one and a running one."""
    root = tmp_path_factory.mktemp("trained")
    home, ids = root / "workspace", {}
    store = RunStore(home)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: thread hand-offs cost more than they give on a shared CPU
    try:
        for name, cfg in _configs(_data_files(root)).items():
            ids[name] = store.create(cfg)
            store.claim_queued(ids[name])
            rec = execute(store, ids[name])
            assert rec.status == "finished", (name, rec.reason)
    finally:
        torch.set_num_threads(threads)
    ids["failed"] = store.create(make_config("mlp", dataset="digits"))
    store.update(ids["failed"], status="failed", reason="Training diverged in epoch 3: lower the learning rate.")
    ids["running"] = store.create(make_config("mlp", dataset="digits"), status="running")
    store.close()
    return home, ids


@pytest.fixture
def trained(trained_home: tuple[Path, dict[str, str]], workspace: Path) -> dict[str, str]:
    """This test's workspace holds a copy of the trained runs; returns their ids by name."""
    home, ids = trained_home
    shutil.copytree(home, workspace, dirs_exist_ok=True)
    return ids


@pytest.fixture
def fresh_caches():
    """AppTest shares st caches across instances in one process: a new job manager and artifacts per test."""
    st.cache_resource.clear()
    st.cache_data.clear()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    st.cache_resource.clear()
    st.cache_data.clear()


def open_page(page: str, run_id: str | None = None) -> AppTest:
    """Run a page script with ?run=<run_id> and assert it raised nothing."""
    at = app_at(page, run_id).run()
    assert not at.exception, [e.value for e in at.exception]
    return at
