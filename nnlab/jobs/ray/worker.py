"""What runs on a Ray worker: the ordinary runner (nnlab.engine.runner.execute) writing to a RelayStore, which keeps
what the runner records (updates, epochs, progress, files) for the driver to pull through Ray. Nothing here
opens the store or writes on the dashboard's machine."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from nnlab.core.errors import NNLabError
from nnlab.core.records import EpochRecord, Progress, RunRecord
from nnlab.store.runfolder import RunFolder

TERMINAL = ("finished", "stopped", "failed", "diverged")


class RelayStore:
    """The part of RunStore the runner uses, recording into memory and a worker-side run folder."""

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

    def update(self, run_id: str, **values: Any) -> None:
        with self.lock:
            known = {k: v for k, v in values.items() if k in self.record.__dataclass_fields__}
            self.record = dataclasses.replace(self.record, **known)
            if values.get("status") in TERMINAL:
                self._snapshot()  # the final files travel before the status that says they exist
            self.events.append(("update", values))
            if "progress" in values:
                self.progress = values["progress"]

    def set_status(self, run_id: str, status: str, reason: str = "") -> None:
        self.update(run_id, status=status, reason=reason)

    def set_progress(self, run_id: str, progress: Progress | None) -> None:
        with self.lock:
            self.progress = progress

    def add_epoch(self, run_id: str, rec: EpochRecord, best: tuple[float, float, int] | None) -> None:
        with self.lock:
            self._snapshot()  # this epoch's checkpoint
            self.events.append(("epoch", (dataclasses.asdict(rec), best)))

    def truncate_metrics(self, run_id: str, after_epoch: int) -> None:
        with self.lock:
            self.events.append(("truncate", after_epoch))

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
    """The Ray actor (created by the driver with ray.remote) that trains one run in a background thread."""

    def __init__(self, record: RunRecord, files: dict[str, bytes], resume: bool, shared_dir: str = ""):
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
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._train, args=(record.run_id, resume), daemon=True)
        self.thread.start()

    def _train(self, run_id: str, resume: bool) -> None:
        from nnlab.engine.runner import execute

        try:
            execute(self.relay, run_id, self.stop_flag, resume=resume)  # type: ignore[arg-type]
        finally:
            self.done.set()

    def where(self) -> dict[str, Any]:
        """The worker's process id and node address."""
        import ray

        return {"pid": os.getpid(), "node": ray.util.get_node_ip_address()}

    def poll(self, cursor: int, known: dict[str, int] | None) -> dict[str, Any]:
        """What happened since `cursor` (see RelayStore.changes), and whether training has ended."""
        done = self.done.is_set()  # read first: a run that ended has recorded everything before this
        return {**self.relay.changes(cursor, known), "done": done, **self.where()}

    def stop(self, status: str = "stopped", reason: str = "Stopped by the user.") -> None:
        """Stop at the end of the current batch, ending as `status` ("stopped" or "pruned"), results recorded."""
        self.stop_flag.request(status, reason)

    def close(self) -> None:
        """Remove the worker-side folder and end the actor (after the driver has pulled everything)."""
        import ray

        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)
        ray.actor.exit_actor()
