"""CNN: three convolution blocks and a two-layer head, for images trained from scratch."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from nnlab.core.config import RunConfig
from nnlab.core.facts import DataFacts
from nnlab.models.registry import ArchSpec, InputSpec, register


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


def build(cfg: RunConfig, facts: DataFacts) -> CNN:
    """The CNN for the data's channels and classes."""
    return CNN(facts.input_shape[0], facts.num_classes, cfg.dropout, cfg.hidden)


SPEC = register(
    ArchSpec(
        "cnn",
        "CNN",
        InputSpec(("image",), load_size=64),
        "classification",
        build,
        "shapes",
        {"dropout": 0.5, "hidden": 256},
        "Three convolution blocks; for images trained from scratch.",
        template=Path(__file__).with_name("cnn.tmpl"),
        tiny={"dataset": "digits", "epochs": 1, "hidden": 32},
    )
)
