"""Choosing where runs train, without starting Ray."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import pytest

from nnlab.core.causes import Cause
from nnlab.core.errors import NNLabError
from nnlab.core.placement import Placement, make_placement
from nnlab.jobs.ray.backend import RayExecutor, RayTable


def test_the_local_executor_is_the_default_and_takes_no_address():
    assert make_placement() == Placement()
    with pytest.raises(NNLabError, match="--executor ray"):
        make_placement("local", "10.0.0.5:6379")


def test_the_ray_address_comes_from_the_flag_then_nnlab_ray_address_then_ray_address(monkeypatch):
    monkeypatch.delenv("NNLAB_RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert make_placement("ray") == Placement("ray", "")  # a local Ray instance
    assert make_placement("ray").where == "a local Ray instance"
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.9:6379")
    assert make_placement("ray").address == "10.0.0.9:6379"
    monkeypatch.setenv("NNLAB_RAY_ADDRESS", "10.0.0.5:6379")
    assert make_placement("ray").where == "the Ray cluster at 10.0.0.5:6379"
    assert make_placement("ray", "head:6379").address == "head:6379"
    with pytest.raises(NNLabError, match="Executor 'slurm'"):
        make_placement("slurm")


@pytest.mark.slow
def test_the_job_manager_and_the_ray_client_side_do_not_import_ray():
    code = "import nnlab.jobs.manager, nnlab.jobs.ray.backend, nnlab.cli.main, sys; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_store_that_never_used_ray_has_no_ray_table_and_no_ray_runs(store):
    backend = RayExecutor(store)
    backend.reattach()
    assert not RayTable(store).exists()
    assert not backend.is_active("x") and backend.stop("x", Cause.USER, "") is None


@pytest.mark.slow
def test_the_lifeline_calls_on_lost_once_when_the_head_stops_answering():
    from nnlab.jobs.ray.lifeline import Lifeline, answers, host_port

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


def test_the_driver_sends_the_token_to_a_named_cluster_when_one_is_at_hand(tmp_path, monkeypatch):
    from nnlab.jobs.ray.backend import driver_env

    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ray/auth_token
    assert "RAY_AUTH_MODE" not in driver_env("head:6379")
    token = tmp_path / ".ray" / "auth_token"
    token.parent.mkdir()
    token.write_text("not a real token")
    assert driver_env("head:6379")["RAY_AUTH_MODE"] == "token"  # Ray would not send it to a named cluster itself
    assert "RAY_AUTH_MODE" not in driver_env("")  # a local instance: Ray turns token mode on by itself
    token.unlink()
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "elsewhere"))
    assert "RAY_AUTH_MODE" not in driver_env("head:6379")
    (tmp_path / "elsewhere").write_text("not a real token")
    assert driver_env("head:6379")["RAY_AUTH_MODE"] == "token"
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # the user's choice wins
    assert driver_env("head:6379")["RAY_AUTH_MODE"] == "disabled"


@pytest.mark.slow
def test_a_refused_token_is_named_in_the_sentence_though_ray_says_it_only_in_the_cause():
    from nnlab.jobs.ray.connect import connect_error

    try:  # the shape of ray.init's error when the cluster refuses the token (seen with Ray 2.60)
        try:
            raise RuntimeError("Failed to connect to GCS. Last connection error: Unauthenticated: InvalidAuthToken")
        except RuntimeError as cause:
            raise ConnectionError("Failed to connect to Ray cluster at head:6379") from cause
    except ConnectionError as exc:
        refused = connect_error("the Ray cluster at head:6379", exc)
    assert refused.startswith("Could not connect to the Ray cluster at head:6379 (Failed to connect to Ray cluster")
    assert "give nnlab the cluster's token (README, Scaling out)." in refused and "\n" not in refused
    down = connect_error("the Ray cluster at head:6379", TimeoutError("no answer within 60 s"))
    assert down.endswith("check --ray-address (or NNLAB_RAY_ADDRESS) and that the cluster is up.")


def test_a_ray_worker_refuses_a_driver_of_another_nnlab_before_opening_its_job():
    """Ray pickles by module path: a worker checks the driver's version (a plain string) before unpickling."""
    from nnlab.core.version import code_version
    from nnlab.jobs.ray.worker import RunWorker, refusal

    assert refusal(code_version()) == ""
    worker = RunWorker("0.0.9+elsewhere", b"a pickle of modules this nnlab does not have")
    assert worker.refused.startswith(f"Its Ray worker runs nnlab {code_version()} and its driver nnlab 0.0.9+elsewhere")
    assert worker.done.is_set() and "\n" not in worker.refused


def test_an_edit_to_any_module_is_a_new_version(tmp_path, monkeypatch):
    import shutil

    import nnlab.core.version as version

    copy = tmp_path / "nnlab"
    shutil.copytree(version.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(version, "PACKAGE", copy)
    version.code_version.cache_clear()
    before = version.code_version()
    (copy / "jobs" / "ray" / "worker.py").write_text((copy / "jobs" / "ray" / "worker.py").read_text() + "\n# x\n")
    version.code_version.cache_clear()
    assert version.code_version() != before and before.startswith(f"{__import__('nnlab').__version__}+")
    version.code_version.cache_clear()
