"""MLP: fully connected layers over flattened inputs (feature tables and small images of a fixed size)."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from nnlab.core.config import RunConfig
from nnlab.core.facts import DataFacts
from nnlab.models.registry import ArchSpec, InputSpec, register


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
        return self.net(x)  # (B, ...) -> (B, classes)


def build(cfg: RunConfig, facts: DataFacts) -> MLP:
    """The MLP sized by the data: every input value (pixel or feature) is one input unit."""
    return MLP(math.prod(facts.input_shape), cfg.hidden_sizes, facts.num_classes, cfg.dropout, cfg.batchnorm)


SPEC = register(
    ArchSpec(
        "mlp",
        "MLP",
        InputSpec(("tabular", "image")),  # flattened pixels: small images of a fixed size only
        "classification",
        build,
        "digits",
        {"hidden_sizes": (256, 128, 64), "dropout": 0.2},
        "Fully connected layers; for feature tables and small images.",
        ("hidden_sizes", "dropout", "batchnorm"),
        template=Path(__file__).with_name("mlp.tmpl"),
        tiny={"dataset": "digits", "hidden_sizes": (32,), "epochs": 2},
    )
)
