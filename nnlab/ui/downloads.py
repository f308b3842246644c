"""A finished run handed over from the Results page: downloads of its export as a plain PyTorch script folder
and as its model (TorchScript, torch.export), each zipped (the lab writes them; a format the run's architecture
or data cannot give is a disabled button with the reason)."""

from __future__ import annotations

import streamlit as st

from nnlab.core.records import RunRecord
from nnlab.ui import lab
from nnlab.views.report_words import form_words

EXPORTS = (  # format, button label, what it holds
    ("script", "Code (train.py folder, zip)", "train.py, config.json and the data: trains without nnlab."),
    (
        "torchscript",
        "TorchScript model (zip)",
        "The trained model for torch.jit.load, its preprocessing.json and a predict.py for raw inputs.",
    ),
    (
        "torch-export",
        "torch.export model (zip)",
        "The trained model as a torch.export program (.pt2), its preprocessing.json and a predict.py for raw inputs.",
    ),
)


def export_downloads(rec: RunRecord) -> None:
    """Download the run as a plain PyTorch script folder and as its model (TorchScript, torch.export), each zipped;
    a format the run's architecture or data cannot give is a disabled button saying why."""
    cols = [col for _ in range(0, len(EXPORTS), 2) for col in st.columns(2)]  # two a row, like the downloads above
    for col, (fmt, label, help_text) in zip(cols, EXPORTS, strict=False):
        problem = lab().export_problem(rec.run_id, fmt)
        col.download_button(
            f"⬇️ {label}",
            lambda fmt=fmt: lab().export_zip(rec.run_id, fmt),
            file_name=f"nnlab-{rec.run_id}-{fmt}.zip",
            mime="application/zip",
            key=f"dl_export_{fmt}",
            on_click="ignore",
            disabled=problem is not None,
            help=form_words(problem) if problem else help_text,
        )
