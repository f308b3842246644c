"""Where a run is placed: this machine (the default) or a Ray cluster. A value a run and a sweep remember; the
executors that carry a placement out live in nnlab.jobs (Ray is imported only there, by nnlab.jobs.ray)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from nnlab.core.errors import NNLabError

PLACEMENTS = ("local", "ray")  # the choices of --executor and of the form's "Where to train"
ADDRESS_ENV = ("NNLAB_RAY_ADDRESS", "RAY_ADDRESS")
SHARED_ENV = "NNLAB_RAY_SHARED_STORAGE"  # "1": the workspace is on storage every node mounts at the same path


@dataclass(frozen=True)
class Placement:
    """Where one run (or every trial of a sweep) trains; address "" asks Ray for a local instance."""

    kind: str = "local"
    address: str = ""
    shared_storage: bool = False

    @property
    def is_ray(self) -> bool:
        return self.kind == "ray"

    @property
    def where(self) -> str:
        """'this machine', 'a local Ray instance' or 'the Ray cluster at host:port', for sentences."""
        if not self.is_ray:
            return "this machine"
        return f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"


def default_address() -> str:
    """The cluster address from $NNLAB_RAY_ADDRESS, else $RAY_ADDRESS, else "" (a local instance)."""
    return next((os.environ[k].strip() for k in ADDRESS_ENV if os.environ.get(k, "").strip()), "")


def make_placement(kind: str | None = None, address: str | None = None) -> Placement:
    """The executor a user asked for: flags or form first, then the environment."""
    kind = kind or "local"
    if kind not in PLACEMENTS:
        raise NNLabError(f"Executor {kind!r} is not known; use one of {', '.join(PLACEMENTS)}.")
    if kind == "local":
        if address:
            raise NNLabError("A Ray address was given with the local executor; add --executor ray to use the cluster.")
        return Placement()
    address = (address if address is not None else default_address()).strip()
    if any(c.isspace() for c in address):
        raise NNLabError(f"Ray address {address!r} has spaces in it; give host:port, like 10.0.0.5:6379, or auto.")
    return Placement("ray", address, os.environ.get(SHARED_ENV, "") == "1")
