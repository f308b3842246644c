"""The architectures (nn.Modules only) and the registry the form and the trainer read."""

from __future__ import annotations

import math
import threading
import urllib.error
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.facts import DataFacts
from nnlab.store.runfolder import load_tensors


class MLP(nn.Module):
    """Linear -> [BatchNorm1d] -> ReLU -> Dropout per hidden layer, then Linear to the classes."""

    def __init__(
        self, in_features: int, hidden: tuple[int, ...], classes: int, dropout: float, batchnorm: bool = False
    ):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for size in hidden:
            layers.append(nn.Linear(width, size))
            if batchnorm:
                layers.append(nn.BatchNorm1d(size))
            layers += [nn.ReLU(), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, classes)


def _conv_block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class CNN(nn.Module):
    """Three Conv3x3-BN-ReLU blocks (32/64/128), pooling, then a two-layer head."""

    def __init__(self, in_channels: int, classes: int, dropout: float, hidden: int = 256):
        super().__init__()
        self.features = nn.Sequential(
            *_conv_block(in_channels, 32),
            nn.MaxPool2d(2),
            *_conv_block(32, 64),
            nn.MaxPool2d(2),
            *_conv_block(64, 128),
            nn.AdaptiveAvgPool2d(4),
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(128 * 4 * 4, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (B, C, H, W) -> (B, classes)


class ResNet18Transfer(nn.Module):
    """torchvision's ResNet-18 with a new head; a frozen backbone stays in eval mode."""

    def __init__(
        self,
        classes: int,
        dropout: float,
        hidden: int = 256,
        freeze: bool = True,
        state_dict: dict[str, torch.Tensor] | None = None,
    ):
        super().__init__()
        from torchvision.models import resnet18

        self.backbone = resnet18(weights=None)
        self.backbone.fc = nn.Sequential(
            nn.Linear(512, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, classes)
        )
        if state_dict is not None:
            load_backbone(self.backbone, state_dict)
        self.frozen = freeze
        if freeze:
            for name, p in self.backbone.named_parameters():
                p.requires_grad = name.startswith("fc.")

    def train(self, mode: bool = True) -> ResNet18Transfer:
        super().train(mode)
        if self.frozen:  # keep BatchNorm statistics of the pretrained backbone fixed
            for name, module in self.backbone.named_children():
                if name != "fc":
                    module.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)  # (B, 3, H, W) -> (B, classes)


class TextLSTM(nn.Module):
    """Embedding -> 2-layer bidirectional LSTM -> last forward and backward states -> Linear."""

    def __init__(self, vocab: int, classes: int, dropout: float, hidden: int = 256, embed: int = 128):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed, padding_idx=0)
        self.lstm = nn.LSTM(embed, hidden, num_layers=2, bidirectional=True, batch_first=True, dropout=dropout)
        self.drop = nn.Dropout(dropout)
        self.between = nn.Dropout(dropout)  # between the LSTM layers on the CPU path (a module: the run seeds it)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.embed(x)  # (B, T, E)
        if lengths is not None and not emb.is_cuda:
            last = self._final_states(emb, lengths.clamp(min=1))
            return self.fc(self.drop(last))
        if lengths is not None:  # packed: padding never reaches the final states (cuDNN runs it fast)
            emb = pack_padded_sequence(emb, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(emb)  # h: (layers * 2, B, H)
        last = torch.cat([h[-2], h[-1]], dim=1)  # (B, 2H)
        return self.fc(self.drop(last))

    def _final_states(self, emb: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The packed LSTM's final states from one run per layer and direction over the padded batch.

        On the CPU a packed LSTM takes a slow generic kernel (about 8x slower than oneDNN's on 256-word texts);
        these runs take oneDNN's. Each text is reversed in place for the backward direction, so in every
        run the padding only follows a text's last word and never reaches the states that are read.
        """
        b, t = emb.shape[:2]
        pos = torch.arange(t, device=emb.device)
        inside = pos < lengths[:, None]  # (B, T)
        order = torch.where(inside, lengths[:, None] - 1 - pos, pos)  # per-text reversal, padding stays put

        def flip(z: torch.Tensor) -> torch.Tensor:
            return z.gather(1, order[..., None].expand_as(z))

        inp = emb
        for layer in range(self.lstm.num_layers):
            fwd = self._run(inp, layer, "")  # (B, T, H)
            bwd = flip(self._run(flip(inp), layer, "_reverse"))  # (B, T, H), aligned with the words again
            inp = torch.cat([fwd, bwd], dim=2)
            if layer < self.lstm.num_layers - 1:
                inp = self.between(inp)
        return torch.cat([fwd[torch.arange(b, device=emb.device), lengths - 1], bwd[:, 0]], dim=1)  # (B, 2H)

    def _run(self, inp: torch.Tensor, layer: int, suffix: str) -> torch.Tensor:
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        weights = [getattr(self.lstm, f"{n}_l{layer}{suffix}") for n in names]
        h0 = inp.new_zeros(1, inp.shape[0], self.lstm.hidden_size)
        return torch.lstm(inp, (h0, h0), weights, True, 1, 0.0, self.training, False, True)[0]


class SeriesLSTM(nn.Module):
    """2-layer LSTM over (B, window, features); Linear on the last step gives the next value(s)."""

    def __init__(self, features: int, horizon: int, hidden: int = 64, dropout: float = 0.0):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, num_layers=2, batch_first=True, dropout=dropout)
        self.fc = nn.Linear(hidden, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)  # (B, T, H)
        return self.fc(out[:, -1])  # (B, horizon)


def load_imagenet_weights(weights_path: str = "") -> dict[str, torch.Tensor]:
    """ResNet-18 ImageNet weights from a file, or torchvision's weights API and cache."""
    if weights_path:
        return load_weights_file(weights_path)
    from torchvision.models import ResNet18_Weights

    try:
        return ResNet18_Weights.IMAGENET1K_V1.get_state_dict(progress=False, weights_only=True)
    except (urllib.error.URLError, OSError) as exc:
        raise NNLabError(
            "Pretrained ResNet-18 weights are not in torchvision's cache and could not be downloaded "
            f"({type(exc).__name__}); point at a weights file (--weights FILE) or train from "
            "scratch (--no-pretrained)."
        ) from exc


def imagenet_weights_cached() -> bool:
    """Whether torchvision's cache ($TORCH_HOME/hub/checkpoints) holds ResNet-18's ImageNet weights."""
    from torchvision.models import ResNet18_Weights

    name = Path(urllib.parse.urlparse(ResNet18_Weights.IMAGENET1K_V1.url).path).name
    return (Path(torch.hub.get_dir()) / "checkpoints" / name).is_file()


def load_weights_file(path: str) -> dict[str, torch.Tensor]:
    """A state dict from a user's file, loaded without running any pickled code."""
    p = Path(path)
    if not p.is_file():
        raise NNLabError(f"Weights file {path} does not exist; give the path of a .pth state dict.")
    try:
        obj = load_tensors(p)
    except Exception as exc:
        raise NNLabError(
            f"Weights file {p.name} could not be read safely ({type(exc).__name__}); "
            "it must be a PyTorch state dict saved with torch.save(model.state_dict())."
        ) from exc
    if isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        obj = obj["model"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise NNLabError(f"Weights file {p.name} holds no state dict of tensors; save model.state_dict().")
    return obj


_PREFIXES = ("module.", "backbone.")  # DataParallel's wrapper; nnlab's own ResNet18Transfer


def load_backbone(backbone: nn.Module, state: dict[str, torch.Tensor], source: str = "The weights") -> None:
    """Load a ResNet-18 state dict into backbone, all but its classifier `fc` (the head is always new).

    Keys may carry a "module." or "backbone." prefix (so an nnlab model.pt fits); anything else that does
    not fit is refused naming the first mismatch: a wrong shape, a missing tensor or an unknown one.
    """
    state = {_strip(k): v for k, v in state.items()}
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    own = {k: v for k, v in backbone.state_dict().items() if not k.startswith("fc.")}
    wrong = [k for k in state if k in own and state[k].shape != own[k].shape]
    missing = [k for k in own if k not in state]
    unknown = [k for k in state if k not in own]
    fix = "; use a ResNet-18 state dict (torch.save(model.state_dict())) or train from scratch (--no-pretrained)."
    if wrong:
        k = wrong[0]
        raise NNLabError(
            f"{source} does not fit ResNet-18: {k} has shape {tuple(state[k].shape)} where the "
            f"model needs {tuple(own[k].shape)}{_more(wrong)}{fix}"
        )
    if missing:
        raise NNLabError(f"{source} does not fit ResNet-18: it lacks {missing[0]}{_more(missing)}{fix}")
    if unknown:
        raise NNLabError(
            f"{source} does not fit ResNet-18: it has {unknown[0]}, which ResNet-18 lacks{_more(unknown)}{fix}"
        )
    backbone.load_state_dict(state, strict=False)


def _strip(key: str) -> str:
    while key.startswith(_PREFIXES):
        key = key.split(".", 1)[1]
    return key


def _more(keys: list[str]) -> str:
    return f" (and {len(keys) - 1} more)" if len(keys) > 1 else ""


def _build_resnet(cfg: RunConfig, info: DataFacts) -> nn.Module:
    model = ResNet18Transfer(info.num_classes, cfg.dropout, cfg.hidden, cfg.freeze_backbone)
    if cfg.pretrained:
        source = f"Weights file {Path(cfg.weights_path).name}" if cfg.weights_path else "The ImageNet weights"
        load_backbone(model.backbone, load_imagenet_weights(cfg.weights_path), source)
    return model


@dataclass(frozen=True)
class InputSpec:
    """The data an architecture takes; data preparation reads this, never the architecture's name."""

    kinds: tuple[str, ...]  # data kinds it accepts: "tabular", "image", "text", "series"
    channels: int = 0  # images: the channels the model needs (0: the data's own)
    load_size: int = 0  # images of any size (a user's folder) are loaded at this side; 0: it takes none
    pretrained_size: int = 0  # the side its pretrained weights expect, with ImageNet statistics; 0: none
    min_size: int = 8  # a user's images smaller than this are loaded at this side (the least its layers use well)

    def accepts(self, kind: str, any_size: bool = False) -> bool:
        """Whether data of this kind fits (any_size: images that come in any size, resized when loaded)."""
        return kind in self.kinds and not (kind == "image" and any_size and not self.load_size)


@dataclass(frozen=True)
class ArchSpec:
    """What the form, data preparation and the trainer need to know about one architecture."""

    name: str
    title: str
    inputs: InputSpec
    task: str  # "classification" or "regression"
    build: Callable[[RunConfig, DataFacts], nn.Module]
    default_dataset: str
    defaults: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    fields: tuple[str, ...] = ("hidden", "dropout")  # the RunConfig model fields it reads, in the form's order


def _in_features(info: DataFacts) -> int:
    return math.prod(info.input_shape)


MODELS: dict[str, ArchSpec] = {
    spec.name: spec
    for spec in [
        ArchSpec(
            "mlp",
            "MLP",
            InputSpec(("tabular", "image")),  # flattened pixels: small images of a fixed size only
            "classification",
            lambda c, i: MLP(_in_features(i), c.hidden_sizes, i.num_classes, c.dropout, c.batchnorm),
            "digits",
            {"hidden_sizes": (256, 128, 64), "dropout": 0.2},
            "Fully connected layers; for feature tables and small images.",
            ("hidden_sizes", "dropout", "batchnorm"),
        ),
        ArchSpec(
            "cnn",
            "CNN",
            InputSpec(("image",), load_size=64),
            "classification",
            lambda c, i: CNN(i.input_shape[0], i.num_classes, c.dropout, c.hidden),
            "shapes",
            {"dropout": 0.5, "hidden": 256},
            "Three convolution blocks; for images trained from scratch.",
        ),
        ArchSpec(
            "resnet18",
            "ResNet-18 (transfer)",
            InputSpec(("image",), channels=3, load_size=128, pretrained_size=224, min_size=32),
            "classification",
            _build_resnet,
            "shapes",
            {"dropout": 0.3, "hidden": 256, "pretrained": True, "freeze_backbone": True},
            "ImageNet-pretrained ResNet-18 with a new head; for photos.",
            ("pretrained", "freeze_backbone", "hidden", "dropout", "weights_path"),
        ),
        ArchSpec(
            "lstm",
            "LSTM (text)",
            InputSpec(("text",)),
            "classification",
            lambda c, i: TextLSTM(i.vocab_size, i.num_classes, c.dropout, c.hidden),
            "reviews",
            {"dropout": 0.3, "hidden": 256, "vocab_size": 10_000, "max_len": 256},
            "Bidirectional LSTM over word embeddings; for text classification.",
        ),
        ArchSpec(
            "ts-lstm",
            "LSTM (time series)",
            InputSpec(("series",)),
            "regression",
            lambda c, i: SeriesLSTM(i.input_shape[1], c.horizon, c.hidden, c.dropout),
            "series",
            {"dropout": 0.0, "hidden": 64, "window": 32},
            "LSTM forecaster of the next value(s) of a series.",
        ),
    ]
}


def inputs_of(arch: str) -> InputSpec:
    """The input spec of a registered architecture; one that takes every kind as it is for an unknown name."""
    return MODELS[arch].inputs if arch in MODELS else InputSpec(("tabular", "image", "text", "series"))


_INIT_LOCK = threading.Lock()


def build_model(cfg: RunConfig, info: DataFacts) -> nn.Module:
    """The module for cfg.arch sized by facts from the data (classes, input shape, vocabulary).

    Its initial weights depend on cfg.seed only: they are drawn from torch's global generator, seeded and
    restored around the build under a lock, so models built at the same time in other threads (a preview
    in the dashboard) neither change them nor are changed by them.
    """
    with _INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return MODELS[cfg.arch].build(cfg, info)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of (trainable) parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
