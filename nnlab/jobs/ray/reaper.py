"""Leave no process of a local Ray instance behind its driver.

A local instance (no address) is started by the driver, and its processes (GCS, raylet, agents, workers) live in
the driver's session (ensure_driver starts the driver as a session of its own). When the driver ends, however it
ends (kill -9 included), the instance ends with it; Ray's workers notice at once, but its dashboard and runtime-env
agents ran on for minutes. So such a driver first starts a reaper: a small process that waits on a pipe only the
driver holds open, and once it reads end-of-file ends every process left in the driver's session.

`python -m nnlab.jobs.ray.reaper SESSION FD` (started by watch_session, never by hand).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

_held: list[int] = []  # the write end of the reaper's pipe, open for the life of the driver


def watch_session() -> bool:
    """Start the reaper of this process's session (only when this process leads it); True when started."""
    if os.getsid(0) != os.getpid():
        return False  # started by hand inside another session: killing it all is not ours to do
    read_fd, write_fd = os.pipe()  # not inheritable: Ray's processes never hold the write end
    cmd = [sys.executable, "-m", "nnlab.jobs.ray.reaper", str(os.getpid()), str(read_fd)]
    subprocess.Popen(cmd, pass_fds=(read_fd,), stdin=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[3])
    os.close(read_fd)
    _held.append(write_fd)
    return True


def session_members(session: int) -> list[int]:
    """The live processes of a session (field 6 of /proc/PID/stat), but this one (zombies: ended already)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (comm) ": state, ppid, pgrp, session, ...
        if int(fields[3]) == session and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def reap(session: int, rounds: int = 5) -> int:
    """End every process left in `session` (a few rounds: a dying process may start another); returns how many."""
    ended = 0
    for _ in range(rounds):
        members = session_members(session)
        if not members:
            break
        for pid in members:
            try:
                os.kill(pid, signal.SIGKILL)
                ended += 1
            except OSError:
                pass
        time.sleep(0.2)
    return ended


def main(argv: list[str]) -> int:
    """Wait for the driver's end (end-of-file on its pipe), then reap its session."""
    session, fd = int(argv[0]), int(argv[1])
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # told with its driver's group: it reaps after it
        signal.signal(sig, signal.SIG_IGN)
    while os.read(fd, 1):
        pass
    reap(session)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
