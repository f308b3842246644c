"""What runs on a Ray worker: the ordinary runner (nnlab.engine.runner.execute) writing to a RelayStore, the Ray
side's RunSink, which keeps what the runner records (its start, epochs, progress, outcome, files) for the driver to
pull through Ray. Nothing here opens the store or writes on the dashboard's machine.

Ray pickles by module path, so a worker and a driver of different nnlab code would misread each other's objects:
they meet through `hello`, which carries only plain strings, and refuse each other in one sentence when their
versions differ. The run itself travels pickled inside bytes the worker opens only after that check."""

from __future__ import annotations

import dataclasses
import os
import pickle
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from nnlab.core.errors import NNLabError
from nnlab.core.records import EpochRecord, Outcome, Progress, RunRecord
from nnlab.core.version import code_version
from nnlab.store.runfolder import RunFolder
from nnlab.store.sink import RunSink


def refusal(driver_version: str) -> str:
    """Why a worker of this nnlab refuses a driver of `driver_version`, in one sentence; "" when they match."""
    mine = code_version()
    if driver_version == mine:
        return ""
    return (
        f"Its Ray worker runs nnlab {mine} and its driver nnlab {driver_version}, which cannot pass runs to each other; "
        "the run was interrupted: resume it to continue from its last checkpoint on a worker of this version."
    )


class RelayStore(RunSink):
    """The runner's sink on a Ray worker: records into memory and a worker-side run folder."""

    def __init__(self, record: RunRecord, folder: RunFolder):
        self.record, self.run_folder = record, folder
        self.events: list[tuple[str, Any]] = []
        self.progress: Progress | None = None
        self.versions: dict[str, tuple[int, int, int]] = {}  # name -> (version, mtime_ns, size)
        self.lock = threading.Lock()

    def get(self, run_id: str) -> RunRecord:
        return self.record

    def folder(self, run_id: str) -> RunFolder:
        return self.run_folder

    def set_started(self, run_id: str, device: str, summary: dict[str, Any]) -> None:
        with self.lock:
            self.record = dataclasses.replace(self.record, device=device, summary=summary)
            self.events.append(("started", (device, summary)))

    def add_summary(self, run_id: str, values: dict[str, Any]) -> None:
        with self.lock:
            self.record = dataclasses.replace(self.record, summary=self.record.summary | values)
            self.events.append(("summary", values))

    def workspace(self) -> Path | None:
        return None  # the workspace is on the dashboard's machine

    def set_progress(self, run_id: str, progress: Progress | None) -> None:
        with self.lock:
            self.progress = progress

    def add_epoch(self, run_id: str, rec: EpochRecord, best: tuple[float, float, int] | None) -> None:
        with self.lock:
            self._snapshot()  # this epoch's checkpoint
            self.events.append(("epoch", (rec, best)))

    def truncate_metrics(self, run_id: str, after_epoch: int) -> None:
        with self.lock:
            self.events.append(("truncate", after_epoch))

    def set_outcome(self, run_id: str, outcome: Outcome) -> None:
        with self.lock:
            self.record = dataclasses.replace(self.record, status=outcome.status, reason=outcome.reason)
            self._snapshot()  # the final files travel before the outcome that says they exist
            self.events.append(("outcome", outcome))
            self.progress = None

    def _snapshot(self) -> None:
        for name, state in self.run_folder.file_states().items():
            version, *seen = self.versions.get(name, (0, -1, -1))
            if tuple(seen) != state:
                self.versions[name] = (version + 1, *state)

    def changes(self, cursor: int, known: dict[str, int] | None) -> dict[str, Any]:
        """Events after `cursor`, the latest progress, and the files newer than the versions the driver has
        (none when `known` is None: the folder is on storage the dashboard shares)."""
        with self.lock:
            events, progress = self.events[cursor:], self.progress
            versions = self.versions if known is not None else {}
            wanted = {n: v for n, (v, _, _) in versions.items() if v > (known or {}).get(n, 0)}
        files = {}
        for name, version in wanted.items():
            try:
                files[name] = (version, self.run_folder.read_file(name))
            except NNLabError:  # gone since the snapshot
                continue
        return {"events": events, "progress": progress, "files": files}


class RunWorker:
    """The Ray actor (created by the driver with ray.remote) that trains one run in a background thread.

    `job` is the pickled (record, files, resume, shared_dir); it is opened only when the driver's version matches."""

    def __init__(self, driver_version: str, job: bytes):
        self.refused = refusal(driver_version)
        self.scratch: Path | None = None
        self.done = threading.Event()
        if self.refused:
            self.done.set()
            return
        record, files, resume, shared_dir = pickle.loads(job)
        self.scratch = None if shared_dir else Path(tempfile.mkdtemp(prefix="nnlab-"))
        folder = RunFolder(Path(shared_dir) if shared_dir else self.scratch / record.run_id)
        folder.create(record.config, exist_ok=True)
        for name, data in files.items():  # the run folder's state to resume from (the last checkpoint)
            folder.write_file(name, data)
        self.relay = RelayStore(record, folder)
        self.relay._snapshot()
        self.relay.versions = {n: (0, m, s) for n, (_, m, s) in self.relay.versions.items()}  # the driver has these
        from nnlab.engine.runner import StopFlag

        self.stop_flag = StopFlag()
        self.thread = threading.Thread(target=self._train, args=(record.run_id, resume), daemon=True)
        self.thread.start()

    def _train(self, run_id: str, resume: bool) -> None:
        from nnlab.engine.runner import execute

        try:
            execute(self.relay, run_id, self.stop_flag, resume=resume)
        finally:
            self.done.set()

    def hello(self, driver_version: str) -> dict[str, str]:
        """This worker's version, and why it refuses the driver's ("" when it does not); plain strings only, so it
        reads the same between any two versions."""
        import ray

        where = {"pid": str(os.getpid()), "node": ray.util.get_node_ip_address()}
        return {"version": code_version(), "refusal": refusal(driver_version), **where}

    def poll(self, cursor: int, known: dict[str, int] | None) -> dict[str, Any]:
        """What happened since `cursor` (see RelayStore.changes), and whether training has ended."""
        done = self.done.is_set()  # read first: a run that ended has recorded everything before this
        return {**self.relay.changes(cursor, known), "done": done}

    def stop(self, cause: str, reason: str) -> None:
        """Stop at the end of the current batch, for `cause` (nnlab.core.causes.Cause), its results recorded."""
        from nnlab.core.causes import Cause

        self.stop_flag.request(Cause(cause), reason)

    def close(self) -> None:
        """Remove the worker-side folder and end the actor (after the driver has pulled everything)."""
        import ray

        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)
        ray.actor.exit_actor()
