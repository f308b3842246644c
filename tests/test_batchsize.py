"""The largest batch that fits the run's memory budget: doubling, then bisection, and what an epoch costs there."""

from __future__ import annotations

import json

import pytest

from nnlab.core.errors import NNLabError
from nnlab.core.limits import MemoryBudget
from nnlab.data.registry import make_config
from nnlab.engine.batchsize import _search, largest_batch
from nnlab.engine.memory import planned_mb, static_memory


def _probes(limit: int, start: int, most: int = 10**6) -> tuple[int, bool, list[int]]:
    tried: list[int] = []

    def fits(size: int) -> bool:
        tried.append(size)
        return size <= limit

    size, capped = _search(fits, start, most)
    return size, capped, tried


def test_the_search_doubles_then_bisects_to_the_exact_boundary():
    size, capped, tried = _probes(300, 16)
    assert size == 300 and not capped
    assert tried[:6] == [16, 32, 64, 128, 256, 512]  # doubling until one does not fit
    assert all(256 < t < 512 for t in tried[6:])  # then bisection between the last that fit and the first not


def test_the_search_halves_when_the_start_does_not_fit_and_stops_at_the_cap():
    assert _probes(5, 64)[0] == 5
    assert _probes(10**9, 16, most=1000)[:2] == (1000, True)
    with pytest.raises(NNLabError, match="Not even a batch of 1"):
        _probes(0, 16)


def test_the_largest_batch_of_a_real_model_is_the_last_that_fits_its_budget():
    cfg = make_config("mlp", hidden_sizes=(2048,), expert=True, epochs=1, threads=1, early_stopping=False)
    from nnlab.data import load_dataset

    fixed = planned_mb(static_memory(cfg, load_dataset(cfg).facts))
    budget = MemoryBudget(fixed + 4.0, "operator")  # room for a few hundred samples' activations
    fit = largest_batch(cfg, budget)
    assert 16 < fit.batch_size < 1347 and fit.capped_by == ""
    assert fit.memory_mb <= budget.mb
    bigger = largest_batch(cfg.replace(batch_size=fit.batch_size + 1), budget)
    assert bigger.batch_size == fit.batch_size  # one more does not fit: it comes back down
    assert fit.sentence().startswith(f"Batch size {fit.batch_size:,} fits:")


@pytest.mark.slow
def test_batch_size_max_on_the_command_line_finds_it_and_trains_with_it(tmp_path, capsys, monkeypatch):
    from nnlab.cli.main import main

    monkeypatch.setenv("NNLAB_HOME", str(tmp_path))
    args = ["train", "--arch", "mlp", "--hidden-sizes", "32", "--epochs", "1", "--batch-size", "max", "--json"]
    assert main([*args, "--store", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "--batch-size max: Batch size 256 (the largest batch size allowed here) fits" in err
    from nnlab.store.runs import RunStore

    run_id = json.loads(out.strip().splitlines()[-1])["run_id"]
    assert RunStore(tmp_path).get(run_id).config.batch_size == 256


@pytest.mark.slow
def test_the_form_offers_the_largest_batch_and_puts_it_in_the_batch_size_field():
    import streamlit as st

    from tests.helpers import app_at, wait_until

    st.cache_resource.clear()
    at = app_at("pages/1_Train.py").run()
    at.text_input("tr_mlp_hidden_sizes").set_value("32").run()
    at.button("tr_find_batch").click().run()

    def found() -> bool:
        at.run()  # AppTest ignores run_every: rerun until the background search is in
        return any(b.key == "tr_use_batch" for b in at.button)

    wait_until(found, "the largest batch", timeout=120, every=0.5)
    assert any(c.value.startswith("Batch size 256 (the largest batch size allowed here) fits") for c in at.caption)
    at.button("tr_use_batch").click().run()
    assert at.select_slider("tr_batch_size").value == 256
