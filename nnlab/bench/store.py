"""`python -m nnlab bench`, the store at scale: list, filter and compare with many runs in the store."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from nnlab.analysis import runs_table as compare
from nnlab.data.synthetic import fake_runs
from nnlab.store import runs as runs_module
from nnlab.store.runs import RunStore
from nnlab.views.comparison_plots import group_curves_figure


def _timed(fn: Callable[[], Any], reps: int = 5) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compare_work(store: RunStore, selected: list[str]) -> None:
    """The Compare page's server-side data work with some runs ticked (list, table, histories, frames, figure)."""
    records = store.list()
    by_id = {r.run_id: r for r in records}
    chosen = [by_id[i] for i in selected]
    histories = store.metrics_many(selected)
    compare.filter_runs(compare.runs_table(records), ("finished", "stopped"))
    compare.hyperparameter_frame(chosen)
    compare.config_diff(chosen)
    group_curves_figure({run_id: [h] for run_id, h in histories.items()}, "classification")


def store_timings(runs: int) -> dict[str, float]:
    """Fill a fresh store with `runs` finished runs; time listing, filtering and the Compare page's work."""
    with tempfile.TemporaryDirectory() as root:
        store = RunStore(root)
        start = time.perf_counter()
        runs_made, histories = fake_runs(runs)
        store.bulk_insert(runs_made, histories)
        ids = [r.run_id for r in runs_made]
        filled = time.perf_counter() - start
        runs_module._config.cache_clear()  # a server's first listing parses every config
        cold = _timed(store.list, reps=1)
        out = {
            "runs": runs,
            "fill_s": filled,
            "list_cold_s": cold,
            f"list_{runs}_s": _timed(store.list),
            "filter_s": _timed(lambda: store.list(("finished", "stopped"))),
            "compare_10_s": _timed(lambda: compare_work(store, ids[-10:]), reps=3),
        }
        store.close()
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}
