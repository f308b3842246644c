"""What the pre-flight said a run's epoch would take, kept with the run beside what epoch 1 took (no torch).

The estimate is measured (a few warm training steps, a validation pass and a checkpoint on the run's device)
and then calibrated by how far off the last estimates on this device for this architecture were; the run
records both, so its page, `--json` and the report say "estimated 41 s an epoch, took 38 s (-7%)".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from nnlab.core.text import format_duration

FORECAST_KEY = "estimate"  # where a run's summary keeps it


@dataclass(frozen=True)
class Forecast:
    """A run's pre-flight estimate (seconds an epoch, the whole run, peak memory) and epoch 1's real seconds."""

    seconds_per_epoch: float  # calibrated: measured x calibration
    seconds_total: float | None
    memory_mb: float
    device: str
    measured_per_epoch: float  # before calibration
    calibration: float = 1.0  # median ratio real / measured of the last runs on this device and architecture
    took: float | None = None  # epoch 1's seconds, once it ended (training, validation, checkpoint)

    @property
    def error(self) -> float | None:
        """(real - estimated) / estimated of epoch 1: -0.07 when it took 7% less than estimated."""
        if self.took is None or self.seconds_per_epoch <= 0:
            return None
        return (self.took - self.seconds_per_epoch) / self.seconds_per_epoch

    def with_actual(self, seconds: float) -> Forecast:
        """This forecast with epoch 1's real seconds."""
        return replace(self, took=seconds)

    def sentence(self) -> str:
        """'estimated 41 s an epoch, took 38 s (-7%)', or only the estimate before epoch 1 ends."""
        said = f"estimated {format_duration(self.seconds_per_epoch, fine=True)} an epoch"
        if self.took is None:
            return said
        pct = round(100 * (self.error or 0.0))
        sign = "−" if pct < 0 else "+" if pct > 0 else "±"
        return f"{said}, took {format_duration(self.took, fine=True)} ({sign}{abs(pct)}%)"

    def to_json(self) -> dict[str, Any]:
        """Plain values for the run's summary and `--json` (with the error once known)."""
        out = {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}
        if self.error is not None:
            out["error"] = round(self.error, 4)
        return out

    @classmethod
    def of(cls, summary: dict[str, Any]) -> Forecast | None:
        """The forecast a run's summary keeps, or None."""
        return cls.from_json(summary.get(FORECAST_KEY))

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Forecast | None:
        """The forecast a summary kept, or None."""
        if not data:
            return None
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})
