"""Pretrained weights: a user's file loaded with weights_only=True, refused naming the mismatch."""

from __future__ import annotations

import json
import pickle
import urllib.error
from pathlib import Path

import pytest
import torch
from torchvision.models import resnet18

from nnlab.cli.main import main
from nnlab.core.errors import NNLabError
from nnlab.core.facts import ImageFacts, Scaler
from nnlab.data.registry import make_config
from nnlab.models import build_model, load_imagenet_weights, load_weights_file
from tests.test_data_files import write_image_zip


@pytest.fixture(autouse=True)
def keep_threads():
    """The command line sets torch's thread count; give the next test the count it had."""
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


INFO = ImageFacts(
    classes=("a", "b", "c"), channels=3, source_channels=3, image_size=32, scaler=Scaler.of([0.5] * 3, [0.25] * 3)
)


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return resnet18(weights=None).state_dict()


@pytest.fixture
def weights(tmp_path, state) -> Path:
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    return path


def build(path: Path):
    return build_model(make_config("resnet18", weights_path=str(path), hidden=32), INFO)


def test_a_weights_file_is_loaded_into_the_backbone(weights, state):
    model = build(weights)
    assert torch.equal(model.backbone.conv1.weight, state["conv1.weight"])
    assert torch.equal(model.backbone.layer4[1].bn2.running_var, state["layer4.1.bn2.running_var"])
    assert model.backbone.fc[-1].out_features == 3  # the head is new, whatever the file's fc was


def test_an_nnlab_model_file_fits_as_weights(tmp_path, weights):
    own = build(weights).state_dict()  # keys "backbone.conv1.weight", ..., head "backbone.fc.0.weight"
    torch.save({"model": own}, tmp_path / "model.pt")
    model = build(tmp_path / "model.pt")
    assert torch.equal(model.backbone.conv1.weight, own["backbone.conv1.weight"])


@pytest.mark.slow
def test_weights_file_trains_from_the_command_line(tmp_path, capsys, weights):
    data = write_image_zip(tmp_path / "photos.zip", per_class=30)
    args = "train --arch resnet18 --dataset image-folder --image-size 32 --hidden 32 --epochs 2 --threads 1 --json"
    code = main([*args.split(), "--data", str(data), "--weights", str(weights), "--store", str(tmp_path / "ws")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert json.loads(out.out.strip().splitlines()[-1])["status"] == "finished"


def test_wrong_shapes_are_refused_naming_the_tensor(tmp_path, state):
    bad = dict(state, **{"conv1.weight": torch.zeros(64, 1, 7, 7)})
    torch.save(bad, tmp_path / "grey.pth")
    with pytest.raises(NNLabError) as err:
        build(tmp_path / "grey.pth")
    msg = str(err.value)
    assert (
        "grey.pth does not fit ResNet-18: conv1.weight has shape (64, 1, 7, 7) where the model needs "
        "(64, 3, 7, 7)" in msg
    )


def test_missing_and_unknown_tensors_are_named(tmp_path, state):
    torch.save({k: v for k, v in state.items() if not k.startswith("layer4.")}, tmp_path / "part.pth")
    with pytest.raises(NNLabError, match=r"it lacks layer4\.0\.conv1\.weight \(and \d+ more\)"):
        build(tmp_path / "part.pth")
    torch.save({**state, "extra.weight": torch.zeros(2)}, tmp_path / "more.pth")
    with pytest.raises(NNLabError, match="it has extra.weight, which ResNet-18 lacks"):
        build(tmp_path / "more.pth")


def test_a_truncated_file_is_refused_in_one_sentence(tmp_path, weights):
    (tmp_path / "cut.pth").write_bytes(weights.read_bytes()[: 1 << 20])
    with pytest.raises(NNLabError) as err:
        load_weights_file(str(tmp_path / "cut.pth"))
    assert "cut.pth could not be read safely" in str(err.value) and "\n" not in str(err.value)


class Evil:
    """Unpickling this with plain pickle would create the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("fmt", ["torch-zip", "raw-pickle"])
def test_a_file_carrying_code_is_refused_without_running_it(tmp_path, fmt):
    marker, path = tmp_path / "pwned", tmp_path / "evil.pth"
    payload = {"conv1.weight": Evil(marker)}
    if fmt == "torch-zip":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(NNLabError, match="evil.pth could not be read safely"):
        load_weights_file(str(path))
    assert not marker.exists()


def test_a_file_without_a_state_dict_or_a_missing_file_is_refused(tmp_path):
    torch.save(torch.zeros(3), tmp_path / "tensor.pth")
    with pytest.raises(NNLabError, match="holds no state dict"):
        load_weights_file(str(tmp_path / "tensor.pth"))
    with pytest.raises(NNLabError, match="does not exist"):
        load_weights_file(str(tmp_path / "nope.pth"))


def test_no_network_and_no_cache_says_to_give_a_file_or_train_from_scratch(monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(torch.hub, "urlopen", refuse)
    with pytest.raises(NNLabError) as err:
        load_imagenet_weights()
    assert str(err.value) == (  # said as the Train form says it, not by Python's name for the error ('(URLError)')
        "Pretrained ResNet-18 weights are not in torchvision's cache and download.pytorch.org could not be reached "
        "to download them; point at a weights file (--weights FILE) or train from scratch (--no-pretrained)."
    )


@pytest.mark.slow
def test_the_train_form_checks_a_weights_file_when_it_is_given(tmp_path, state):
    """Issue 21: an uploaded (or typed) weights file was read only when its run started, and the run failed; now
    the form says what does not fit at once, and Start stays off."""
    import streamlit as st

    from tests.helpers import app_at

    st.cache_data.clear()
    bad = dict(state)
    bad["layer1.0.conv1.weight"] = torch.zeros(3, 3)
    path = tmp_path / "wrong.pth"
    torch.save(bad, path)
    at = app_at("pages/1_Train.py").run()
    at.radio("tr_arch").set_value("resnet18").run()
    at.text_input("tr_weights_path").set_value(str(path)).run()
    errors = " ".join(e.value for e in at.error).replace("\\", "")
    assert "Weights file wrong.pth does not fit ResNet-18: layer1.0.conv1.weight has shape (3, 3)" in errors
    assert at.button("tr_start").disabled
    torch.save(state, path)  # the right file at the same path
    at.run()
    assert not any("does not fit" in e.value for e in at.error)
