"""LSTM (time series): a forecaster of the next value(s) of a series from a window of its columns."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from nnlab.core.config import RunConfig
from nnlab.core.facts import DataFacts
from nnlab.models.registry import ArchSpec, InputSpec, register


class SeriesLSTM(nn.Module):
    """2-layer LSTM over (B, window, features); Linear on the last step gives the next value(s)."""

    def __init__(self, features: int, horizon: int, hidden: int = 64, dropout: float = 0.0):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, num_layers=2, batch_first=True, dropout=dropout)
        self.fc = nn.Linear(hidden, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)  # (B, T, H)
        return self.fc(out[:, -1])  # (B, horizon)


def build(cfg: RunConfig, facts: DataFacts) -> SeriesLSTM:
    """The forecaster over the series' columns, `horizon` values ahead."""
    return SeriesLSTM(facts.input_shape[1], cfg.horizon, cfg.hidden, cfg.dropout)


SPEC = register(
    ArchSpec(
        "ts-lstm",
        "LSTM (time series)",
        InputSpec(("series",)),
        "regression",
        build,
        "series",
        {"dropout": 0.0, "hidden": 64, "window": 32},
        "LSTM forecaster of the next value(s) of a series.",
        template=Path(__file__).with_name("ts_lstm.tmpl"),
        tiny={"dataset": "series", "epochs": 2, "hidden": 32},
    )
)
