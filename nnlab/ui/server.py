"""The lab starts with the server, not with the first page someone opens: runs queued before a restart start at once.

`streamlit run app.py` finds the `st.App` that app.py makes when it is imported to be served, and serves it with
uvicorn; the App's lifespan is Streamlit's documented hook for a server's start and end
(docs.streamlit.io/develop/api-reference/server/st.app). On start it makes the lab in a thread of its own (the
server answers meanwhile); the first page run takes that lab over (nnlab.ui.lab), and the server's end shuts it
down (running runs end interrupted, resumable). Without a server (AppTest), the first page run makes the lab.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from nnlab.lab import Lab
from nnlab.store.runs import default_home

_log = logging.getLogger(__name__)
_started: dict[str, tuple[threading.Event, list[Lab]]] = {}  # home -> (made, the lab once made), until taken
_served: dict[str, Lab] = {}  # home -> the lab the pages use, shut down with the server
_lock = threading.Lock()


def served_home() -> str:
    """The workspace the server and its pages use: $NNLAB_HOME, else ./nnlab-workspace, made absolute."""
    return os.path.abspath(default_home())


def start(home: str) -> None:
    """Make the dashboard's lab for `home` in a background thread (its job manager starts the queued runs)."""
    made: tuple[threading.Event, list[Lab]] = (threading.Event(), [])
    with _lock:
        if home in _started:
            return
        _started[home] = made

    def make() -> None:
        try:
            made[1].append(Lab.for_dashboard(home))
        except Exception:  # the first page run makes the lab again, and shows why it cannot in one sentence
            _log.exception("nnlab could not start its lab with the server")
        finally:
            made[0].set()

    threading.Thread(target=make, name="nnlab-lab-start", daemon=True).start()


def take(home: str, timeout: float = 300) -> Lab | None:
    """The lab the server started for `home` (waiting until it is made), once; None where none was started."""
    with _lock:
        made = _started.pop(home, None)
    if made is None or not made[0].wait(timeout):
        return None
    return made[1][0] if made[1] else None


def keep(home: str, lab: Lab) -> Lab:
    """Remember the lab the pages use for `home`, to shut it down with the server; returns it."""
    with _lock:
        _served[home] = lab
    return lab


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """st.App's lifespan: the lab starts with the server and shuts down with it."""
    home = served_home()
    start(home)
    try:
        yield
    finally:
        lab = _served.get(home) or take(home, timeout=0)
        if lab is not None:
            lab.shutdown()
