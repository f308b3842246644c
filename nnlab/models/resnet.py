"""ResNet-18 (transfer): torchvision's ResNet-18 with ImageNet weights and a new head, for photos; where its
weights come from (a file, or torchvision's cache) and how they are checked before they load."""

from __future__ import annotations

import urllib.error
import urllib.parse
from pathlib import Path

import torch
from torch import nn

from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.facts import DataFacts
from nnlab.models.registry import ArchSpec, InputSpec, register
from nnlab.store.runfolder import load_tensors


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


def load_imagenet_weights(weights_path: str = "") -> dict[str, torch.Tensor]:
    """ResNet-18 ImageNet weights from a file, or torchvision's weights API and cache."""
    if weights_path:
        return load_weights_file(weights_path)
    from torchvision.models import ResNet18_Weights

    try:
        return ResNet18_Weights.IMAGENET1K_V1.get_state_dict(progress=False, weights_only=True)
    except (urllib.error.URLError, OSError) as exc:
        host = urllib.parse.urlparse(ResNet18_Weights.IMAGENET1K_V1.url).hostname
        why = (
            f"{host} could not be reached to download them"
            if isinstance(exc, urllib.error.URLError)
            else f"they could not be saved there ({exc.strerror or type(exc).__name__})"
        )
        raise NNLabError(
            f"Pretrained ResNet-18 weights are not in torchvision's cache and {why}; point at a weights file "
            "(--weights FILE) or train from scratch (--no-pretrained)."
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


def check_weights_file(path: str) -> None:
    """Read a weights file and check that it fits ResNet-18's backbone, before any run uses it (the model is built
    on the meta device: shapes only, nothing allocated); NNLabError says what does not fit."""
    from torchvision.models import resnet18

    with torch.device("meta"):
        backbone = resnet18(weights=None)
    _fitting(backbone, load_weights_file(path), f"Weights file {Path(path).name}")


_PREFIXES = ("module.", "backbone.")  # DataParallel's wrapper; nnlab's own ResNet18Transfer


def load_backbone(backbone: nn.Module, state: dict[str, torch.Tensor], source: str = "The weights") -> None:
    """Load a ResNet-18 state dict into backbone, all but its classifier `fc` (the head is always new).

    Keys may carry a "module." or "backbone." prefix (so an nnlab model.pt fits); anything else that does
    not fit is refused naming the first mismatch: a wrong shape, a missing tensor or an unknown one.
    """
    backbone.load_state_dict(_fitting(backbone, state, source), strict=False)


def _fitting(backbone: nn.Module, state: dict[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    """state without its prefixes and its classifier, once checked against backbone's shapes (NNLabError if not)."""
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
    return state


def _strip(key: str) -> str:
    while key.startswith(_PREFIXES):
        key = key.split(".", 1)[1]
    return key


def _more(keys: list[str]) -> str:
    return f" (and {len(keys) - 1} more)" if len(keys) > 1 else ""


def build(cfg: RunConfig, facts: DataFacts) -> nn.Module:
    """The ResNet with its ImageNet (or a file's) weights when pretrained."""
    model = ResNet18Transfer(facts.num_classes, cfg.dropout, cfg.hidden, cfg.freeze_backbone)
    if cfg.pretrained:
        source = f"Weights file {Path(cfg.weights_path).name}" if cfg.weights_path else "The ImageNet weights"
        load_backbone(model.backbone, load_imagenet_weights(cfg.weights_path), source)
    return model


SPEC = register(
    ArchSpec(
        "resnet18",
        "ResNet-18 (transfer)",
        InputSpec(("image",), channels=3, load_size=128, pretrained_size=224, min_size=32),
        "classification",
        build,
        "shapes",
        {"dropout": 0.3, "hidden": 256, "pretrained": True, "freeze_backbone": True},
        "ImageNet-pretrained ResNet-18 with a new head; for photos.",
        ("pretrained", "freeze_backbone", "hidden", "dropout", "weights_path"),
        template=Path(__file__).with_name("resnet.tmpl"),
        tiny={"dataset": "digits", "epochs": 1, "pretrained": False, "freeze_backbone": False, "hidden": 32},
    )
)
