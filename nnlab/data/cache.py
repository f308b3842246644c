"""Decoded standard datasets kept as one tensor file beside their raw files, so a run reads them in a blink.

Decoding MNIST's IDX files through torchvision costs the import of torchvision (about 1.5 s on 2 cores)
every run; the cache is read with the one `torch.load(weights_only=True)` and no torchvision. It is
stamped with the size and modification time of every raw file it came from: a changed file is decoded
again. A folder nnlab cannot write to simply goes uncached.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from nnlab.store.runfolder import atomic_write, load_tensors

VERSION = 1  # bump when what a cache holds changes


def source_stamp(files: Sequence[Path]) -> torch.Tensor:
    """(version, then size and modification time in ns of each file): what a cache was made from."""
    stats = [os.stat(f) for f in files]
    return torch.tensor([VERSION, *(v for s in stats for v in (s.st_size, s.st_mtime_ns))], dtype=torch.int64)


def read_cache(path: Path, files: Sequence[Path]) -> dict[str, np.ndarray] | None:
    """The arrays cached at path when they were made from these very files; None otherwise."""
    if not path.is_file():
        return None
    try:
        entry = load_tensors(path)
        if not torch.equal(entry.pop("source"), source_stamp(files)):
            return None
        return {k: v.numpy() for k, v in entry.items()}
    except Exception:  # a damaged or foreign file: decode the raw files again (and replace it)
        return None


def write_cache(path: Path, files: Sequence[Path], arrays: dict[str, np.ndarray]) -> None:
    """Keep the decoded arrays at path, stamped with their source files; skipped where it cannot be written."""
    entry = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
    entry["source"] = source_stamp(files)
    try:
        atomic_write(path, lambda tmp: torch.save(entry, tmp))
    except OSError:  # a read-only data folder, a full disk: the next run decodes again
        pass


def cached(path: Path, files: Sequence[Path], decode: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays decode() makes from files, read from the cache at path when it is fresh, else made and kept."""
    arrays = read_cache(path, files)
    if arrays is None:
        arrays = decode()
        write_cache(path, files, arrays)
    return arrays
