"""Facts learned from the data are typed per kind, round-trip through JSON, and old runs' info.json still loads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnlab.core.facts import ImageFacts, Scaler, SeriesFacts, TabularFacts, TextFacts, facts_from_json_dict
from nnlab.core.findings import INFO, WARNING, Finding, info
from nnlab.data import load_dataset
from nnlab.store.runfolder import RunFolder
from tests.helpers import tiny_config

FACTS = [
    ImageFacts(classes=("a", "b"), channels=3, source_channels=1, image_size=8, scaler=Scaler.of([0.5] * 3, [0.2] * 3)),
    TabularFacts(classes=("x", "y"), features=2, columns=("h", "w"), scaler=Scaler.of([1.0, 2.0], [3.0, 4.0])),
    TabularFacts(classes=("x", "y"), features=784, findings=(info("missing", "Dropped 1 row."),), source="mine.csv"),
    TextFacts(classes=("neg", "pos"), vocab=("<pad>", "<unk>", "good"), max_len=40),
    SeriesFacts(columns=("t", "load"), target_index=1, window=4, horizon=2, scaler=Scaler.of([0, 10], [1, 5])),
]


@pytest.mark.parametrize("facts", FACTS, ids=lambda f: f.kind)
def test_facts_round_trip_through_json(facts):
    text = json.dumps(facts.to_json_dict())
    assert facts_from_json_dict(json.loads(text)) == facts


def test_the_scaler_standardises_and_back():
    scaler = Scaler.of([10.0, -2.0], [2.0, 0.5])
    x = np.array([[12.0, -1.0], [8.0, -2.5]])
    z = scaler.scale(x)
    assert np.allclose(z, [[1.0, 2.0], [-1.0, -1.0]])
    assert np.allclose(scaler.unscale(z[:, 1], 1), x[:, 1]) and scaler.unscale_spread(0.5, 0) == 1.0
    assert scaler.scale(x.astype(np.float32)).dtype == np.float32  # computed in the data's own precision


def test_the_info_json_of_an_earlier_version_still_loads(tmp_path):
    old = {  # a series run's info.json as nnlab wrote it before the facts were typed
        "input_shape": [32, 1],
        "columns": ["value"],
        "target": "value",
        "target_index": 0,
        "mean": [5.0],
        "std": [2.0],
        "window": 32,
        "horizon": 1,
        "kind": "series",
        "task": "regression",
    }
    (tmp_path / "info.json").write_text(json.dumps(old))
    facts = RunFolder(tmp_path).read_facts()
    assert isinstance(facts, SeriesFacts) and facts.target == "value" and facts.input_shape == (32, 1)
    assert facts.scaler.unscale(1.0, 0) == 7.0
    image = {"num_classes": 2, "classes": ["a", "b"], "input_shape": [3, 8, 8], "source_channels": 1}
    image |= {"mean": [0.1] * 3, "std": [0.3] * 3, "image_size": 8, "kind": "image", "task": "classification"}
    assert facts_from_json_dict(image).channels == 3


def test_a_saved_run_rebuilds_its_facts(tmp_path):
    data = load_dataset(tiny_config("mlp"))
    folder = RunFolder(tmp_path)
    folder.write_facts(data.facts)
    assert folder.read_facts() == data.facts and data.kind == "image" and data.task == "classification"


def test_the_notes_and_warnings_of_an_earlier_version_read_as_findings(tmp_path):
    old = {  # a table run's info.json as nnlab wrote it when what loading did and what looked wrong were sentences
        "kind": "tabular",
        "task": "classification",
        "classes": ["a", "b"],
        "input_shape": [2],
        "features": 2,
        "mean": [0.0, 0.0],
        "std": [1.0, 1.0],
        "notes": ["Dropped 6 of 300 rows of iris.csv with missing values."],
        "warnings": ["The classes are imbalanced: 'a' has 270 examples, 'b' only 30; read the balanced accuracy."],
    }
    (tmp_path / "info.json").write_text(json.dumps(old))
    facts = RunFolder(tmp_path).read_facts()
    assert facts.findings == (
        Finding("note", WARNING, old["warnings"][0]),
        Finding("note", INFO, old["notes"][0]),
    )
    assert facts_from_json_dict(json.loads(json.dumps(facts.to_json_dict()))) == facts  # and write back typed
