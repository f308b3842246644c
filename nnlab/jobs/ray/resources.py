"""The Ray driver's view of its cluster's resources: what a run asks for, why it waits, and the cluster's size for
the Home page (mixed into nnlab.jobs.ray.driver.Driver)."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import ray

from nnlab.jobs.ray.backend import driver_paths
from nnlab.store.runs import RunStore


class Resources:
    """Mixed into the Driver: its store, address, sentence for where it is, and the runs it watches."""

    store: RunStore
    address: str
    where: str
    monitors: dict[str, Any]
    last_info: float

    def gpus_for(self, device: str) -> int:
        """One GPU when the run wants CUDA (or auto and the cluster has GPUs), none otherwise."""
        if device == "cuda":
            return 1
        return 1 if device == "auto" and ray.cluster_resources().get("GPU", 0) > 0 else 0

    def wait_reason(self, cpus: int, gpus: int) -> str:
        """Why a submitted run is still queued, in one sentence."""
        if gpus and ray.cluster_resources().get("GPU", 0) < gpus:
            return (
                f"Waiting for a GPU: {self.where} has none; the run starts when a GPU node joins "
                "(or stop it and choose device cpu)."
            )
        need = f"{cpus} CPU{'s' if cpus != 1 else ''}" + (" and a GPU" if gpus else "")
        return f"Waiting for a Ray worker with {need} on {self.where}."

    def publish(self, alive: bool = True) -> None:
        """Write the cluster's size for the Home page's device card."""
        self.last_info = time.monotonic()
        _, info_path, _ = driver_paths(self.store, self.address)
        info: dict[str, Any] = {"pid": os.getpid() if alive else None, "address": self.address, "where": self.where}
        try:
            res = ray.cluster_resources()
            info |= {
                "nodes": sum(1 for n in ray.nodes() if n.get("Alive")),
                "cpus": res.get("CPU", 0),
                "gpus": res.get("GPU", 0),
                "runs": len(self.monitors),
                "updated": time.time(),
            }
        except Exception:  # the cluster went away: the card stops showing it
            info["pid"] = None
        tmp = info_path.with_name(f".{info_path.name}.tmp")
        tmp.write_text(json.dumps(info))
        os.replace(tmp, info_path)
