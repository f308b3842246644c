"""Turn raw arrays (images, tables, texts, series) into a split, normalised Dataset."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from nnlab.core.config import RANGES, RunConfig
from nnlab.core.errors import DataError
from nnlab.core.facts import Categories, ImageFacts, Scaler, SeriesFacts, TabularFacts, TextFacts, input_names
from nnlab.core.findings import INFO, Finding
from nnlab.core.text import plural
from nnlab.data.base import Dataset, Split, check_classes, make_splits, split_indices
from nnlab.data.check import text_finding
from nnlab.data.layout import names
from nnlab.data.splits import train_test_indices
from nnlab.data.tokens import build_vocab, encode, tokenize
from nnlab.models import inputs_of

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DISPLAY_MAX_SIDE = 64
DISPLAY_MAX_CHARS = 1000  # characters of a text kept for viewing


def pixel_mean_std(x: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation (n - 1) of uint8 images (N, C, H, W) as values in [0, 1], from each
    channel's histogram of the 256 pixel values: exact, and a fifth of the time of converting every pixel."""
    values = torch.arange(256, dtype=torch.float64)
    means, stds = [], []
    for c in range(x.shape[1]):
        counts = torch.bincount(x[:, c].reshape(-1), minlength=256).double()
        n = counts.sum()
        mean = (counts * values).sum() / n
        var = (counts * (values - mean) ** 2).sum() / max(float(n) - 1, 1.0)
        means.append(float(mean) / 255)
        stds.append(max(float(var.sqrt()) / 255, 1e-3))
    return tuple(means), tuple(stds)


def image_dataset(
    name: str,
    images: np.ndarray,
    labels: np.ndarray,
    classes: list[str],
    cfg: RunConfig,
    test_images: np.ndarray | None = None,
    test_labels: np.ndarray | None = None,
    raw_range: tuple[float, float] = (0.0, 255.0),
    pixel_scale: float = 1.0,
) -> Dataset:
    """images: uint8 (N, C, H, W); labels: int (N,). Normalisation uses the training split only.

    With test_images given (a standard set's own test split), the images are split into train and
    validation only. raw_range and pixel_scale: the values the dataset gave, made pixels as
    clip(value * pixel_scale, 0, 255) (kept in the facts for programs that read the dataset's raw values).
    """
    check_classes(labels, classes, name)
    x, y = torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels.astype(np.int64))
    if test_images is None:
        train, val, test, _ = make_splits(lambda i: Split(x[i], y[i]), labels, cfg)
    else:
        tr, va = _two_way(labels, cfg)
        train, val = Split(x[tr], y[tr]).indexed(tr), Split(x[va], y[va]).indexed(va)
        test = Split(
            torch.from_numpy(np.ascontiguousarray(test_images)), torch.from_numpy(test_labels.astype(np.int64))
        ).indexed(np.arange(len(test_labels)))  # rows of the set's own test part
    inputs = inputs_of(cfg.arch)
    pretrained = bool(inputs.pretrained_size) and cfg.pretrained
    channels = inputs.channels or images.shape[1]
    size = cfg.image_size or (inputs.pretrained_size if pretrained else images.shape[2])
    if pretrained:
        mean, std = IMAGENET_MEAN, IMAGENET_STD
    else:
        mean, std = pixel_mean_std(train.x)
        if channels != images.shape[1]:
            mean, std = mean * channels, std * channels
    facts = ImageFacts(
        classes=tuple(classes),
        channels=channels,
        source_channels=int(images.shape[1]),
        image_size=size,
        scaler=Scaler.of(mean[:channels], std[:channels]),
        raw_range=(float(raw_range[0]), float(raw_range[1])),
        pixel_scale=float(pixel_scale),
    )
    return Dataset(name, train, val, test, facts, {"images": display_images(test.x)})


def display_images(x: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) uint8 -> (N, H, W, C) uint8 no larger than DISPLAY_MAX_SIDE for thumbnails."""
    if x.shape[-1] > DISPLAY_MAX_SIDE:
        x = F.interpolate(x.float(), size=DISPLAY_MAX_SIDE, mode="area").round().clamp(0, 255).byte()
    return x.permute(0, 2, 3, 1).contiguous().numpy()


def tabular_dataset(
    name: str,
    features: np.ndarray,
    labels: np.ndarray,
    classes: list[str],
    columns: list[str],
    cfg: RunConfig,
    rows: np.ndarray | None = None,
    categories: Categories = (),
) -> Dataset:
    """features: float (N, F) as the user gave them, NaN for blanks; filled and scaled on the training split.
    rows: each row's place in the user's file (where rows were dropped); 0..N-1 when not given. columns: the file's
    feature columns; categories: those read one-hot, with their values (F counts an input per value)."""
    check_classes(labels, classes, name)
    raw = features.astype(np.float32)
    rows = np.arange(len(raw)) if rows is None else np.asarray(rows)
    tr, va, te = split_indices(labels, cfg)
    prep = table_prep().fit(raw[tr])

    def split_of(i: np.ndarray) -> Split:
        x = prep.transform(raw[i]).astype(np.float32)
        return Split(torch.from_numpy(x), torch.from_numpy(labels[i].astype(np.int64))).indexed(rows[i])

    scaler = prep.named_steps["standardscaler"]  # scale 1 where a column is constant in the training split
    facts = TabularFacts(
        classes=tuple(classes),
        features=raw.shape[1],
        columns=tuple(columns),
        scaler=Scaler.of(scaler.mean_, scaler.scale_),
        fill=tuple(float(v) for v in prep.named_steps["simpleimputer"].statistics_),
        categories=categories,
        findings=_fill_findings(raw, input_names(columns, categories), name),
    )
    return Dataset(name, split_of(tr), split_of(va), split_of(te), facts, {"rows": raw[te]})


def table_prep():
    """scikit-learn's preparation of a feature table: blanks take the column's median, then standard scaling.

    StandardScaler uses a scale of 1 where a column's spread is (near) zero, so a feature constant in
    the training split cannot blow up validation or test rows where it is not.
    """
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler())


def _fill_findings(raw: np.ndarray, columns: list[str], name: str) -> tuple[Finding, ...]:
    blank = np.isnan(raw)
    if not blank.any():
        return ()
    cols = [columns[j] for j in np.flatnonzero(blank.any(0))]
    return (
        Finding(
            "missing",
            INFO,
            f"{plural(int(blank.sum()), 'cell')} in {int(blank.any(1).sum())} of {len(raw)} rows of {name} were blank "
            f"(in {names(cols, 6)}); nnlab filled each with its column's median on the training split and dropped no "
            "row; use --missing drop to drop those rows instead.",
        ),
    )


def text_dataset(
    name: str,
    texts: list[str],
    labels: np.ndarray,
    classes: list[str],
    cfg: RunConfig,
    test_texts: list[str] | None = None,
    test_labels: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> Dataset:
    """Tokenise, build the vocabulary on the training split only, encode with lengths kept.

    With test_texts given (IMDB's own test half), the texts are split into train and validation only, and a
    test example's index is its place in that half. rows: each text's place in the user's file (0..N-1 if not given).
    """
    check_classes(labels, classes, name)
    rows = np.arange(len(texts)) if rows is None else np.asarray(rows)
    tokens = [tokenize(t) for t in texts]
    labels = labels.astype(np.int64)
    all_texts, all_tokens, all_labels = texts, tokens, labels
    if test_texts is not None:
        all_texts = list(texts) + list(test_texts)
        all_tokens = tokens + [tokenize(t) for t in test_texts]
        all_labels = np.concatenate([labels, test_labels.astype(np.int64)])
        tr, va = _two_way(labels, cfg)
        te = np.arange(len(texts), len(all_texts))
        rows = np.concatenate([rows, np.arange(len(test_texts))])
    else:
        tr, va, te = split_indices(labels, cfg)
    vocab = build_vocab([all_tokens[i] for i in tr], cfg.vocab_size)
    ids, lengths = encode(all_tokens, vocab, cfg.max_len)
    y = torch.from_numpy(all_labels)

    def split_of(i: np.ndarray) -> Split:
        return Split(ids[torch.as_tensor(i)], y[torch.as_tensor(i)], lengths[torch.as_tensor(i)]).indexed(rows[i])

    checked = text_finding(all_tokens, vocab, te, cfg.max_len, name)
    facts = TextFacts(
        classes=tuple(classes), vocab=tuple(vocab), max_len=cfg.max_len, findings=(checked,), tokens="words"
    )
    # capped: numpy stores strings at the longest one's width (IMDB's longest review is ~14k characters)
    display = {"texts": np.array([all_texts[i][:DISPLAY_MAX_CHARS] for i in te], dtype=str)}
    return Dataset(name, split_of(tr), split_of(va), split_of(te), facts, display)


def _two_way(labels: np.ndarray, cfg: RunConfig) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(len(labels))
    share = cfg.val_fraction / (1 - cfg.test_fraction)
    return train_test_indices(idx, share, cfg.split_by, labels)


def series_bounds(steps: int, cfg: RunConfig) -> tuple[int, int]:
    """(validation start, test start): the time steps where validation and test targets begin.

    Fixed by time alone, so runs with different windows or horizons are scored on the same test steps.
    """
    n_test = max(cfg.horizon, int(round(steps * cfg.test_fraction)))
    n_val = max(cfg.horizon, int(round(steps * cfg.val_fraction)))
    return steps - n_test - n_val, steps - n_test


def _shorter_window(steps: int, cfg: RunConfig) -> str:
    """The advice for a series too short for its window: the largest window that fits, where one does."""
    low = RANGES["window"].bounds(cfg.expert)[0]
    fits = next((w for w in range(cfg.window - 1, int(low) - 1, -1) if _enough_steps(steps, cfg.replace(window=w))), 0)
    if not fits:
        return "use a longer series"
    return f"use a longer series or a window of {fits} steps or fewer (--window {fits})"


def _enough_steps(steps: int, cfg: RunConfig) -> bool:
    """At least as many training windows as validation and test steps together (and 8)."""
    val_start, _ = series_bounds(steps, cfg)
    return val_start - cfg.window - cfg.horizon + 1 >= max(8, steps - val_start)


def series_scale(train_values: np.ndarray) -> np.ndarray:
    """Per-column spread of the training part's one-step changes (1 where a column is constant).

    The model's targets are changes, so this gives them about unit variance: early stopping's minimum
    improvement and the learning rate then mean the same on every series.
    """
    from sklearn.preprocessing import StandardScaler

    return StandardScaler().fit(np.diff(train_values, axis=0)).scale_


def relative_windows(windows: np.ndarray, scaler: Scaler, window: int) -> np.ndarray:
    """windows (N, L, F) as changes from each window's last input step, divided by the scaler's std: float32.

    A model that outputs zero then forecasts the last value (the naive forecast), and a trend that
    leaves the training range still gives inputs and targets in the range the model was trained on.
    """
    last = windows[:, window - 1 : window, :]  # (N, 1, F)
    return ((windows - last) / np.asarray(scaler.std)).astype(np.float32)


def series_dataset(name: str, values: np.ndarray, columns: list[str], target: int, cfg: RunConfig) -> Dataset:
    """values: float (T, F) in time order. Windows split by the time of their targets; changes scaled; with a
    classical base, the network's targets are what the base's one-step forecast leaves over."""
    from numpy.lib.stride_tricks import sliding_window_view

    steps, width = len(values), cfg.window + cfg.horizon
    if not np.isfinite(values).all():
        raise DataError(f"Series {name} has missing or infinite values; fill or drop them first.")
    val_start, test_start = series_bounds(steps, cfg)
    if not _enough_steps(steps, cfg):
        need = next(n for n in range(steps, 100 * steps + 10_000) if _enough_steps(n, cfg))
        raise DataError(
            f"Series {name} has {steps} time steps; with window {cfg.window} and horizon {cfg.horizon} it needs "
            f"at least {need} (the training windows end before the validation and test parts); "
            f"{_shorter_window(steps, cfg)}."
        )
    scaler = Scaler.of(values[:val_start].mean(0), series_scale(values[:val_start]))
    windows = sliding_window_view(values.astype(np.float64), width, axis=0).transpose(0, 2, 1)  # (n, width, F)
    rel = torch.from_numpy(relative_windows(windows, scaler, cfg.window))
    x, y = rel[:, : cfg.window], rel[:, cfg.window :, target]
    first = np.arange(len(windows)) + cfg.window  # the time step of each window's first target
    ends = first + cfg.horizon
    base, note = choose_base(values[:, target], val_start, test_start, cfg)
    display = {"t": first[first >= test_start], "series": values[:, target].astype(np.float64)}
    if base is not None:
        forecasts = base.one_step(values[:, target])  # (T + 1,)
        extra, offset = base_inputs(values[:, target], forecasts, scaler.std[target], first, cfg.window)
        x, y = torch.cat([x, torch.from_numpy(extra)], dim=2), y - torch.from_numpy(offset)[:, None]
        display["base"] = forecasts[display["t"]]

    def split_of(keep: np.ndarray) -> Split:
        i = torch.from_numpy(np.flatnonzero(keep))
        return Split(x[i].contiguous(), y[i].contiguous()).indexed(first[keep])  # index: the first target's step

    facts = SeriesFacts(
        columns=tuple(columns),
        target_index=target,
        window=cfg.window,
        horizon=cfg.horizon,
        scaler=scaler,
        relative=True,
        test_start=test_start,
        base=base.name if base is not None else "",
        season=base.season if base is not None else 0,
        base_order=tuple(base.order) if base is not None else (),
        findings=tuple(Finding("base", INFO, said) for said in (note, _unblended(cfg)) if said),
    )
    train, val = split_of(ends <= val_start), split_of((first >= val_start) & (ends <= test_start))
    return Dataset(name, train, val, split_of(first >= test_start), facts, display)


def _unblended(cfg: RunConfig) -> str:
    """What --classical blend does to a run forecasting several steps ("" where it blends): nothing (engine/blend.py
    blends one-step forecasts)."""
    if cfg.classical != "blend" or cfg.horizon == 1:
        return ""
    return (
        f"Forecasting {cfg.horizon} steps ahead, this run's forecasts will be its network's alone: nnlab blends a "
        "classical forecaster in only where a run forecasts one step ahead; give --horizon 1 to blend."
    )


def choose_base(target: np.ndarray, val_start: int, test_start: int, cfg: RunConfig):  # noqa: ANN201
    """With --classical residual, the classical forecaster the network corrects (the one that forecasts the
    validation steps best; None where the last value does better) and a sentence saying so."""
    from nnlab.data.classical import baselines, best_on

    if cfg.classical != "residual" or cfg.horizon > 1:
        return None, ""
    b = baselines(target, val_start)
    val = b.rmse(target, val_start, test_start)
    best = best_on(val)
    if best is None or val[best] >= val["naive"]:
        return None, (
            "The network corrects the last value, not a classical fit: no classical forecaster fit on the training "
            "part beat the last value on the validation steps."
        )
    f = b.forecasters[best]
    return f, (
        f"The network learns what {f.label} leaves over: fit on the training part, it forecasts the validation "
        f"steps with RMSE {val[best]:.4g} against {val['naive']:.4g} for the last value."
    )


def base_inputs(
    target: np.ndarray, forecasts: np.ndarray, std: float, first: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """The base's inputs of the windows whose target steps are `first` (N,), (N, window, 2): its scaled errors at
    the input steps and its forecast of the target step as a scaled change from the last value; and that change
    (N,), which the targets subtract. target (T,); forecasts: the base's one-step forecast of every step (T + 1
    long when it also forecasts the step after the last)."""
    errors = np.nan_to_num((target - forecasts[: len(target)]) / std)  # (T,) 0 where the base has no forecast
    change = np.nan_to_num((forecasts[first] - target[first - 1]) / std)  # (N,)
    steps = first[:, None] - window + np.arange(window)[None, :]  # (N, window) the input steps of each window
    ahead = np.repeat(change[:, None], window, axis=1)
    return np.stack([errors[steps], ahead], axis=2).astype(np.float32), change.astype(np.float32)


def val_levels(data: Dataset, out: np.ndarray) -> np.ndarray:
    """The model's validation forecasts (N, horizon) in the data's units, from its scaled changes (runs without a
    classical base: the changes are from the last value)."""
    series, t = data.display["series"], data.facts.target_index
    last = series[data.val.index - 1][:, None]
    return data.facts.scaler.unscale_spread(out, t) + last


def series_levels(data: Dataset, y: np.ndarray, out: np.ndarray) -> tuple[np.ndarray, ...]:
    """Test targets, forecasts and the naive forecast (N, horizon) in the data's units, from scaled changes (from the
    last value, or from the classical base's forecast)."""
    t = data.facts.target_index
    last = data.display["series"][data.display["t"] - 1][:, None]  # (N, 1) the last value each window saw
    naive = np.repeat(last, y.shape[1], axis=1)
    anchor = data.display["base"][:, None] if "base" in data.display else last
    spread = data.facts.scaler.unscale_spread
    return spread(y, t) + anchor, spread(out, t) + anchor, naive
