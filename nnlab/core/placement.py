"""Where a run is placed: this machine (the default) or an executor elsewhere (a Ray cluster). A value a run and a
sweep remember; the executors that carry a placement out live in nnlab.jobs (Ray is imported only there, by
nnlab.jobs.ray), registered here by name so that every front end knows the choices without importing them."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from nnlab.core.errors import NNLabError

# The executors, by name: the class that carries runs out, imported only when a run needs it (nnlab.jobs.executor).
# "thread" and "process" train runs placed on this machine (the command line in a thread, the dashboard in child
# processes); every other name is also a placement of its own: --executor NAME, the form's "Where to train".
EXECUTORS = {
    "thread": "nnlab.jobs.local:ThreadExecutor",
    "process": "nnlab.jobs.process:ProcessExecutor",
    "ray": "nnlab.jobs.ray.backend:RayExecutor",
}
LOCAL_EXECUTORS = ("thread", "process")
ADDRESS_ENV = ("NNLAB_RAY_ADDRESS", "RAY_ADDRESS")
SHARED_ENV = "NNLAB_RAY_SHARED_STORAGE"  # "1": the workspace is on storage every node mounts at the same path


def placements() -> tuple[str, ...]:
    """The choices of --executor and of the form's "Where to train": "local", then each executor elsewhere."""
    return ("local", *(name for name in EXECUTORS if name not in LOCAL_EXECUTORS))


PLACEMENTS = placements()


@dataclass(frozen=True)
class Placement:
    """Where one run (or every trial of a sweep) trains; address "" asks Ray for a local instance."""

    kind: str = "local"
    address: str = ""
    shared_storage: bool = False

    @property
    def is_local(self) -> bool:
        """On this machine (in a thread or a child process of the front end that started it)."""
        return self.kind == "local"

    @property
    def is_ray(self) -> bool:
        return self.kind == "ray"

    @property
    def where(self) -> str:
        """'this machine', 'a local Ray instance' or 'the Ray cluster at host:port', for sentences."""
        if self.is_local:
            return "this machine"
        if self.is_ray:
            return f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"
        return f"the {self.kind} executor" + (f" at {self.address}" if self.address else "")

    def to_json(self) -> str:
        """The placement as the runs table keeps it."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> Placement:
        """A stored placement; this machine for runs recorded before runs remembered theirs (or unreadable)."""
        try:
            d = json.loads(text) if text else {}
            return cls(str(d.get("kind") or "local"), str(d.get("address") or ""), bool(d.get("shared_storage")))
        except (TypeError, ValueError, AttributeError):
            return cls()


def default_address() -> str:
    """The cluster address from $NNLAB_RAY_ADDRESS, else $RAY_ADDRESS, else "" (a local instance)."""
    return next((os.environ[k].strip() for k in ADDRESS_ENV if os.environ.get(k, "").strip()), "")


def make_placement(kind: str | None = None, address: str | None = None) -> Placement:
    """The executor a user asked for: flags or form first, then the environment."""
    kind = kind or "local"
    if kind not in placements():
        raise NNLabError(f"Executor {kind!r} is not known; use one of {', '.join(placements())}.")
    if kind == "local":
        if address:
            raise NNLabError("A Ray address was given with the local executor; add --executor ray to use the cluster.")
        return Placement()
    address = (address if address is not None else default_address()).strip()
    if any(c.isspace() for c in address):
        raise NNLabError(f"Ray address {address!r} has spaces in it; give host:port, like 10.0.0.5:6379, or auto.")
    return Placement(kind, address, os.environ.get(SHARED_ENV, "") == "1")
