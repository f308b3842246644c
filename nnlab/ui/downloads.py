"""A finished run handed over from the Results page: downloads of its export as a plain PyTorch script folder
and as a TorchScript model, each zipped (the lab writes them; a format the run cannot take is a disabled button
with the reason)."""

from __future__ import annotations

import streamlit as st

from nnlab.core.records import RunRecord
from nnlab.ui import lab


def export_downloads(rec: RunRecord) -> None:
    """Download the run as a plain PyTorch script folder and as a TorchScript model, each zipped."""
    c1, c2 = st.columns(2)
    for col, fmt, label, help_text in (
        (c1, "script", "Code (train.py folder, zip)", "train.py, config.json and the data: trains without nnlab."),
        (c2, "torchscript", "TorchScript model (zip)", "The trained model for torch.jit.load, and its preprocessing."),
    ):
        problem = lab().export_problem(rec.run_id, fmt)
        col.download_button(
            f"⬇️ {label}",
            lambda fmt=fmt: lab().export_zip(rec.run_id, fmt),
            file_name=f"nnlab-{rec.run_id}-{fmt}.zip",
            mime="application/zip",
            key=f"dl_export_{fmt}",
            on_click="ignore",
            disabled=problem is not None,
            help=problem or help_text,
        )
