"""Choosing where runs train, without starting Ray."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import pytest

from nnlab.errors import NNLabError
from nnlab.executors import Executor, make_executor
from nnlab.executors.ray_jobs import RayBackend, RayTable


def test_the_local_executor_is_the_default_and_takes_no_address():
    assert make_executor() == Executor()
    with pytest.raises(NNLabError, match="--executor ray"):
        make_executor("local", "10.0.0.5:6379")


def test_the_ray_address_comes_from_the_flag_then_nnlab_ray_address_then_ray_address(monkeypatch):
    monkeypatch.delenv("NNLAB_RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert make_executor("ray") == Executor("ray", "")  # a local Ray instance
    assert make_executor("ray").where == "a local Ray instance"
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.9:6379")
    assert make_executor("ray").address == "10.0.0.9:6379"
    monkeypatch.setenv("NNLAB_RAY_ADDRESS", "10.0.0.5:6379")
    assert make_executor("ray").where == "the Ray cluster at 10.0.0.5:6379"
    assert make_executor("ray", "head:6379").address == "head:6379"
    with pytest.raises(NNLabError, match="Executor 'slurm'"):
        make_executor("slurm")


@pytest.mark.slow
def test_the_job_manager_and_the_ray_client_side_do_not_import_ray():
    code = "import nnlab.jobs, nnlab.executors.ray_jobs, nnlab.cli, sys; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_store_that_never_used_ray_has_no_ray_table_and_no_ray_runs(store):
    backend = RayBackend(store)
    backend.reattach()
    assert not RayTable(store).exists()
    assert backend.previous("x") is None and not backend.is_active("x") and not backend.stop("x")


def test_the_lifeline_calls_on_lost_once_when_the_head_stops_answering():
    from nnlab.executors.lifeline import Lifeline, answers, host_port

    assert host_port("10.0.0.5:6379") == ("10.0.0.5", 6379) and host_port("[::1]:6379") == ("::1", 6379)
    head = socket.create_server(("127.0.0.1", 0))
    address = f"127.0.0.1:{head.getsockname()[1]}"
    lost = threading.Event()
    line = Lifeline(address, lost_s=0.5, on_lost=lost.set, every_s=0.05).start()
    assert answers(address) and not lost.wait(1.0) and not line.lost()  # answering: never lost
    head.close()  # the head is gone: nothing accepts at its port any more
    assert lost.wait(10) and line.lost() and not answers(address)
    line.thread.join(5)
    assert not line.thread.is_alive()  # it reports once and ends
