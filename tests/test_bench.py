"""The benchmark command and the 1,000-run store filler (no timing assertions: figures live in the bench output)."""

import json

import pytest

from nnlab.cli import main
from nnlab.runs import RunStore
from tests.helpers import fill_store


@pytest.mark.slow
def test_bench_tiny_prints_the_table_and_the_json_line_last(capsys):
    assert main(["bench", "--tiny", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    assert "| case |" in "\n".join(out[:-1])  # the readable table comes first
    assert [c["case"] for c in result["cases"]] == ["mlp b64", "cnn b64", "lstm b64"]
    for case in result["cases"]:
        assert {"case", "baseline_samples_per_s", "nnlab_samples_per_s", "ratio"} <= set(case)
        assert case["baseline_samples_per_s"] > 0 and case["nnlab_samples_per_s"] > 0
    assert isinstance(result["logging_overhead"], float)
    assert result["device"].startswith(("cpu", "cuda", "mps"))
    assert {"list_cold_s", "filter_s", "compare_10_s"} <= set(result["store"])


@pytest.mark.slow
def test_fill_store_adds_1000_finished_looking_runs_that_list_and_filter(store: RunStore):
    ids = fill_store(store, 1000, epochs=20)
    runs = store.list()
    assert len(ids) == len(set(ids)) == len(runs) == 1000
    assert [r.created for r in runs] == sorted((r.created for r in runs), reverse=True)
    finished = store.list("finished")
    assert 0 < len(finished) < 1000 and all(r.status == "finished" for r in finished)
    histories = store.metrics_many(ids[:10])
    assert all(1 <= len(h) <= 20 for h in histories.values())
    assert all(h[-1].epoch == store.get(i).epochs_done for i, h in histories.items())
    assert {r.arch for r in runs} >= {"mlp", "cnn", "lstm"}
    assert all(store.run_dir(i).joinpath("config.json").exists() for i in ids[:5])


def test_the_live_view_reads_only_new_epochs(store: RunStore):
    run_id = fill_store(store, 1, epochs=5)[0]
    done = store.get(run_id).epochs_done
    assert [r.epoch for r in store.metrics(run_id, after_epoch=done - 1)] == [done]
    assert store.metrics(run_id, after_epoch=done) == []
