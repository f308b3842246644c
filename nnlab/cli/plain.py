"""A summary as the line a person reads at the end of `train`, `resume` and `sweep` without --json (JSON keeps the
values exact)."""

from __future__ import annotations

from typing import Any

from nnlab.core.forecast import Forecast


def plain(value: Any) -> str:
    """A summary value: 4 digits, the pre-flight as its sentence, a dict as 'name value, ...'."""
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"  # 32,940 samples/s, not 3.294e+04
    if isinstance(value, dict) and "seconds_per_epoch" in value:
        forecast = Forecast.from_json(value)
        return f"'{forecast.sentence()}'" if forecast else ""
    if isinstance(value, dict):
        return ", ".join(f"{k} {plain(v)}" for k, v in value.items())
    return str(value)


def summary_line(summary: dict[str, Any]) -> str:
    """'run_id=...  status=finished  samples_per_s=32,940  ...': each key and its plain value; a key without one
    (a diverged run's samples_per_s, the device of a run that never started) is left out, not 'None'."""
    return "  ".join(f"{k}={plain(v)}" for k, v in summary.items() if v is not None and v != "")
