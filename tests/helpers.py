"""Small configs that train in about a second, shared by the tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from nnlab.core.config import RunConfig
from nnlab.data.registry import make_config
from nnlab.models import MODELS

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def app_at(page: str = "", run_id: str | None = None) -> AppTest:
    """The app from its entrypoint, switched to a page ("pages/1_Train.py"; "" for Home), as Streamlit's docs
    say for multipage apps; with ?run=<run_id>. Not run yet."""
    at = AppTest.from_file(APP, default_timeout=60)
    if page:
        at.switch_page(f"pages/{Path(page).name}")
    if run_id:
        at.query_params["run"] = run_id
    return at


def tiny_config(arch: str = "mlp", **changes: Any) -> RunConfig:
    """A valid config of `arch` small enough for a unit test: the tiny config its ArchSpec declares, then changes."""
    return make_config(arch, **{**MODELS[arch].tiny, **changes})


def small(data, n: int = 300):
    """The same dataset cut to n training rows (and n // 3 validation and test rows), for speed."""
    import numpy as np

    data.train = data.train.subset(np.arange(min(n, len(data.train))))
    data.val = data.val.subset(np.arange(min(n // 3, len(data.val))))
    data.test = data.test.subset(np.arange(min(n // 3, len(data.test))))
    return data


def fill_store(store, n: int = 1_000, epochs: int = 20, seed: int = 0) -> list[str]:
    """Add n finished-looking runs to the store in one transaction; returns their ids."""
    from nnlab.data.synthetic import fake_runs

    runs, histories = fake_runs(n, epochs, seed)
    store.bulk_insert(runs, histories)
    return [r.run_id for r in runs]


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 120, every: float = 0.05) -> Any:
    """Poll condition() until it holds and return what it gave; fail naming `what` once the deadline passes
    (never wait forever). The one way the tests wait for background work."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"gave up after {timeout:g} s waiting for {what}"
        time.sleep(every)
    return value


def visible(source: str) -> str:
    """What the page shows of a markdown source: escapes resolved, invisible word joiners dropped."""
    return re.sub(r"\\(.)", r"\1", source).replace("\u2060", "")


def isolated(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Python in isolated mode from a folder outside the repository (an exported script's): nnlab cannot be imported."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-I", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
