import dataclasses
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnlab.core.checks import field_problems
from nnlab.core.config import DATA_FIELDS, FIELDS, RANGES, SECTIONS, WIDGETS, RunConfig
from nnlab.core.errors import ConfigError
from nnlab.data.registry import check, make_config, validate


def test_defaults_are_valid_and_follow_the_reference_designs():
    assert validate(RunConfig()) == []
    cfg = make_config("cnn")
    assert (cfg.dataset, cfg.dropout) == ("shapes", 0.5)
    assert make_config("ts-lstm").hidden == 64
    assert make_config("lstm").vocab_size == 10_000 and make_config("lstm").max_len == 256


def test_json_round_trip_keeps_every_field():
    cfg = make_config("mlp", hidden_sizes=(64, 32), augment=("flip",), lr=0.003, seed=7)
    back = RunConfig.from_json(cfg.to_json())
    assert back == cfg
    assert isinstance(back.hidden_sizes, tuple)


def test_unknown_keys_from_an_older_store_are_ignored():
    data = json.loads(RunConfig().to_json()) | {"no_longer_a_field": 1}
    assert RunConfig.from_dict(data) == RunConfig()


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("lr", 0.5, ["Learning rate", "0.0001", "0.01"]),
        ("batch_size", 8, ["Batch size", "16", "256"]),
        ("dropout", 0.9, ["Dropout", "0.1", "0.5"]),
        ("weight_decay", 0.5, ["Weight decay", "1e-05", "0.001"]),
        ("epochs", -1, ["Epochs"]),
        ("lr", "fast", ["Learning rate", "number"]),
    ],
)
def test_out_of_range_values_name_the_field_and_its_range(field, value, words):
    problems = validate(RunConfig().replace(**{field: value}))
    assert len(problems) == 1
    assert all(w in problems[0] for w in words), problems


def test_zero_is_allowed_where_the_spec_says_so():
    assert validate(RunConfig(dropout=0.0, weight_decay=0.0)) == []


def test_expert_mode_widens_ranges_visibly():
    assert validate(RunConfig(lr=0.5))
    assert validate(RunConfig(lr=0.5, expert=True)) == []


def test_hidden_layer_sizes_are_checked_each():
    problems = validate(RunConfig(hidden_sizes=(256, 4096)))
    assert problems and "Hidden layer size 4096" in problems[0]


def test_architecture_that_does_not_fit_the_dataset_is_refused():
    problems = validate(make_config("lstm", dataset="digits"))
    assert problems == ["Architecture lstm does not fit dataset digits (image data); use mlp or cnn or resnet18."]


def test_check_raises_with_every_message():
    with pytest.raises(ConfigError) as err:
        check(RunConfig(lr=5, batch_size=1))
    assert len(err.value.messages) == 2


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_learning_rate_validation_never_crashes_and_accepts_only_the_range(lr):
    problems = validate(RunConfig(lr=lr))
    lo, hi = RANGES["lr"].bounds(False)
    assert (problems == []) == (lo <= lr <= hi)


def test_a_dataset_that_reads_a_file_needs_an_existing_path(tmp_path):
    assert "give its path with --data FILE" in validate(make_config("mlp", dataset="csv"))[0]
    missing = validate(make_config("mlp", dataset="csv", data_path=str(tmp_path / "nope.csv")))
    assert missing == [f"Data file {tmp_path / 'nope.csv'} does not exist; check the path."]


def test_a_weights_file_without_pretrained_resnet_is_refused(tmp_path):
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"x")
    assert "only used by resnet18" in validate(make_config("mlp", weights_path=str(weights)))[0]
    assert "only used by resnet18" in validate(make_config("resnet18", pretrained=False, weights_path=str(weights)))[0]
    assert validate(make_config("resnet18", weights_path=str(weights))) == []


def test_every_field_is_described_once_with_a_widget_and_section_the_form_knows():
    assert set(FIELDS) == {f.name for f in dataclasses.fields(RunConfig)}
    for name, info in FIELDS.items():
        assert info.label and info.widget in WIDGETS and info.section in SECTIONS, name
        if info.widget in ("log-slider", "pow2-slider", "slider", "number"):
            lo, hi = RANGES[name].bounds(False)
            assert lo <= getattr(RunConfig(), name) <= hi or RANGES[name].zero_ok, name
        if info.when:
            assert info.when[0] in FIELDS and info.when[0] != name
        if info.widget == "select":
            assert getattr(RunConfig(), name) in info.choices
    assert set(DATA_FIELDS) == {
        *("dataset", "data_path", "data_root", "label_column", "text_column", "target", "image_size", "missing"),
        *("vocab_size", "max_len", "window", "horizon", "val_fraction", "test_fraction", "arch", "pretrained", "seed"),
        "split_seed",
        *("class_weights", "keep_ids"),  # the data check says whether weights are on; ID columns are left out
        "exclude_rows",  # rows left out of training (doubtful labels)
        "classical",  # a residual base changes the network's inputs and targets
    }


def test_class_weights_of_an_earlier_run_read_as_on_and_off():
    assert RunConfig.from_dict({"class_weights": True}).class_weights == "on"
    assert RunConfig.from_dict({"class_weights": False}).class_weights == "off"  # what old runs trained with
    assert RunConfig().class_weights == "auto"


def test_out_of_range_sentences_read_well():
    """Issue 21: one sentence for forty layers of 4096 (there was one per layer), whole bounds whole ('0 to
    2.14748e+09' for the seed), no expert mode offered where it widens nothing, and '1 step', not '1 steps'."""
    from nnlab.core.fitted import fit_findings

    forty = field_problems(RunConfig(arch="mlp", hidden_sizes=(4096,) * 40))
    assert forty == ["Hidden layer size 4096 is outside 32 to 1024; pick a value in range or give --expert."]
    mixed = field_problems(RunConfig(arch="mlp", hidden_sizes=(4096, 8, 4096, 64)))
    assert mixed == ["Hidden layer sizes 4096 and 8 are outside 32 to 1024; pick values in range or give --expert."]
    assert field_problems(RunConfig(arch="mlp", seed=10**20)) == [
        "Seed 100000000000000000000 is outside 0 to 2147483647; pick a value in range."
    ]
    fitted = " ".join(f.sentence for f in fit_findings(RunConfig(arch="mlp", batch_size=0, epochs=0), 10))
    assert "1 step an epoch" in fitted and "1 steps" not in fitted and "10 training examples" in fitted


def test_fitted_epochs_capped_on_tiny_data_do_not_promise_a_thousand_steps():
    """A 60-step series (31 training windows, 2 steps an epoch) read 'up to 200, 400 optimiser steps (room for at
    least 20 epochs and 1,000 steps ...)': the cap of 200 epochs is said instead of steps it does not reach."""
    from nnlab.core.fitted import MAX_AUTO_EPOCHS, MIN_STEPS, fit_findings

    capped = fit_findings(RunConfig(arch="ts-lstm", batch_size=0, epochs=0), 31)[1].sentence
    assert f"up to {MAX_AUTO_EPOCHS}, 400 optimiser steps" in capped and "room for" not in capped
    assert f"at most {MAX_AUTO_EPOCHS} epochs" in capped
    room = fit_findings(RunConfig(arch="ts-lstm", batch_size=0, epochs=0), 268)[1].sentence
    assert f"room for at least 20 epochs and {MIN_STEPS:,} steps" in room  # not capped: as before


def test_the_image_size_hint_says_what_zero_does():
    """The hint said 'Resize images to this square size (0: keep)', while 0 scales a folder's 300-px photos down to
    the architecture's largest load size (64 for the CNN) and trains pretrained ResNet-18 at 224: it now names the
    bounds the loader applies."""
    from nnlab.data.images import Sizes, load_size
    from nnlab.models import MODELS

    hint = FIELDS["image_size"].hint
    assert "keep" not in hint
    for arch, spec in MODELS.items():
        if spec.inputs.load_size:  # the architectures that take a folder of images of any size
            cfg = make_config(arch, image_size=0)
            big, tiny = Sizes(300, 300, 300, False), Sizes(2, 2, 2, False)
            bounds = f"{load_size(cfg, tiny)} to {load_size(cfg, big)}"
            assert re.search(f"{bounds} for (the )?{re.escape(spec.title.split(' (')[0])}", hint), (arch, hint)
        if spec.inputs.pretrained_size:
            assert f"{spec.inputs.pretrained_size} with its ImageNet weights" in hint
