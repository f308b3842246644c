"""Sentences in the words of their place. Messages are written with the command line's flags (--label-column);
the dashboard and the reports show them with the form's labels ("Label column"), read from the fields'
descriptions, so one sentence serves every front end."""

from __future__ import annotations

import re
from collections.abc import Mapping

from nnlab.core.config import FIELDS

ACTION_FLAGS = {"--seeds": "Seeds"}  # flags of actions (not config fields), as the form says them


def flag_of(name: str) -> str:
    """A config field's flag: --<name with dashes> unless its description names another."""
    return FIELDS[name].flag or "--" + name.replace("_", "-")


def as_flag(name: str, value: str) -> tuple[str, str]:
    """A config field and its value (as text) in the command line's words: (--hidden-sizes, 32); a toggle by
    whether its flag was given: early_stopping False -> (--no-early-stopping, on)."""
    flag, info = flag_of(name), FIELDS[name]
    if info.widget != "toggle" or value not in ("True", "False"):
        return flag, value
    inverted = flag != "--" + name.replace("_", "-")  # --no-pretrained, --unfreeze: the flag turns the field off
    return flag, "on" if (value == "True") != inverted else "off"


def in_form_words(message: str, choices: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """A message written for the command line, in the dashboard's words: each flag becomes the form's label
    (--label-column -> "Label column", --no-pretrained -> "Start from ImageNet weights" turned off). choices: the
    form's words for the values of fields whose choices are registered above this package (name -> value ->
    label: --arch ts-lstm -> "Architecture" set to "LSTM (time series)")."""
    for name, info in sorted(FIELDS.items(), key=lambda item: -len(flag_of(item[0]))):  # --data-root before --data
        flag = flag_of(name)
        if info.widget == "toggle" and flag.startswith("--no-"):
            words = f'"{info.label}" turned off'
        elif info.widget == "toggle" and flag != f"--{name.replace('_', '-')}":
            words = f'"{info.label}" turned off'  # --unfreeze: the toggle of freezing, off
        else:
            words = f'"{info.label}"'
            if info.widget == "toggle":  # a flag that turns a toggle on: "give --expert" -> turn on "Expert mode"
                message = re.sub(rf"\bgive {re.escape(flag)}(?![\w-])", f"turn on {words}", message)
        options = (*info.options, *(choices or {}).get(name, {}).items())
        for value, label in options:  # --classical none -> "Classical forecaster" set to "None: network alone"
            given = rf"{re.escape(flag)} {re.escape(value)}(?![\w-])"
            message = re.sub(rf"\bgive {given}", f'set {words} to "{label}"', message)  # "give --arch X" -> set it
            message = re.sub(given, f'{words} set to "{label}"', message)
        message = re.sub(rf"{re.escape(flag)}(?: [A-Z]+)?(?![\w-])", words, message)
    for flag, label in ACTION_FLAGS.items():  # the flags of actions, not of config fields
        message = re.sub(rf"{re.escape(flag)}(?![\w-])", f'"{label}"', message)
    return message
