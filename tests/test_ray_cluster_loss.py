"""The cluster disappearing under a running run, on a Ray head of this test's own (the session's shared instance
must live on): the run fails with one sentence naming the cluster, and the job manager keeps answering."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nnlab.core.placement import Placement
from nnlab.core.records import ACTIVE
from nnlab.jobs.manager import JobManager
from nnlab.jobs.ray.backend import RayTable, driver_alive, driver_paths
from nnlab.jobs.ray.lifeline import answers
from nnlab.store.runs import RunStore
from tests.helpers import tiny_config, wait_until

pytestmark = pytest.mark.slow
LOST_S = 4  # how long the driver waits for a silent head (20 s by default)


def free_ports(n: int) -> list[int]:
    """n TCP ports nothing listens on now."""
    socks = [socket.create_server(("127.0.0.1", 0)) for _ in range(n)]
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def process_tree(root: int) -> list[int]:
    """root and every process descending from it, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@dataclass
class Head:
    """A one-node Ray cluster run by `ray start --head --block` in a session of its own (its GCS, raylet and
    workers descend from it and share its process group)."""

    address: str
    process: subprocess.Popen

    def vanish(self) -> None:
        """The whole head at once, as when its machine is switched off: kill -9 of every one of its processes."""
        tree = process_tree(self.process.pid)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        kill_all(tree)  # any that left the process group
        self.process.wait(10)


@pytest.fixture
def doomed_head() -> Iterator[Head]:
    ray = pytest.importorskip("ray")
    temp = tempfile.mkdtemp(prefix="nnray-")  # short: Ray's socket paths must stay under about 100 characters
    port, dashboard, agent = free_ports(3)  # not Ray's fixed defaults: other Ray instances may hold those
    cmd = [str(Path(sys.executable).with_name("ray")), "start", "--head", "--block", f"--port={port}"]
    cmd += ["--num-cpus=1", "--num-gpus=0", "--include-dashboard=false", f"--dashboard-port={dashboard}"]
    cmd += [f"--dashboard-agent-listen-port={agent}", f"--temp-dir={temp}", "--disable-usage-stats"]
    log = open(Path(temp) / "head.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    head = Head(f"{ray.util.get_node_ip_address()}:{port}", process)
    try:
        wait_until(lambda: answers(head.address) or process.poll() is not None, "the head to listen", 90, every=0.2)
        assert process.poll() is None, (Path(temp) / "head.log").read_text()[-2000:]
        yield head
    finally:
        if process.poll() is None:  # the test ended before the head vanished
            head.vanish()
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


def end_driver(store: RunStore, address: str) -> None:
    """The driver of this address, if it still runs, is ended (it ends itself when its cluster is lost)."""
    _, info, _ = driver_paths(store, address)
    if driver_alive(store, address) and info.exists():
        kill_all([json.loads(info.read_text())["pid"]])


def test_the_cluster_vanishing_fails_the_running_run_with_one_sentence_and_the_manager_answers(
    store, doomed_head, monkeypatch
):
    monkeypatch.setenv("NNLAB_RAY_LOST_S", str(LOST_S))  # the driver process reads it from its environment
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)  # as for a user: nnlab's driver must send the token itself
    manager = JobManager(store, leave_core=False)
    run_id = manager.submit(
        tiny_config("mlp", epochs=200, batch_size=16, early_stopping=False, threads=1),
        placement=Placement("ray", doomed_head.address),
    )
    try:
        wait_until(lambda: store.get(run_id).epochs_done >= 2, "two epochs on the doomed cluster", 120)
        doomed_head.vanish()
        vanished = time.monotonic()
        wait_until(lambda: store.get(run_id).status not in ACTIVE, "the run to end after the cluster vanished", 60)
        took = time.monotonic() - vanished
        rec = store.get(run_id)
        assert rec.status == "failed", rec.reason
        assert rec.reason.startswith(f"Lost contact with the Ray cluster at {doomed_head.address}: its head has not")
        assert rec.reason.count(". ") == 0 and "Traceback" not in rec.reason and "\n" not in rec.reason
        assert 2 <= rec.epochs_done < 200 and rec.progress is None
        assert took < LOST_S + 30  # not Ray's own minute of retries
        assert RayTable(store).get(run_id).state == "done"
        # the dashboard's side lives on: it answers at once and still trains here
        assert not manager.is_active(run_id)
        assert manager.stop(run_id) == f"Run {run_id} is not running in this server."
        local = manager.wait(manager.submit(tiny_config("mlp", epochs=1, threads=1)), timeout=60)
        assert local.status == "finished", local.reason
        wait_until(lambda: not driver_alive(store, doomed_head.address), "the driver to end itself", 20)
    finally:
        end_driver(store, doomed_head.address)
        manager.shutdown()
