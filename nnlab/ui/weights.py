"""Pretrained weights in the Train form: said before Start when they are not on this machine and cannot be
downloaded, with the two ways out as controls (upload a weights file, or train from scratch)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import streamlit as st

from nnlab.core.config import FIELDS, RunConfig
from nnlab.core.errors import NNLabError
from nnlab.models import MODELS, check_weights_file, imagenet_weights_cached
from nnlab.ui.fields import field_key
from nnlab.ui.keys import KEY_WEIGHTS_REFUSED, KEY_WEIGHTS_UPLOAD
from nnlab.ui.paths import kept_upload

WEIGHTS_HOST = "download.pytorch.org"  # where torchvision downloads them from
_REACH: dict[str, tuple[float, bool]] = {}  # host -> (when checked, reachable), kept a minute


def can_download(host: str = WEIGHTS_HOST, timeout: float = 2.0) -> bool:
    """Whether the host answers on HTTPS now (checked at most once a minute)."""
    checked = _REACH.get(host)
    if checked and time.monotonic() - checked[0] < 60:
        return checked[1]
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        ok = True
    except OSError:
        ok = False
    _REACH[host] = (time.monotonic(), ok)
    return ok


def needs_weights(cfg: RunConfig) -> bool:
    """The run starts from ImageNet weights that are neither given as a file nor in torchvision's cache."""
    spec = MODELS.get(cfg.arch)
    return bool(spec and spec.inputs.pretrained_size and cfg.pretrained and not cfg.weights_path) and not (
        imagenet_weights_cached()
    )


def _from_scratch(arch: str, dataset: str) -> None:
    st.session_state[field_key("pretrained", arch, dataset)] = False
    st.session_state[field_key("freeze_backbone", arch, dataset)] = False  # a frozen random backbone learns little


def _use_upload(arch: str, dataset: str) -> None:

    upload = st.session_state.get(KEY_WEIGHTS_UPLOAD)
    if upload is not None:
        path, refused = kept_upload(upload)
        if refused:
            st.session_state[KEY_WEIGHTS_REFUSED] = refused
            return
        st.session_state.pop(KEY_WEIGHTS_REFUSED, None)
        st.session_state[field_key("weights_path", arch, dataset)] = path


@st.cache_data(show_spinner="Checking the weights file…", max_entries=8)
def _file_problem(path: str, stamp: tuple[int, int]) -> str | None:
    try:
        check_weights_file(path)
    except NNLabError as exc:
        return str(exc)
    return None


def weights_file_problem(cfg: RunConfig) -> str | None:
    """What is wrong with the weights file the run would start from (uploaded or typed), found as soon as it is
    given rather than when the run starts; checked once per file version."""
    spec = MODELS.get(cfg.arch)
    path = Path(cfg.weights_path) if cfg.weights_path else None
    if not (spec and spec.inputs.pretrained_size and cfg.pretrained and path and path.is_file()):
        return None  # no file to check, or one the form's other checks refuse (missing, not used)
    stat = path.stat()
    return _file_problem(str(path), (stat.st_mtime_ns, stat.st_size))


def weights_problem(cfg: RunConfig) -> str | None:
    """What stops the run from having its pretrained weights: a weights file that does not fit, or ImageNet weights
    that are missing and cannot be downloaded (then the two ways out: upload a file, or train from scratch)."""
    if (problem := weights_file_problem(cfg)) is not None:
        return problem
    if not needs_weights(cfg) or can_download():
        return None
    pretrained, weights = FIELDS["pretrained"].label, FIELDS["weights_path"].label
    st.warning(
        f"ResNet-18's ImageNet weights are not on this machine, and {WEIGHTS_HOST} cannot be reached to download "
        f'them. Upload a weights file here, or train from scratch ("{pretrained}" off).',
        icon=":material/cloud_off:",
    )
    st.file_uploader(
        "Upload ResNet-18 weights (.pth state dict)",
        type=["pth", "pt"],
        key=KEY_WEIGHTS_UPLOAD,
        on_change=_use_upload,
        args=(cfg.arch, cfg.dataset),
        help=f'Saved in the workspace; its path goes into "{weights}".',
    )
    st.button(
        "Train from scratch instead",
        key="tr_from_scratch",
        icon=":material/restart_alt:",
        on_click=_from_scratch,
        args=(cfg.arch, cfg.dataset),
        help=f'Turns "{pretrained}" off, and "{FIELDS["freeze_backbone"].label}" with it.',
    )
    return st.session_state.get(KEY_WEIGHTS_REFUSED) or (
        f'Pretrained weights are missing: upload a weights file or turn "{pretrained}" off.'
    )
