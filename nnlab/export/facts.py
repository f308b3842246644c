"""preprocessing.json: what a program must do to a raw input before an exported model sees it, and what comes out,
taken from the data facts the run used (its info.json) and nothing else."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from nnlab.core.config import RunConfig
from nnlab.core.facts import DataFacts, ImageFacts
from nnlab.data.classical import ARIMA_ORDERS, FOURIER_PAIRS, NAMES
from nnlab.data.tokens import HTML_BREAK, TOKENS

_KEYS = {
    "image": ("classes", "input_shape", "channels", "source_channels", "image_size", "mean", "std"),
    "tabular": ("classes", "input_shape", "columns", "mean", "std", "fill", "categories"),
    "text": ("classes", "vocab_size", "max_len", "vocab"),
    "series": ("input_shape", "columns", "target", "target_index", "mean", "std", "relative", "window", "horizon"),
}


def recorded_raw_range(data: DataFacts, cfg: RunConfig) -> DataFacts:
    """The facts with the raw value range of images recorded: runs from before nnlab kept it take it from their
    built-in dataset (loaded again, offline and quick); other image sets were uint8 pixels already."""
    if not isinstance(data, ImageFacts) or data.raw_range is not None:
        return data
    from nnlab.data import DATASETS, load_dataset

    spec = DATASETS.get(cfg.dataset)
    if spec is not None and spec.builtin:
        fresh = load_dataset(cfg).facts
        if isinstance(fresh, ImageFacts) and fresh.raw_range is not None:
            return replace(data, raw_range=fresh.raw_range, pixel_scale=fresh.pixel_scale)
    return replace(data, raw_range=(0.0, 255.0), pixel_scale=1.0)


def preprocessing_facts(data: DataFacts, cfg: RunConfig, model: dict[str, str]) -> dict[str, Any]:
    """What a program must do to a raw input before the exported model sees it, and what comes out."""
    info, kind = recorded_raw_range(data, cfg).to_json_dict(), data.kind
    facts: dict[str, Any] = {"kind": kind, "task": data.task, "arch": cfg.arch, "dataset": cfg.dataset}
    facts["model"] = model
    facts.update({k: info[k] for k in _KEYS[kind] if k in info})
    facts["raw"] = _raw(kind, info, cfg)
    facts["input"], facts["output"] = _io_words(kind)
    if info.get("relative"):  # a series forecast as changes from each window's last value
        facts["input"], facts["output"] = (
            "float (B, window, features): the last window rows minus the window's last row, / std per column",
            "scaled changes (B, horizon): value * std[target_index] + the window's last target value",
        )
    if info.get("blend") and info.get("blend_weight", 1.0) < 1:  # forecasts blended with a classical forecaster
        facts["blend"] = blend_facts(info)
    if kind == "text":
        facts["tokenizer"] = {
            "html_break": HTML_BREAK.pattern,  # replaced by a space, ignoring case, before anything else
            "lowercase": True,
            "pattern": TOKENS[info.get("tokens", "ascii")].pattern,  # the tokens are its matches, in order
            "pad": 0,
            "unknown": 1,
        }
    return facts


def blend_facts(info: dict[str, Any]) -> dict[str, Any]:
    """How a blended run's forecast is made: weight * the network's + (1 - weight) * the classical forecaster's of
    the same step, that forecaster fit on the whole target column given (as the Playground fits it)."""
    name, season = info["blend"], info.get("season", 0)
    return {
        "with": name,
        "label": NAMES[name],
        "weight": info["blend_weight"],
        "season": season,
        "orders": [list(o) for o in ARIMA_ORDERS],
        "fourier_pairs": FOURIER_PAIRS,
        "how": "forecast = weight * the network's + (1 - weight) * the classical forecaster's next value, fit with "
        "statsmodels on the whole target column given: holt_winters is damped-trend exponential smoothing (an additive "
        "season when the column holds two of them); arima is the best by AIC of the orders on the differences with a "
        "drift, Fourier terms carrying the season",
    }


def _raw(kind: str, info: dict[str, Any], cfg: RunConfig) -> dict[str, Any]:
    """The raw inputs the model's data came from: their value range and layout, as the dataset gives them."""
    if kind == "image":
        low, high = info["raw_range"]
        return {
            "range": [low, high],
            "pixel_scale": info["pixel_scale"],
            "as": (
                f"an array (N, H, W) or (N, H, W, C) (grey images also flattened to rows, (N, H*W)) of values from {low:g} to "
                f"{high:g} as the dataset gives them, "
                "made uint8 pixels as clip(value * pixel_scale, 0, 255); or image files (turned upright by their EXIF "
                "orientation, 16-bit pixels scaled to 8 bits (65535 -> 255), transparency over black)"
            ),
        }
    if kind == "tabular":
        onehot = (
            "; a column named in categories holds one of its values, which the model reads as one 0/1 input per value "
            "in that order (one-hot; a blank or another value sets none)"
            if info.get("categories")
            else ""
        )
        return {
            "as": "rows of numbers in the units of the columns (a CSV with these columns, or an array (N, features)); "
            f"a blank cell takes its column's training median, fill{onehot}",
        }
    if kind == "text":
        return {
            "text_column": cfg.text_column,
            "as": "texts: a text file each, or a CSV with the column text_column; HTML line breaks count as spaces",
        }
    return {
        "time": info.get("time", ""),
        "missing": cfg.missing,
        "as": "the series' rows in time order, numbers in the units of the columns (a CSV with these columns, or "
        "an array (T, features)); the last window rows are read",
    }


def _io_words(kind: str) -> tuple[str, str]:
    return {
        "image": (
            "float (B, C, image_size, image_size): pixels / 255 (grey images repeated to C channels), cut to their "
            "centred square, resized bilinearly (antialiased), then (x - mean[c]) / std[c]",
            "logits (B, classes); softmax gives the probabilities",
        ),
        "tabular": ("float (B, features) in the order of columns: (x - mean) / std", "logits (B, classes)"),
        "text": (
            "model(ids, lengths): ids long (B, max_len), tokens mapped through vocab (unknown 1), padded with 0 to "
            "max_len; lengths long (B,) of the real tokens (at least 1)",
            "logits (B, classes)",
        ),
        "series": (
            "float (B, window, features): the last window rows, (x - mean) / std per column",
            "scaled forecasts (B, horizon): value * std[target_index] + mean[target_index]",
        ),
    }[kind]
