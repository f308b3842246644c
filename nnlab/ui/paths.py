"""Which typed paths a dashboard may read: with a password set (a shared demo) or allowed folders configured,
only the workspace and the folders the operator allows ($NNLAB_DATA_DIRS, or `data_dirs` in Streamlit secrets).
A refused path is refused before anything about it is looked at, so a refusal says nothing about the file."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from nnlab.core.errors import NNLabError
from nnlab.ui import lab
from nnlab.ui.auth import password_set
from nnlab.ui.keys import KEY_KEPT_UPLOADS

DIRS_ENV = "NNLAB_DATA_DIRS"  # folders, separated by os.pathsep (":" on Linux and macOS)


def allowed_dirs() -> list[Path]:
    """The folders the operator allows beyond the workspace ($NNLAB_DATA_DIRS, then secrets' data_dirs)."""
    given = [d for d in os.environ.get(DIRS_ENV, "").split(os.pathsep) if d.strip()]
    try:
        extra = st.secrets.get("data_dirs") or []
    except Exception:  # no secrets file: nothing more allowed
        extra = []
    given += [extra] if isinstance(extra, str) else [str(d) for d in extra]
    return [Path(d).expanduser().resolve() for d in given]


def confined() -> bool:
    """Whether typed paths are confined: a shared (password) dashboard, or one with allowed folders configured."""
    return password_set() or bool(allowed_dirs())


def confine(typed: str, workspace: Path, label: str) -> tuple[str, str | None]:
    """The typed path resolved (symlinks and .. followed) and None, or the typed text and a problem sentence naming the form's `label` when
    it lies outside the workspace and the allowed folders; the sentence never tells whether the path exists."""
    path = Path(typed).expanduser()
    if not confined():
        return str(path), None
    resolved = path.resolve()
    roots = [workspace.resolve(), *allowed_dirs()]
    if any(resolved.is_relative_to(root) for root in roots):
        return str(resolved), None
    return typed, (  # the typed text stays the field's value (Start is off), so no second message asks for one
        f"{label}: this shared dashboard reads only files in its workspace or in the folders its operator allows; "
        "upload the file instead."
    )


def kept_upload(upload: UploadedFile) -> tuple[str, str | None]:
    """Where an uploaded file is kept in the workspace (through the lab: streamed to disk once per upload, not on
    every rerun of the form, and refused over the disk quota), and None; or "" and the sentence saying why not."""
    kept = st.session_state.setdefault(KEY_KEPT_UPLOADS, {})
    path = kept.get(upload.file_id)
    if path and Path(path).is_file():
        return path, None
    upload.seek(0)
    try:
        path = str(lab().keep_upload(upload.name, upload, upload.size))
    except NNLabError as exc:
        return "", str(exc)
    kept[upload.file_id] = path
    return path, None
