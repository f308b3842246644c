"""The Ray driver's watch on its cluster's head, kept outside Ray: once the head is gone, Ray blocks the driver's
calls for a minute and then ends the process without a word, so the driver knocks on the head's port itself."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

KNOCK_S = 2.0  # a head that has not accepted a connection in this long did not answer this knock


def host_port(address: str) -> tuple[str, int]:
    """("10.0.0.5", 6379) from "10.0.0.5:6379" (or "[::1]:6379")."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def answers(address: str, timeout: float = KNOCK_S) -> bool:
    """Whether something accepts a TCP connection at host:port now."""
    try:
        with socket.create_connection(host_port(address), timeout=timeout):
            return True
    except OSError:
        return False


class Lifeline:
    """Knocks on the head's port every `every_s` seconds in a daemon thread and calls on_lost once it has not
    answered for `lost_s` seconds in a row (a brief restart of the head is not a loss)."""

    def __init__(self, address: str, lost_s: float, on_lost: Callable[[], None], every_s: float = 1.0):
        self.address, self.lost_s, self.on_lost, self.every_s = address, lost_s, on_lost, every_s
        self.silent_since: float | None = None
        self.thread = threading.Thread(target=self._watch, daemon=True, name="nnlab-ray-lifeline")

    def start(self) -> Lifeline:
        self.thread.start()
        return self

    def lost(self) -> bool:
        """Whether the head failed its last knock (its runs' workers may be unreachable rather than dead)."""
        return self.silent_since is not None

    def _watch(self) -> None:
        while True:
            if answers(self.address):
                self.silent_since = None
            else:
                self.silent_since = self.silent_since or time.monotonic()
                if time.monotonic() - self.silent_since >= self.lost_s:
                    self.on_lost()
                    return
            time.sleep(self.every_s)
