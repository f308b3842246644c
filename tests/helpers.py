"""Small configs that train in about a second, shared by the tests."""

from __future__ import annotations

from typing import Any

from nnlab.config import RunConfig
from nnlab.registry import make_config

TINY: dict[str, dict[str, Any]] = {
    "mlp": {"dataset": "digits", "hidden_sizes": (32,), "epochs": 2},
    "cnn": {"dataset": "digits", "epochs": 1, "hidden": 32},
    "resnet18": {"dataset": "digits", "epochs": 1, "pretrained": False, "hidden": 32},
    "lstm": {"dataset": "reviews", "epochs": 1, "hidden": 32, "max_len": 40},
    "ts-lstm": {"dataset": "series", "epochs": 2, "hidden": 32},
}


def tiny_config(arch: str = "mlp", **changes: Any) -> RunConfig:
    """A valid config of `arch` small enough for a unit test."""
    return make_config(arch, **{**TINY[arch], **changes})


def small(data, n: int = 300):
    """The same dataset cut to n training rows (and n // 3 validation and test rows), for speed."""
    import numpy as np

    data.train = data.train.subset(np.arange(min(n, len(data.train))))
    data.val = data.val.subset(np.arange(min(n // 3, len(data.val))))
    data.test = data.test.subset(np.arange(min(n // 3, len(data.test))))
    return data
