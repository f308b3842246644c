"""Handing a run over: export it as a plain PyTorch script folder or as its model (TorchScript, torch.export), to a
folder or zipped for a download, or say in one sentence why it cannot be; write a report file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nnlab.core.errors import NNLabError
from nnlab.store.runfolder import atomic_write

if TYPE_CHECKING:
    from nnlab.store.runs import RunStore


class HandoverActions:
    """Mixed into Lab: export, and writing a report."""

    store: RunStore

    def export(self, run_id: str, fmt: str, out: str | Path) -> list[Path]:
        """Write the run in format `fmt` into the empty or new folder `out`; returns the files written."""
        from nnlab.analysis.groups import no_such_run
        from nnlab.export import export_run

        if self.store.find(run_id) is None:
            raise NNLabError(no_such_run(self.store.list(), run_id, "export one of its runs"))
        return export_run(self.store, run_id, fmt, Path(out))

    def export_zip(self, run_id: str, fmt: str) -> bytes:
        """The export of a run in format `fmt`, zipped in memory (a download)."""
        from nnlab.export import export_zip

        return export_zip(self.store, run_id, fmt)

    def export_problem(self, run_id: str, fmt: str) -> str | None:
        """Why the run cannot be exported in format `fmt` (one sentence), or None."""
        from nnlab.export import export_problem

        return export_problem(self.store, run_id, fmt)

    def report(self, document: str, out: str | Path) -> Path:
        """Write a report (one HTML document, built by nnlab.views.reports) to the file `out`, atomically, making
        its folder if needed; returns the path written."""
        path = Path(out).expanduser()
        if path.is_dir():
            raise NNLabError(f"{out} is a folder; name the report's file, like {path / 'report.html'}.")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, lambda tmp: tmp.write_text(document, encoding="utf-8"))
        except OSError as exc:
            raise NNLabError(f"The report cannot be written to {out}: {exc.strerror or type(exc).__name__}.") from exc
        return path
