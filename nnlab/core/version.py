"""Which nnlab this is, down to its code: processes that pass pickled nnlab objects to each other (the Ray driver and
its workers) first compare it, since a pickle names classes by module path and a moved or changed module breaks it."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import nnlab

PACKAGE = Path(nnlab.__file__).resolve().parent


@lru_cache(maxsize=1)
def code_version() -> str:
    """'0.1.0+3f9c2a1b0d': the release and a digest of every module's source, so an edit counts as a new version."""
    digest = hashlib.sha1()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{nnlab.__version__}+{digest.hexdigest()[:10]}"
