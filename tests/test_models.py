import pytest
import torch

from nnlab.core.errors import NNLabError
from nnlab.core.facts import ImageFacts, Scaler, SeriesFacts, TabularFacts, TextFacts
from nnlab.data.registry import make_config
from nnlab.models import MLP, MODELS, build_model, count_parameters


def _image(classes: int, channels: int, side: int) -> ImageFacts:
    scaler = Scaler.of([0.5] * channels, [0.25] * channels)
    return ImageFacts(classes=tuple(map(str, range(classes))), channels=channels, source_channels=channels,
                      image_size=side, scaler=scaler)  # fmt: skip


INFO = {
    "mlp": _image(10, 1, 8),
    "cnn": _image(4, 3, 32),
    "resnet18": _image(4, 3, 32),
    "lstm": TextFacts(classes=("neg", "pos"), vocab=tuple(f"w{i}" for i in range(50)), max_len=20),
    "ts-lstm": SeriesFacts(columns=("a", "b"), target_index=1, window=32, horizon=3, scaler=Scaler.of([0, 0], [1, 1])),
}


def _batch(arch: str) -> tuple:
    if arch == "lstm":
        return torch.randint(1, 50, (3, 20)), torch.tensor([20, 5, 1])
    if arch == "ts-lstm":
        return (torch.randn(3, 32, 2),)
    return (torch.randn(3, *INFO[arch].input_shape),)


@pytest.mark.parametrize("arch", list(MODELS))
def test_every_registered_model_returns_one_output_per_class_and_learns(arch):
    cfg = make_config(arch, pretrained=False, horizon=3)
    model = build_model(cfg, INFO[arch])
    out = model(*_batch(arch))
    width = 3 if arch == "ts-lstm" else INFO[arch].num_classes
    assert out.shape == (3, width)
    out.sum().backward()
    trained = [p for p in model.parameters() if p.requires_grad]
    assert trained and all(p.grad is not None for p in trained if p.dim() > 1)


def test_default_mlp_on_784_inputs_has_the_reference_parameter_count():
    model = build_model(make_config("mlp"), TabularFacts(classes=tuple("0123456789"), features=784))
    assert count_parameters(model) == 242_762


def test_batchnorm_adds_a_batchnorm_after_each_linear():
    model = MLP(20, (16, 8), 3, 0.2, batchnorm=True)
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in model.modules()) == 2


@pytest.mark.slow
def test_packed_lstm_ignores_padding():
    model = build_model(make_config("lstm", dropout=0.0), INFO["lstm"]).eval()
    x = torch.randint(1, 50, (1, 20))
    x[:, 6:] = 0
    padded = torch.cat([x, torch.zeros(1, 30, dtype=torch.long)], dim=1)
    a = model(x, torch.tensor([6]))
    b = model(padded, torch.tensor([6]))
    assert torch.allclose(a, b, atol=1e-6)


def test_frozen_resnet_trains_only_its_new_head():
    model = build_model(make_config("resnet18", pretrained=False), INFO["resnet18"])
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("backbone.fc.") for n in trainable)
    model.train()
    assert not model.backbone.bn1.training and model.backbone.fc.training


def test_resnet_loads_imagenet_weights_from_torchvisions_cache(workspace, tmp_path):
    from torchvision.models import resnet18

    reference = resnet18(weights=None)
    with torch.no_grad():
        reference.conv1.weight.fill_(0.125)
    cache = tmp_path / "torch-home" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(reference.state_dict(), cache / "resnet18-f37072fd.pth")
    model = build_model(make_config("resnet18"), INFO["resnet18"])
    assert torch.all(model.backbone.conv1.weight == 0.125)


def test_resnet_without_network_or_cache_says_both_ways_out(monkeypatch):
    import urllib.error

    import torch.hub

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(NNLabError, match="--weights FILE.*--no-pretrained"):
        build_model(make_config("resnet18"), INFO["resnet18"])
