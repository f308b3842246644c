"""A sweep's search space: which config fields vary and over what, checked against each field's allowed range."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from nnlab.core.config import CHOICES, FIELDS, RANGES, RunConfig
from nnlab.core.errors import ConfigError

MAX_TRIALS = 500
FIXED = ("seed", "threads", "device", "expert")  # seeds have their own setting (--seeds); the rest are not tuned
_TYPES = {f.name: type(f.default) for f in fields(RunConfig)}
# numbers with a range, choices, and on/off switches: what a sweep can vary, in the form's order
_VARIABLE = [n for n, i in FIELDS.items() if (n in RANGES or n in CHOICES or i.widget == "toggle") and n not in FIXED]
_BOOLS = tuple(n for n in _VARIABLE if _TYPES[n] is bool)


@dataclass(frozen=True)
class Dim:
    """One varied field: a range (low, high, log) or a list of values."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    values: tuple[Any, ...] = ()

    @property
    def label(self) -> str:
        return label_of(self.name)

    def spec(self) -> str:
        """The command-line form: LOW:HIGH, LOW:HIGH:log or V1,V2,V3."""
        if self.values:
            return ",".join(_text(v) for v in self.values)
        return f"{_text(self.low)}:{_text(self.high)}" + (":log" if self.log else "")

    def distribution(self) -> Any:
        """The Optuna distribution of this dimension."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.values:
            return CategoricalDistribution(list(self.values))
        if _TYPES[self.name] is int:
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return FloatDistribution(float(self.low), float(self.high), log=self.log)

    def grid(self) -> tuple[Any, ...]:
        """The values a grid search tries."""
        if self.values:
            return self.values
        lo, hi = float(self.low), float(self.high)
        points = [lo, math.sqrt(lo * hi) if self.log else (lo + hi) / 2, hi]
        if _TYPES[self.name] is int:
            return tuple(dict.fromkeys(int(round(p)) for p in points))
        return tuple(float(f"{p:.4g}") for p in points)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "low": self.low, "high": self.high, "log": self.log, "values": list(self.values)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Dim:
        return cls(d["name"], d.get("low"), d.get("high"), bool(d.get("log")), tuple(d.get("values") or ()))


def bad_input(message: str) -> ConfigError:
    """The error for one problem with a sweep's input, one sentence naming the field."""
    return ConfigError([message])


def label_of(name: str) -> str:
    """A field's label as the form shows it."""
    return FIELDS[name].label if name in FIELDS else name


def variable_fields(arch: str, kind: str) -> list[str]:
    """The fields a sweep can vary for this architecture and kind of data, in the form's order."""
    return [n for n in _VARIABLE if applies(n, arch, kind)]


def applies(name: str, arch: str, kind: str) -> bool:
    """Whether an architecture trained on this kind of data uses the field (its ArchSpec and the field's kinds)."""
    from nnlab.models import MODELS

    info = FIELDS[name]
    if info.section == "model" and arch in MODELS and name not in MODELS[arch].fields:
        return False
    return not info.kinds or kind in info.kinds


def _text(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v).lower() if isinstance(v, bool) else str(v)


def _number(name: str, text: str, what: str) -> float | int:
    try:
        value = float(text)
    except ValueError:
        raise bad_input(f"{label_of(name)}: {what} {text!r} is not a number.") from None
    if _TYPES[name] is int:
        if value != int(value):
            raise bad_input(f"{label_of(name)} takes whole numbers; {text} is not one.")
        return int(value)
    return value


def _value(name: str, text: str) -> Any:
    text = text.strip()
    if name in _BOOLS:
        if text.lower() not in ("true", "false"):
            raise bad_input(f"{label_of(name)} is on or off: list true,false (got {text!r}).")
        return text.lower() == "true"
    if name in CHOICES:
        if text not in CHOICES[name]:
            raise bad_input(f"{label_of(name)} {text!r} is not one of {', '.join(CHOICES[name])}.")
        return text
    return _number(name, text, "value")


def _known(name: str) -> str:
    if name not in _TYPES:
        raise bad_input(f"There is no field {name!r} to vary; use one of {', '.join(_VARIABLE)}.")
    if name not in _VARIABLE:
        hint = "; use --seeds to run each trial with several seeds" if name == "seed" else ""
        raise bad_input(f"{label_of(name)} ({name}) cannot be varied in a sweep{hint}.")
    return name


def parse_dim(name: str, spec: str) -> Dim:
    """A Dim from the command line's SPEC (LOW:HIGH, LOW:HIGH:log, or V1,V2,V3); bounds are checked later."""
    name = _known(name.strip().replace("-", "_"))
    if ":" in spec and name not in CHOICES and name not in _BOOLS:
        parts = spec.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("log", "linear")):
            raise bad_input(f"{label_of(name)}: range {spec!r} must be LOW:HIGH, LOW:HIGH:log or V1,V2,V3.")
        return Dim(name, _number(name, parts[0], "low"), _number(name, parts[1], "high"), parts[2:] == ["log"])
    values = tuple(dict.fromkeys(_value(name, v) for v in spec.split(",") if v.strip()))
    if not values:
        raise bad_input(f"{label_of(name)}: the list of values is empty; give at least one value.")
    return Dim(name, values=values)


def _bounds_problem(dim: Dim, value: float, expert: bool) -> str | None:
    rng = RANGES[dim.name]
    lo, hi = rng.bounds(expert)
    if (value == 0 and rng.zero_ok) or lo <= value <= hi:
        return None
    zero = " (or 0)" if rng.zero_ok else ""
    return f"{dim.label} {_text(value)} is outside the allowed {_text(lo)} to {_text(hi)}{zero}; narrow the range."


def check_dim(dim: Dim, base: RunConfig, kind: str) -> Dim:
    """dim itself when it fits the field, the architecture and the field's range; ConfigError otherwise."""
    name = _known(dim.name)
    if not applies(name, base.arch, kind):
        raise bad_input(f"{label_of(name)} ({name}) does not apply to {base.arch} on {kind} data; vary another field.")
    if not dim.values:
        if dim.high <= dim.low:
            what = "empty" if dim.high == dim.low else "inverted"
            raise bad_input(f"{dim.label}: range {dim.spec()} is {what}; give LOW:HIGH with LOW below HIGH.")
        if dim.log and dim.low <= 0:
            raise bad_input(f"{dim.label}: a log range must start above 0 (got {dim.spec()}).")
    numbers = [v for v in (dim.values or (dim.low, dim.high)) if not isinstance(v, (str, bool))]
    problems = [p for v in numbers if name in RANGES and (p := _bounds_problem(dim, v, base.expert))]
    if problems:
        raise bad_input(problems[0])
    return dim


def check_space(dims: list[Dim], base: RunConfig, kind: str) -> list[Dim]:
    """Every dimension checked, each field once; ConfigError naming the first problem field."""
    if not dims:
        raise bad_input("Choose at least one field to vary (--vary FIELD=SPEC).")
    seen = [d.name for d in dims]
    dup = next((n for n in seen if seen.count(n) > 1), None)
    if dup:
        raise bad_input(f"{label_of(dup)} is varied twice; give one range or list per field.")
    return [check_dim(d, base, kind) for d in dims]


def grid_size(dims: list[Dim]) -> int:
    """How many combinations a grid over these dimensions has."""
    return math.prod(len(d.grid()) for d in dims)


def check_budget(dims: list[Dim], strategy: str, trials: int | None) -> int:
    """The number of trials to run (a grid's size when not given); ConfigError when the budget does not fit."""
    size = grid_size(dims) if strategy == "grid" else None
    if size is not None and size > MAX_TRIALS:
        raise bad_input(f"The grid has {size} combinations, over the limit of {MAX_TRIALS}; list fewer values.")
    n = trials if trials is not None else size
    if n is None:
        raise bad_input("Give the number of trials (--trials N).")
    if n < 1:
        raise bad_input(f"Trials must be at least 1 (got {n}); a sweep needs a budget.")
    if n > MAX_TRIALS:
        raise bad_input(f"Trials {n} is over the limit of {MAX_TRIALS}; ask for fewer trials.")
    if size is not None and n > size:
        raise bad_input(f"The grid has {size} combinations, fewer than trials {n}; ask for at most {size} trials.")
    return n
