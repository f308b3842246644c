"""Built-in datasets that work offline on a fresh machine, deterministic by seed."""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from nnlab.core.config import RunConfig
from nnlab.data.base import Dataset, DatasetSpec, register
from nnlab.data.prep import image_dataset, series_dataset, text_dataset

SHAPES = ("circle", "square", "triangle", "cross")
DIGITS_MAX = 16  # scikit-learn's digits are 8x8 counts of 0 to 16 ink pixels of a 32x32 bitmap


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as it ships them: images (1797, 8, 8) float 0..16 and labels. Read from the file
    sklearn.datasets.load_digits reads, without importing scikit-learn (a second, more than a small run trains)."""
    spec = importlib.util.find_spec("sklearn")  # finds the package without running it
    folders = spec.submodule_search_locations if spec is not None else None
    path = Path(folders[0], "datasets", "data", "digits.csv.gz") if folders else None
    if path is None or not path.is_file():  # another layout: let scikit-learn find its file
        from sklearn.datasets import load_digits as sk_digits

        d = sk_digits()
        return d.images, d.target
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",")
    return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(int)


def load_digits(cfg: RunConfig) -> Dataset:
    """scikit-learn's 1,797 handwritten digits, 8x8 grey images."""
    raw, target = digits_arrays()
    images = np.clip(raw * DIGITS_MAX, 0, 255).astype(np.uint8)[:, None]  # (N, 1, 8, 8), 0..16 -> 0..255
    classes = [str(c) for c in range(10)]
    return image_dataset("digits", images, target, classes, cfg, raw_range=(0, DIGITS_MAX), pixel_scale=DIGITS_MAX)


def make_shapes(n: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n RGB images (n, 3, size, size) uint8 of a filled shape in a random colour on a noisy background."""
    labels = rng.integers(0, len(SHAPES), n)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    cx, cy = (rng.uniform(0.3, 0.7, (2, n, 1, 1)) * size).astype(np.float32)
    r = (rng.uniform(0.15, 0.3, (n, 1, 1)) * size).astype(np.float32)
    dx, dy = np.abs(xx - cx), np.abs(yy - cy)
    masks = np.stack(
        [
            dx**2 + dy**2 <= r**2,
            (dx <= r * 0.85) & (dy <= r * 0.85),
            (yy - cy <= r) & (yy - cy >= -r) & (dx <= (yy - cy + r) / 2),
            ((dx <= r / 3) & (dy <= r)) | ((dy <= r / 3) & (dx <= r)),
        ]
    )[labels, np.arange(n)]  # (n, size, size)
    background = rng.uniform(0, 0.35, (n, 3, 1, 1)) + rng.normal(0, 0.06, (n, 3, size, size))
    colour = rng.uniform(0.45, 1.0, (n, 3, 1, 1))
    img = np.where(masks[:, None], colour, background)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8), labels


def shapes_data() -> tuple[np.ndarray, np.ndarray]:
    """The built-in shapes set's raw images (3000, 3, 32, 32) uint8 and labels, always the same."""
    return make_shapes(3000, 32, np.random.default_rng(1234))


def load_shapes(cfg: RunConfig) -> Dataset:
    """3,000 generated 32x32 colour images of four shapes."""
    images, labels = shapes_data()
    return image_dataset("shapes", images, labels, list(SHAPES), cfg)


_POS = (
    "good great excellent wonderful brilliant superb enjoyable delightful charming moving funny "
    "clever beautiful gripping fantastic amazing"
).split()
_NEG = (
    "bad terrible awful boring dull weak poor tedious clumsy bland annoying horrible predictable "
    "forgettable messy lifeless"
).split()
_ASPECTS = (
    "plot acting script music ending cast pacing dialogue direction story visuals humour camera work characters"
).split()
_OPENERS = [
    "i watched this film last night .",
    "saw it with friends .",
    "this movie came out last year .",
    "i had heard a lot about it .",
    "",
    "",
    "my sister picked this one .",
]
_FRAMES = [
    "the {a} was {n}{j}",
    "the {a} is {n}{j}",
    "i found the {a} {n}{j}",
    "the {a} felt {n}{j}",
    "honestly the {a} was {n}{j}",
    "to be fair the {a} was {n}{j}",
]
_JOINERS = [" , and ", " but ", " . ", " ; ", " , while "]


def make_reviews(n: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """Reviews of 1 or 3 clauses; a clause's polarity is its adjective's, flipped by "not"/"never".

    The label is the majority polarity, so the same words in another order can flip it: a bag of
    words cannot tell "not good ... bad" from "good ... not bad".
    """
    texts, labels = [], np.zeros(n, dtype=np.int64)
    for i in range(n):
        clauses, score = [], 0
        for _ in range(rng.choice([1, 3])):
            positive, negated = rng.random() < 0.5, rng.random() < 0.5
            adj = rng.choice(_POS if positive else _NEG)
            neg = rng.choice(["not ", "never "]) if negated else ""
            frame = rng.choice(_FRAMES)
            clauses.append(frame.format(a=rng.choice(_ASPECTS), n=neg, j=adj))
            score += 1 if positive != negated else -1
        body = clauses[0]
        for clause in clauses[1:]:
            body += rng.choice(_JOINERS) + clause
        texts.append(f"{rng.choice(_OPENERS)} {body} .".strip())
        labels[i] = int(score > 0)
    return texts, labels


REVIEW_CLASSES = ["negative", "positive"]


def reviews_data() -> tuple[list[str], np.ndarray]:
    """The built-in reviews set's 4,000 texts and labels (0 negative, 1 positive), always the same."""
    return make_reviews(4000, np.random.default_rng(4321))


def load_reviews(cfg: RunConfig) -> Dataset:
    """4,000 generated movie reviews, negative (0) or positive (1)."""
    texts, labels = reviews_data()
    return text_dataset("reviews", texts, labels, REVIEW_CLASSES, cfg)


def make_series(steps: int, rng: np.random.Generator) -> np.ndarray:
    """A daily-like series (steps, 1): slow trend, two seasons and noise."""
    t = np.arange(steps, dtype=np.float64)
    value = 10 + 0.001 * t + 2 * np.sin(2 * np.pi * t / 50) + 0.7 * np.sin(2 * np.pi * t / 13)
    return (value + rng.normal(0, 0.3, steps))[:, None]


def series_data() -> np.ndarray:
    """The built-in series' 2,000 steps (2000, 1), always the same."""
    return make_series(2000, np.random.default_rng(99))


def load_series(cfg: RunConfig) -> Dataset:
    """2,000 steps of a generated seasonal series with trend and noise."""
    return series_dataset("series", series_data(), ["value"], 0, cfg)


for _spec in [
    DatasetSpec(
        "digits",
        "Handwritten digits (scikit-learn)",
        "image",
        load_digits,
        "1,797 real 8x8 grey images of the digits 0-9.",
        builtin=True,
    ),
    DatasetSpec(
        "shapes",
        "Colour shapes (generated)",
        "image",
        load_shapes,
        "3,000 32x32 colour images: circle, square, triangle, cross.",
        builtin=True,
    ),
    DatasetSpec(
        "reviews",
        "Movie reviews (generated)",
        "text",
        load_reviews,
        "4,000 short reviews whose sentiment hinges on negation and word order.",
        builtin=True,
    ),
    DatasetSpec(
        "series",
        "Seasonal series (generated)",
        "series",
        load_series,
        "2,000 steps with trend, two seasons and noise; forecast the next value.",
        builtin=True,
    ),
]:
    register(_spec)
