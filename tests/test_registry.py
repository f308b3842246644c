"""The registries own their specs: which datasets an architecture fits follows from its input spec, data
preparation reads that spec, and the config imports nothing of nnlab (the layers: tests/test_layers.py)."""

from __future__ import annotations

from dataclasses import replace

from nnlab.data import DATASETS, load_dataset
from nnlab.data.registry import make_config, validate
from nnlab.models import MODELS, InputSpec
from tests.test_layers import graph


def test_config_is_a_leaf():
    assert graph()["nnlab.core.config"] <= {"nnlab.core.errors"}


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
    assert data.facts.input_shape == (3, 8, 8) and len(data.facts.scaler.mean) == 3
    assert load_dataset(make_config("cnn", dataset="digits")).facts.input_shape == (1, 8, 8)


def test_a_file_given_to_a_dataset_that_reads_none_is_refused(tmp_path):
    """`train --arch mlp --dataset digits --data leak.csv` trained digits and never read the file."""
    path = tmp_path / "leak.csv"
    path.write_text("a,label\n1,0\n2,1\n")
    problems = validate(make_config("mlp", dataset="digits", data_path=str(path)))
    assert problems == [
        "Dataset digits reads no file of yours, yet --data leak.csv was given; give --dataset csv to train on the "
        "file, or leave --data out."
    ]
    assert validate(make_config("mlp", dataset="csv", data_path=str(path))) == []
