"""RunConfig fields as widgets, read from each field's description (nnlab.core.config.FIELDS): the widget kind,
label, range and hint. Widget values live under the keys `field_key` gives, so a run's settings can be
loaded back into the form."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import streamlit as st

from nnlab.core.config import FIELDS, RANGES, RunConfig, range_text
from nnlab.data import DATASETS
from nnlab.data.registry import arch_defaults
from nnlab.ui.keys import KEY_FIELD, KEY_FIELD_ARCH, KEY_FIELD_DATASET


def field_key(name: str, arch: str, dataset: str = "") -> str:
    """The session-state key of a field's widget: per architecture for the fields whose default it sets."""
    if name in ("data_path", "data_root") or (dataset in DATASETS and name in DATASETS[dataset].options):
        return KEY_FIELD_DATASET.format(dataset=dataset, name=name)
    if name in arch_defaults(arch):
        return KEY_FIELD_ARCH.format(arch=arch, name=name)
    return KEY_FIELD.format(name=name)


def label_of(name: str) -> str:
    """A field's label in the form."""
    return FIELDS[name].label if name in FIELDS else name.replace("_", " ").capitalize()


def _fmt(x: float) -> str:
    return f"{x:g}"


def widget_value(name: str, value: Any) -> Any:
    """A config value in the shape its widget holds."""
    widget = FIELDS[name].widget if name in FIELDS else ""
    if widget == "sizes":
        return ",".join(str(v) for v in value)
    if widget == "multiselect":
        return list(value)
    return value


def parse_sizes(text: str) -> tuple[tuple[int, ...], str | None]:
    """'256, 128,64' -> (256, 128, 64); a one-sentence problem when it is not a list of whole numbers."""
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if not parts or not all(p.isdigit() for p in parts):
        return (), "Hidden layer sizes must be whole numbers separated by commas, like 256,128,64."
    return tuple(int(p) for p in parts), None


def _range_options(name: str, lo: float, hi: float, zero_ok: bool) -> list[float]:
    """The values a slider offers: 1-2-3-5 steps on a log scale, powers of two, or steps of 0.05 (dropout)."""
    widget = FIELDS[name].widget
    if widget == "log-slider":
        low = lo if lo > 0 else RANGES[name].lo / 10
        values = [
            float(f"{m * 10.0**e:.6g}")
            for e in range(math.floor(math.log10(low)), math.ceil(math.log10(hi)) + 1)
            for m in (1, 2, 3, 5)
        ]
        values = [v for v in values if low * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]
    elif widget == "pow2-slider":
        values = [2**e for e in range(0, 16) if lo <= 2**e <= hi]
    else:
        values = [round(lo + 0.05 * i, 2) for i in range(int(round((hi - lo) / 0.05)) + 1)]
    return ([0] if zero_ok and 0 not in values else []) + values


def _slider(name: str, key: str, expert: bool) -> Any:
    rng = RANGES[name]
    options = _range_options(name, *rng.bounds(expert), rng.zero_ok)
    current = st.session_state[key]
    if current not in options:  # a loaded run's exact value, or one left from expert mode: kept, and
        options = sorted({*options, current})  # validate() names it when it is out of range
    show = lambda v: "fit to the data" if v == 0 and name in ("batch_size", "epochs") else _fmt(v)  # noqa: E731
    return st.select_slider(label_of(name), options, format_func=show, key=key, help=range_text(name, expert))


def _number(name: str, key: str, expert: bool) -> Any:
    kind = type(getattr(RunConfig(), name))
    current = kind(st.session_state[key])
    st.session_state[key] = current
    step = 1 if kind is int else FIELDS[name].step or 0.01
    fmt = None if kind is int else "%.4f" if step < 0.01 else "%.2f"
    # no min_value / max_value: with them the browser keeps the old value when one out of range is typed (5000
    # epochs would silently train 20); without them the typed value arrives and validate() names the range,
    # which keeps Start disabled until it is fixed
    return st.number_input(
        label_of(name),
        step=step,
        format=fmt,
        key=key,
        help=range_text(name, expert),
    )


def expert_ranges() -> str:
    """The ranges expert mode widens, as they now stand: 'learning rate 1e-06 to 10, ...'."""
    wider = [(n, r) for n, r in RANGES.items() if r.bounds(True) != (r.lo, r.hi)]
    return ", ".join(f"{label_of(n).lower()} {_fmt(r.bounds(True)[0])} to {_fmt(r.bounds(True)[1])}" for n, r in wider)


def field_widget(name: str, base: RunConfig, expert: bool) -> Any:
    """One RunConfig field as the widget its description names, starting from base's value; returns the value."""
    info, key = FIELDS[name], field_key(name, base.arch, base.dataset)
    st.session_state.setdefault(key, widget_value(name, getattr(base, name)))
    if info.widget in ("log-slider", "pow2-slider", "slider"):
        return _slider(name, key, expert)
    if info.widget == "number":
        return _number(name, key, expert)
    if info.widget == "sizes":
        lo, hi = RANGES["hidden"].bounds(expert)
        hint = f"{info.hint} Each {_fmt(lo)} to {_fmt(hi)}."
        return st.text_input(info.label, key=key, help=hint, placeholder="256,128,64")
    if info.widget == "multiselect":
        return tuple(st.multiselect(info.label, info.choices, key=key, help=info.hint))
    if info.widget == "select":
        return st.selectbox(info.label, info.choices, format_func=info.option_label, key=key, help=info.hint)
    if info.widget == "toggle":
        return st.toggle(info.label, key=key, help=info.hint or None)
    return st.text_input(info.label, key=key, help=info.hint or None)


def shown(name: str, values: dict[str, Any], base: RunConfig) -> bool:
    """Whether a field is asked for, given the values of the fields it depends on (its description's `when`)."""
    when = FIELDS[name].when
    return when is None or values.get(when[0], getattr(base, when[0])) == when[1]


def field_widgets(names: Iterable[str], base: RunConfig, expert: bool) -> dict[str, Any]:
    """The widgets of several fields in order; a field that depends on another appears only when it applies."""
    values: dict[str, Any] = {}
    for name in names:
        if shown(name, values, base):
            values[name] = field_widget(name, base, expert)
    return values


def section_fields(section: str, column: int, kind: str = "") -> list[str]:
    """The fields a form section lays out in one column, for data of a kind, in declaration order."""
    return [
        n
        for n, info in FIELDS.items()
        if info.section == section and info.column == column and (not info.kinds or kind in info.kinds)
    ]
