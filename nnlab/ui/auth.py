"""An optional password for a shared demo: set `password` in .streamlit/secrets.toml; off when unset."""

from __future__ import annotations

import hmac

import streamlit as st

from nnlab.ui.keys import KEY_AUTHED, KEY_PASSWORD


def _expected() -> str | None:
    try:
        value = st.secrets.get("password")
    except Exception:  # no secrets file at all: the dashboard is open, as by default
        return None
    return str(value) if value else None


def locked() -> bool:
    """Whether a password is set and this session has not typed it yet."""
    return _expected() is not None and not st.session_state.get(KEY_AUTHED)


def require_password() -> None:
    """Stop the page behind a password box until this session has typed the configured password."""
    if not locked():
        return
    expected = str(_expected())
    st.title("nnlab")
    typed = st.text_input(
        "Password",
        type="password",
        key=KEY_PASSWORD,
        help="This dashboard is shared with a password; ask the person who shared it.",
    )
    if typed and hmac.compare_digest(typed.encode(), expected.encode()):
        st.session_state[KEY_AUTHED] = True
        st.rerun()
    if typed:
        st.error("That password is not right; check it with the person who shared this dashboard.")
    st.stop()
