"""An optional password for a shared demo: set `password` in .streamlit/secrets.toml; off when unset."""

from __future__ import annotations

import hmac

import streamlit as st

KEY_AUTHED = "nnlab_authenticated"


def _expected() -> str | None:
    try:
        value = st.secrets.get("password")
    except Exception:  # no secrets file at all: the dashboard is open, as by default
        return None
    return str(value) if value else None


def require_password() -> None:
    """Stop the page behind a password box until this session has typed the configured password."""
    expected = _expected()
    if expected is None or st.session_state.get(KEY_AUTHED):
        return
    st.title("nnlab")
    typed = st.text_input(
        "Password",
        type="password",
        key="nnlab_password",
        help="This dashboard is shared with a password; ask the person who shared it.",
    )
    if typed and hmac.compare_digest(typed.encode(), expected.encode()):
        st.session_state[KEY_AUTHED] = True
        st.rerun()
    if typed:
        st.error("That password is not right; check it with the person who shared this dashboard.")
    st.stop()
