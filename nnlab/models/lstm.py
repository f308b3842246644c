"""LSTM (text): a bidirectional LSTM over word embeddings, for text classification."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from nnlab.core.config import RunConfig
from nnlab.core.facts import DataFacts
from nnlab.models.registry import ArchSpec, InputSpec, register


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


def build(cfg: RunConfig, facts: DataFacts) -> TextLSTM:
    """The LSTM over the run's vocabulary."""
    return TextLSTM(facts.vocab_size, facts.num_classes, cfg.dropout, cfg.hidden)


SPEC = register(
    ArchSpec(
        "lstm",
        "LSTM (text)",
        InputSpec(("text",)),
        "classification",
        build,
        "reviews",
        {"dropout": 0.3, "hidden": 256, "vocab_size": 10_000, "max_len": 256},
        "Bidirectional LSTM over word embeddings; for text classification.",
        template=Path(__file__).with_name("lstm.tmpl"),
        torchscript="trace",  # its CPU path calls the LSTM kernel per layer and direction, which script cannot type
        tiny={"dataset": "reviews", "epochs": 1, "hidden": 32, "max_len": 40},
    )
)
