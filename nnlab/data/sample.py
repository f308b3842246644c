"""A look at a loaded dataset for the Train form: the examples of each class and a few of them (images, texts),
or a series with its validation and test parts; taken from the Dataset the loaders built, nothing read again."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from nnlab.core.config import RunConfig
from nnlab.data.base import Dataset, Split
from nnlab.data.prep import display_images, series_bounds

SHOWN_CLASSES = 12  # classes with example images or texts; the counts cover them all
TEXT_CHARS = 300  # characters of each example text


@dataclass(frozen=True)
class DataSample:
    """classes and counts: examples per class over the three splits; images: per shown class, (k, H, W, C) uint8
    thumbnails from the training split; texts: (class, text) pairs from the test split; series: the forecast
    column over time (T,) with its name and the steps where validation and test begin."""

    classes: tuple[str, ...] = ()
    counts: tuple[int, ...] = ()
    images: tuple[np.ndarray, ...] = ()
    texts: tuple[tuple[str, str], ...] = ()
    series: np.ndarray | None = None
    series_name: str = ""
    bounds: tuple[int, int] = (0, 0)


def sample_of(data: Dataset, cfg: RunConfig, per_class: int = 4) -> DataSample:
    """What the form shows of a loaded dataset: its class counts and a few examples of each, or its series."""
    if data.task == "regression":
        series = np.asarray(data.display["series"], dtype=np.float64)
        name = data.facts.columns[data.facts.target_index]
        return DataSample(series=series, series_name=name, bounds=series_bounds(len(series), cfg))
    y = torch.cat([data.train.y, data.val.y, data.test.y]).numpy()
    counts = np.bincount(y, minlength=len(data.classes))
    sample = DataSample(classes=tuple(data.classes), counts=tuple(int(c) for c in counts))
    if data.kind == "image":
        return replace(sample, images=_images(data.train, per_class, len(data.classes)))
    if "texts" in data.display:
        return replace(sample, texts=_texts(data, per_class // 2 or 1))
    return sample


def _images(split: Split, per_class: int, classes: int) -> tuple[np.ndarray, ...]:
    y = split.y.numpy()
    return tuple(
        display_images(split.x[np.flatnonzero(y == c)[:per_class]]) for c in range(min(classes, SHOWN_CLASSES))
    )


def _texts(data: Dataset, per_class: int) -> tuple[tuple[str, str], ...]:
    y, texts = data.test.y.numpy(), data.display["texts"]
    return tuple(
        (data.classes[c], str(texts[i])[:TEXT_CHARS])
        for c in range(min(len(data.classes), SHOWN_CLASSES))
        for i in np.flatnonzero(y == c)[:per_class]
    )
