"""The Ray driver: a process of its own (started by nnlab.jobs.ray.backend.ensure_driver) that connects to one
cluster, trains each run handed to it in a detached actor, and writes what the actors report into the store.
It is apart from the dashboard because Ray ends a driver whose cluster vanishes; it outlives dashboard restarts.

What holds where: on a cluster (an address), the actors outlive their driver, and a new driver re-adopts those of
one that died. A local instance (no address) lives in its driver's process: when the driver ends, killed or not,
the instance and its runs end with it (interrupted, resumable) and no process of it is left behind
(nnlab.jobs.ray.reaper). `python -m nnlab.jobs.ray.driver --store DIR`."""

from __future__ import annotations

import argparse
import fcntl
import os
import pickle
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import ray
from ray.exceptions import ActorUnavailableError, GetTimeoutError, RayActorError

from nnlab.core.causes import NOT_STARTED, STOP_STATUS, Cause
from nnlab.core.placement import Placement
from nnlab.core.records import ACTIVE, Outcome
from nnlab.core.version import code_version
from nnlab.jobs.ray.backend import (
    LOCAL_ENDED,
    NAMESPACE,
    PACKAGE_ROOT,
    RayRun,
    RayTable,
    actor_name,
    driver_paths,
    request_cause,
)
from nnlab.jobs.ray.connect import connect_error, connect_within
from nnlab.jobs.ray.lifeline import Lifeline, answers
from nnlab.jobs.ray.reaper import watch_session
from nnlab.jobs.ray.resources import Resources
from nnlab.jobs.ray.worker import RunWorker
from nnlab.store.runfolder import CHECKPOINT_LAST
from nnlab.store.runs import RunStore

POLL_S = 0.3  # how often each actor is asked for news
LOST_S = float(os.environ.get("NNLAB_RAY_LOST_S", "20"))  # unreachable this long: the node or cluster is gone
IDLE_S = float(os.environ.get("NNLAB_RAY_DRIVER_IDLE_S", "120"))  # exit after this long with nothing to do
INFO_S = 5.0  # how often the cluster's size is written for the Home page
CONNECT_S = float(os.environ.get("NNLAB_RAY_CONNECT_S", "60"))  # a cluster that has not answered by then is out


@dataclass
class Monitor:
    """The driver's view of one run's actor."""

    run_id: str
    actor: Any
    shared: bool
    ref: Any = None  # the hello or poll in flight
    cursor: int = 0
    known: dict[str, int] = field(default_factory=dict)
    started: bool = False  # the actor answered hello: same nnlab version, training
    node: str = ""
    lost_since: float | None = None
    request: str = ""


class Driver(Resources):
    """Connects to one address and keeps the store in step with the actors training there."""

    def __init__(self, store: RunStore, address: str):
        self.store, self.table, self.address = store, RayTable(store), address
        self.where = Placement("ray", address).where
        self.monitors: dict[str, Monitor] = {}
        self.worker_cls: Any = None
        self.lifeline: Lifeline | None = None
        self.last_busy = self.last_info = time.monotonic()

    # -- lifetime -------------------------------------------------------------------------------------
    def connect(self) -> None:
        """ray.init: the address given, or a new local instance; the workers get this very nnlab package."""
        local = {"include_dashboard": False} if not self.address else {}
        if not self.address:
            watch_session()  # the instance's processes end with this one, however it ends
        ray.init(
            address=self.address or "local",
            namespace=NAMESPACE,
            log_to_driver=False,
            runtime_env={"py_modules": [str(PACKAGE_ROOT / "nnlab")], "excludes": ["__pycache__"]},
            **local,
        )
        self.worker_cls = ray.remote(RunWorker)

    def watch(self) -> None:
        """Knock on the head's port from outside Ray (nnlab.jobs.ray.lifeline); a head gone for LOST_S fails the
        runs and ends this driver."""
        self.lifeline = Lifeline(ray.get_runtime_context().gcs_address, LOST_S, self.cluster_lost).start()

    def head_answers(self) -> bool:
        """Whether the cluster's head answers now (before a dead actor is blamed on its worker)."""
        return self.lifeline is None or (not self.lifeline.lost() and answers(self.lifeline.address))

    def cluster_lost(self) -> None:
        """The head stopped answering: every run of this address fails with one sentence and the driver ends at
        once (Ray would block it for a minute, then end it without a word); the next run starts a new driver."""
        reason = (
            f"Lost contact with {self.where}: its head has not answered for {LOST_S:.0f} s (the cluster stopped, or "
            "its machine is unreachable); resume the run to continue from its last checkpoint once it is back."
        )
        fail_pending(self.store, self.address, Cause.LOST, reason)
        os._exit(1)

    def run(self) -> None:
        """Adopt the actors a previous driver left, then serve until idle for IDLE_S or told to end (SIGTERM: on a
        cluster the actors keep training and the next driver adopts them; a local instance ends with its runs)."""
        ending: list[int] = []
        signal.signal(signal.SIGTERM, lambda *_: ending.append(1))
        self.adopt()
        while not ending and (
            self.monitors or self.table.pending(self.address) or time.monotonic() - self.last_busy < IDLE_S
        ):
            self.step()
        if not self.address:  # a local instance ends with this driver: so do its runs (resumable)
            for m in list(self.monitors.values()):
                self.end(m.run_id, Outcome("interrupted", Cause.SHUTDOWN, LOCAL_ENDED.format(how="was told to end")))
        self.publish(alive=False)
        ray.shutdown()

    def step(self) -> None:
        """One round: take new runs, pass on requests, collect what the actors report."""
        for row in self.table.pending(self.address):
            if row.state == "submitted":
                self.submit(row)
            elif row.run_id in self.monitors:
                self.pass_request(self.monitors[row.run_id], row)
        if self.monitors:
            self.last_busy = time.monotonic()
        self.collect()
        if time.monotonic() - self.last_info > INFO_S:
            self.publish()

    # -- runs -----------------------------------------------------------------------------------------
    def submit(self, row: RayRun) -> None:
        """Create the run's detached actor, asking for its resources; the run stays queued until it starts."""
        rec = self.store.get(row.run_id)
        if rec.status != "queued":  # stopped while it waited for this driver
            self.table.set(row.run_id, state="done")
            return
        gpus = self.gpus_for(rec.config.device)
        cpus = rec.config.threads or 1
        folder = self.store.folder(row.run_id)
        resume = row.resume and not row.shared and folder.has_checkpoint()
        files = {CHECKPOINT_LAST: folder.read_file(CHECKPOINT_LAST)} if resume else {}
        self.forget_actor(row.run_id)
        job = pickle.dumps((rec, files, row.resume, str(folder.path.resolve()) if row.shared else ""))
        actor = self.worker_cls.options(
            name=actor_name(row.run_id),
            lifetime="detached",  # keeps training when this driver or the dashboard stops
            num_cpus=cpus,
            num_gpus=gpus,
            max_restarts=0,
            max_concurrency=2,
        ).remote(code_version(), job)
        self.store.update(row.run_id, pid=os.getpid(), reason=self.wait_reason(cpus, gpus))
        self.table.set(row.run_id, state="active", request="")
        self.monitors[row.run_id] = Monitor(row.run_id, actor, row.shared)

    def adopt(self) -> None:
        """Find the actors of runs a previous driver was watching; runs whose actor is gone are interrupted."""
        for row in self.table.pending(self.address):
            if row.state != "active":
                continue
            try:
                actor = ray.get_actor(actor_name(row.run_id), namespace=NAMESPACE)
            except ValueError:
                self.end(row.run_id, Outcome("interrupted", Cause.LOST, self.gone_reason()))
                continue
            self.monitors[row.run_id] = Monitor(row.run_id, actor, row.shared)

    def pass_request(self, m: Monitor, row: RayRun) -> None:
        """A stop or prune asked for in the store reaches the actor once."""
        if not row.request or m.request:
            return
        m.request = row.request
        cause = request_cause(row.request)
        if m.started:
            m.actor.stop.remote(str(cause), row.request_reason)
            return
        ray.kill(m.actor)  # still waiting for resources: nothing trained, nothing to keep
        self.monitors.pop(m.run_id)
        reason = NOT_STARTED if cause == Cause.USER else row.request_reason
        self.end(m.run_id, Outcome(STOP_STATUS[cause], cause, reason))

    def collect(self) -> None:
        """Wait up to POLL_S for the actors' answers and apply them; ask again."""
        for m in list(self.monitors.values()):
            if m.ref is None:
                self.ask(m)
        refs = {m.ref: m for m in self.monitors.values() if m.ref is not None}
        if not refs:
            time.sleep(POLL_S)
            return
        ready, _ = ray.wait(list(refs), num_returns=len(refs), timeout=POLL_S)
        for ref in ready:
            m = refs[ref]
            m.ref = None
            self.receive(m, ref)
        if len(ready) == len(refs):
            time.sleep(POLL_S)

    def receive(self, m: Monitor, ref: Any) -> None:
        """Apply one poll's answer, or handle the actor's death or silence."""
        try:
            out = ray.get(ref, timeout=30)
        except (ActorUnavailableError, GetTimeoutError):
            m.lost_since = m.lost_since or time.monotonic()
            if time.monotonic() - m.lost_since > LOST_S:
                self.drop(m)
                reason = (
                    f"Lost contact with {self.where} for {LOST_S:.0f} s (the cluster or the worker's node is gone); "
                    "resume the run to continue from its last checkpoint once the cluster is back."
                )
                self.end(m.run_id, Outcome("failed", Cause.LOST, reason))
            return
        except RayActorError as exc:  # ActorDiedError among others
            if self.head_answers():
                self.worker_died(m, exc)
            else:  # the whole cluster may be gone: the lifeline decides
                m.lost_since = m.lost_since or time.monotonic()
            return
        m.lost_since = None
        if not m.started:
            self.greeted(m, out)
            return
        self.apply(m, out)
        if out["done"]:
            self.finish(m)

    def ask(self, m: Monitor) -> None:
        """Send the actor its next question: hello (versions) until it has answered, then polls for news."""
        if m.started:
            m.ref = m.actor.poll.remote(m.cursor, None if m.shared else m.known)
            return
        try:
            m.ref = m.actor.hello.remote(code_version())
        except AttributeError:  # an actor of an nnlab from before hello: it cannot say which version it runs
            self.refuse(m, refusal_of(m.run_id, "an older nnlab"))

    def greeted(self, m: Monitor, out: dict[str, str]) -> None:
        """The actor answered hello: refused (another nnlab version) or up, and the run running here."""
        why = out["refusal"] or (refusal_of(m.run_id, out["version"]) if out["version"] != code_version() else "")
        if why:
            self.refuse(m, why)
            return
        m.started, m.node = True, out["node"]
        rec = self.store.get(m.run_id)
        if rec.status == "queued":
            self.store.claim_queued(m.run_id)
        elif rec.status in ("running", "interrupted"):  # adopted after a driver restart
            self.store.update(m.run_id, status="running", cause=Cause.NONE, reason="", pid=os.getpid())
        self.table.set(m.run_id, worker_pid=int(out["pid"]), node=out["node"])

    def refuse(self, m: Monitor, reason: str) -> None:
        """A worker of another nnlab version: it is ended and the run interrupted, with the sentence saying so."""
        self.monitors.pop(m.run_id, None)
        ray.kill(m.actor)
        self.end(m.run_id, Outcome("interrupted", Cause.LOST, reason))

    def apply(self, m: Monitor, out: dict[str, Any]) -> None:
        """Files first (so a finished status never precedes its results), then events, then progress."""
        folder = self.store.folder(m.run_id)
        for name, (version, data) in out["files"].items():
            folder.write_file(name, data)
            m.known[name] = version
        for kind, value in out["events"]:
            self.apply_event(m, kind, value)
        m.cursor += len(out["events"])
        if out["progress"] and not out["done"]:
            self.store.set_progress(m.run_id, out["progress"])

    def apply_event(self, m: Monitor, kind: str, value: Any) -> None:
        """One thing the runner wrote to its RelayStore, written to the store (the same RunSink call)."""
        if kind == "epoch":
            self.store.add_epoch(m.run_id, *value)
        elif kind == "truncate":
            self.store.truncate_metrics(m.run_id, value)
        elif kind == "started":
            device, summary = value
            self.store.set_started(m.run_id, f"{device} · Ray node {m.node}", summary)
        elif kind == "summary":
            self.store.add_summary(m.run_id, value)
        elif kind == "outcome":
            self.store.set_outcome(m.run_id, value)

    def finish(self, m: Monitor) -> None:
        """Training ended and everything is in the store: end the actor and its worker-side folder."""
        self.monitors.pop(m.run_id, None)
        self.table.set(m.run_id, state="done")
        if self.store.get(m.run_id).status in ACTIVE:  # the runner always records an end; this is a safety net
            self.end(m.run_id, Outcome("failed", Cause.ERROR, "The Ray worker ended without recording a result."))
        ref = m.actor.close.remote()
        ray.wait([ref], timeout=5)
        ray.kill(m.actor)

    def worker_died(self, m: Monitor, exc: Exception) -> None:
        self.monitors.pop(m.run_id, None)
        epochs = self.store.get(m.run_id).epochs_done
        node = f" on node {m.node}" if m.node else ""
        reason = (
            f"The Ray worker training this run died{node} ({type(exc).__name__}); "
            f"resume it to continue from epoch {epochs}."
        )
        if not m.started and "No module named 'nnlab" in str(exc):  # the cluster's nnlab is not this one
            reason = refusal_of(m.run_id, "another nnlab, whose modules are not where this one's are")
        self.end(m.run_id, Outcome("interrupted", Cause.LOST, reason))

    def drop(self, m: Monitor) -> None:
        self.monitors.pop(m.run_id, None)

    def end(self, run_id: str, outcome: Outcome) -> None:
        """Record an end the runner could not (its worker is gone), unless the run already ended."""
        self.table.set(run_id, state="done")
        if self.store.get(run_id).status in (*ACTIVE, "interrupted"):
            self.store.set_outcome(run_id, outcome)

    def gone_reason(self) -> str:
        """Why an adopted run's actor is gone, in one sentence."""
        if not self.address:
            return LOCAL_ENDED.format(how="ended")
        return (
            "Its Ray worker is gone (the cluster restarted, or the worker ended while no driver watched it); "
            "resume the run to continue from its last checkpoint."
        )

    def forget_actor(self, run_id: str) -> None:
        """A leftover actor of the same run (an earlier attempt) is killed before a new one takes its name."""
        try:
            ray.kill(ray.get_actor(actor_name(run_id), namespace=NAMESPACE))
            time.sleep(0.5)
        except ValueError:
            pass


def refusal_of(run_id: str, version: str) -> str:
    """The driver's sentence for a worker of another nnlab version."""
    return (
        f"Run {run_id}'s Ray worker runs {version} and this driver nnlab {code_version()}, which cannot pass runs to "
        "each other; the run was interrupted: resume it to continue from its last checkpoint on a worker of this version."
    )


def fail_pending(store: RunStore, address: str, cause: Cause, reason: str) -> None:
    """The driver could not connect, or lost its cluster: every run it serves or that waits for it fails."""
    table = RayTable(store)
    for row in table.pending(address):
        table.set(row.run_id, state="done")
        if store.get(row.run_id).status in (*ACTIVE, "interrupted"):
            store.set_outcome(row.run_id, Outcome("failed", cause, reason))


def main(argv: list[str] | None = None) -> int:
    """Hold the driver lock for the address, connect, and serve."""
    p = argparse.ArgumentParser(prog="python -m nnlab.jobs.ray.driver")
    p.add_argument("--store", required=True)
    p.add_argument("--address", default="")
    args = p.parse_args(argv)
    store = RunStore(args.store)
    lock_path, _, _ = driver_paths(store, args.address)
    lock = open(lock_path, "a")  # noqa: SIM115  (held for the life of the process)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0  # another driver serves this address
    driver = Driver(store, args.address)
    try:
        connect_within(driver, CONNECT_S)
    except Exception as exc:  # a wrong address, a refused token, no Ray on that port
        fail_pending(store, args.address, Cause.ERROR, connect_error(driver.where, exc))
        os._exit(1)  # ray.init may still be retrying in its thread
    driver.watch()
    driver.publish()
    driver.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
