"""How the Ray driver connects to its cluster: within a time limit, and with one sentence when it cannot."""

from __future__ import annotations

import threading
from typing import Protocol


class Connects(Protocol):
    """A driver: its address ("" for a local instance) and its connect()."""

    address: str

    def connect(self) -> None: ...


def connect_within(driver: Connects, seconds: float) -> None:
    """driver.connect(), or TimeoutError when the address does not answer in time (ray.init retries for long).

    A local instance is started on this (the main) thread: Ray's processes die with the thread that started them
    (Linux's parent-death signal follows the thread), so one started by a helper thread lost its GCS at once."""
    if not driver.address:
        driver.connect()
        return
    failure: list[BaseException] = []

    def connect() -> None:
        try:
            driver.connect()
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {seconds:.0f} s")
    if failure:
        raise failure[0]


def connect_error(where: str, exc: BaseException) -> str:
    """One sentence on why ray.init failed (Ray's messages never contain the token); a refused or missing token
    shows only in the error's cause."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    told = " ".join(str(e) for e in (exc, exc.__cause__, exc.__context__) if e is not None).lower()
    hint = (
        "the cluster wants a token nnlab does not have, or refused the one it has: give nnlab the cluster's "
        "token (README, Scaling out)"
        if "authenticat" in told or "token" in told
        else "check --ray-address (or NNLAB_RAY_ADDRESS) and that the cluster is up"
    )
    return f"Could not connect to {where} ({first}); {hint}."
