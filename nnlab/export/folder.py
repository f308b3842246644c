"""The folder an export is written into, and the lines its READMEs share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nnlab.core.errors import NNLabError
from nnlab.core.text import plural


def empty_folder(out: Path) -> Path:
    """out, created if new; refused in one sentence when it holds files or cannot be created."""
    out = Path(out).expanduser()
    try:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise NNLabError(f"--out {out} is not an empty folder; give a new folder to export into.")
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NNLabError(
            f"--out {out} cannot be created ({exc.strerror or type(exc).__name__}); give a folder you can write to."
        ) from None
    return out


def score_line(rec: Any) -> str:
    """What the run reached on its test split, for a README."""
    if rec.test_value is None:
        return "The run has no test score (it did not finish)."
    return f"In nnlab the run reached test {rec.test_metric} {rec.test_value:.4f} after {plural(rec.epochs_done, 'epoch')}."
