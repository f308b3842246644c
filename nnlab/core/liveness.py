"""Whether the process holding a run is still alive, by something a reused process id cannot fake.

A run's owner is recorded as "host/pid-namespace/pid/start-time". On the same host and in the same PID
namespace the owner lives only while a process with that id *and that start time* exists, so a server
restarted as PID 1 in a container (the same id, a new process) does not pass for the one that died.
Elsewhere (another container or machine sharing the workspace) the owner's heartbeat decides: the holding
process writes it every BEAT_S seconds, and a run whose beat is older than LEASE_S has lost its owner."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from functools import lru_cache

BEAT_S = 3.0  # how often a process that holds runs writes their heartbeat (one small UPDATE)
LEASE_S = 15.0  # how long a heartbeat vouches for its run when the owner cannot be looked up directly


@lru_cache(maxsize=1)
def _host() -> str:
    return socket.gethostname().replace("/", "_")


def _pid_namespace(pid: int | str = "self") -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid").replace("/", "_")
    except OSError:  # not Linux, or not ours to read
        return ""


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat); "" where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]  # the name in parentheses may hold spaces


def identity(pid: int | None = None) -> str:
    """The owner string of a process (this one by default): host/pid-namespace/pid/start-time."""
    if not pid or pid == os.getpid():
        return _identity_of_self(os.getpid())  # keyed by pid: a forked child is someone else
    return f"{_host()}/{_pid_namespace(pid) or _pid_namespace()}/{pid}/{_start_time(pid)}"


@lru_cache(maxsize=4)
def _identity_of_self(pid: int) -> str:
    return f"{_host()}/{_pid_namespace()}/{pid}/{_start_time(pid)}"


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id exists here (says nothing about whether it is the same process)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_alive(owner: str | None, beat: float | None, pid: int | None, now: float | None = None) -> bool:
    """Whether the process recorded as a run's owner still holds it (see the module's docstring)."""
    if not owner:  # a record written before owners were kept: only its process id is known
        return pid != os.getpid() and pid_alive(pid)
    host, ns, owner_pid, started = (owner.split("/") + ["", "", "", ""])[:4]
    if host == _host() and ns == _pid_namespace() and owner_pid.isdigit():
        if not started:  # no /proc here: the process id is all there is
            return pid_alive(int(owner_pid))
        return _start_time(int(owner_pid)) == started
    return beat is not None and (now or time.time()) - beat < LEASE_S


class Heartbeat:
    """A daemon thread that calls `tick` every BEAT_S seconds while its process lives (stop() ends it)."""

    def __init__(self, tick: Callable[[], object], name: str = "nnlab-heartbeat"):
        self._tick, self._done = tick, threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._done.wait(BEAT_S):
            try:
                self._tick()
            except Exception:  # a locked or vanished store must not end the beat; the next tick tries again
                pass

    def stop(self) -> None:
        """End the thread (tests, and a store that is closed)."""
        self._done.set()
