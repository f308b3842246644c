"""An optional password for a shared demo: set `password` in .streamlit/secrets.toml; off when unset."""

from __future__ import annotations

import hmac
import threading
import time
from collections import defaultdict, deque

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from nnlab.ui.keys import KEY_AUTHED, KEY_PASSWORD

MAX_TRIES, WINDOW_S = 5, 60.0  # wrong passwords allowed per visitor (see visitor_key) per window
_FAILURES: dict[str, deque[float]] = defaultdict(deque)  # shared by every session of this server process
_LOCK = threading.Lock()


def _expected() -> str | None:
    try:
        value = st.secrets.get("password")
    except Exception:  # no secrets file at all: the dashboard is open, as by default
        return None
    return str(value) if value else None


def password_set() -> bool:
    """Whether this dashboard is shared behind a password."""
    return _expected() is not None


def visitor_key(address: str | None, forwarded: str, session: str) -> str:
    """Whose wrong passwords count together, so that one visitor cannot lock out others: the connection's address
    with the last hop of X-Forwarded-For (behind a reverse proxy, the client as that proxy saw it: it wrote that hop,
    so a client cannot forge it, and a forged header from a direct client still carries the client's own address);
    where neither is known (a proxy on this machine that sends no such header), the browser session alone."""
    hop = forwarded.split(",")[-1].strip()
    if address or hop:
        return f"{address or 'local'} via {hop or '-'}"
    return f"session {session}"


def _client() -> str:
    try:
        address, forwarded = st.context.ip_address, st.context.headers.get("X-Forwarded-For") or ""
    except Exception:  # outside a browser session
        address, forwarded = None, ""
    ctx = get_script_run_ctx()
    return visitor_key(address if isinstance(address, str) else None, forwarded, ctx.session_id if ctx else "")


def visitor() -> str:
    """Who starts runs from this session, for the lab's bounds on one visitor: "" for the local operator (no
    password set), else the visitor's key (see visitor_key)."""
    return _client() if password_set() else ""


def wait_left(client: str, now: float | None = None) -> float:
    """Seconds this client must wait before its next try (0: it may try now)."""
    now = now or time.monotonic()
    with _LOCK:
        tries = _FAILURES[client]
        while tries and now - tries[0] > WINDOW_S:
            tries.popleft()
        return WINDOW_S - (now - tries[0]) if len(tries) >= MAX_TRIES else 0.0


def _failed(client: str) -> None:
    with _LOCK:
        _FAILURES[client].append(time.monotonic())


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
    if typed:
        _try(typed, expected)
    st.stop()


def _try(typed: str, expected: str) -> None:
    """Check one typed password, unless this client has used up its tries for now."""
    client = _client()
    left = wait_left(client)
    if left:
        st.error(f"Too many wrong passwords from here; try again in {left:.0f} s.")
        return
    if hmac.compare_digest(typed.encode(), expected.encode()):
        st.session_state[KEY_AUTHED] = True
        st.rerun()
    _failed(client)
    st.error("That password is not right; check it with the person who shared this dashboard.")
