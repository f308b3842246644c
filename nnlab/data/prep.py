"""Turn raw arrays (images, tables, texts, series) into a split, normalised Dataset."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import torch
import torch.nn.functional as F

from nnlab.config import RunConfig
from nnlab.data.base import Dataset, Split, check_classes, make_splits, split_indices
from nnlab.errors import DataError
from nnlab.facts import ImageFacts, Scaler, SeriesFacts, TabularFacts, TextFacts
from nnlab.models import inputs_of

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PAD, UNK = "<pad>", "<unk>"
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")
_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
DISPLAY_MAX_SIDE = 64
DISPLAY_MAX_CHARS = 1000  # characters of a text kept for viewing


def image_dataset(
    name: str,
    images: np.ndarray,
    labels: np.ndarray,
    classes: list[str],
    cfg: RunConfig,
    test_images: np.ndarray | None = None,
    test_labels: np.ndarray | None = None,
) -> Dataset:
    """images: uint8 (N, C, H, W); labels: int (N,). Normalisation uses the training split only.

    With test_images given (a standard set's own test split), the images are split into train and
    validation only.
    """
    check_classes(labels, classes, name)
    x, y = torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels.astype(np.int64))
    if test_images is None:
        train, val, test, _ = make_splits(lambda i: Split(x[i], y[i]), labels, cfg)
    else:
        tr, va = _two_way(labels, cfg)
        train, val = Split(x[tr], y[tr]), Split(x[va], y[va])
        test = Split(
            torch.from_numpy(np.ascontiguousarray(test_images)), torch.from_numpy(test_labels.astype(np.int64))
        )
    inputs = inputs_of(cfg.arch)
    pretrained = bool(inputs.pretrained_size) and cfg.pretrained
    channels = inputs.channels or images.shape[1]
    size = cfg.image_size or (inputs.pretrained_size if pretrained else images.shape[2])
    if pretrained:
        mean, std = IMAGENET_MEAN, IMAGENET_STD
    else:
        flat = train.x.float().div_(255).transpose(0, 1).reshape(images.shape[1], -1)
        mean, std = tuple(flat.mean(1).tolist()), tuple(flat.std(1).clamp(min=1e-3).tolist())
        if channels != images.shape[1]:
            mean, std = mean * channels, std * channels
    info = ImageFacts(
        classes=tuple(classes),
        channels=channels,
        source_channels=int(images.shape[1]),
        image_size=size,
        scaler=Scaler.of(mean[:channels], std[:channels]),
    )
    return Dataset(name, train, val, test, info, {"images": display_images(test.x)})


def display_images(x: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) uint8 -> (N, H, W, C) uint8 no larger than DISPLAY_MAX_SIDE for thumbnails."""
    if x.shape[-1] > DISPLAY_MAX_SIDE:
        x = F.interpolate(x.float(), size=DISPLAY_MAX_SIDE, mode="area").round().clamp(0, 255).byte()
    return x.permute(0, 2, 3, 1).contiguous().numpy()


def tabular_dataset(
    name: str, features: np.ndarray, labels: np.ndarray, classes: list[str], columns: list[str], cfg: RunConfig
) -> Dataset:
    """features: float (N, F) as the user gave them; standardised with training-split statistics."""
    check_classes(labels, classes, name)
    raw = features.astype(np.float32)

    def split_of(i: np.ndarray) -> Split:
        return Split(torch.from_numpy(raw[i]), torch.from_numpy(labels[i].astype(np.int64)))

    train, val, test, test_idx = make_splits(split_of, labels, cfg)
    scaler = Scaler.of(train.x.mean(0).tolist(), train.x.std(0).clamp(min=1e-6).tolist())
    for s in (train, val, test):
        s.x = torch.from_numpy(scaler.scale(s.x.numpy()))
    info = TabularFacts(classes=tuple(classes), features=raw.shape[1], columns=tuple(columns), scaler=scaler)
    return Dataset(name, train, val, test, info, {"rows": raw[test_idx]})


def tokenize(text: str) -> list[str]:
    """Lowercase words and punctuation marks; HTML line breaks become spaces."""
    return _TOKEN.findall(_HTML_BREAK.sub(" ", text).lower())


def build_vocab(token_lists: list[list[str]], size: int) -> list[str]:
    """PAD (0), UNK (1), then the most frequent tokens, size entries at most."""
    counts = Counter(t for tokens in token_lists for t in tokens)
    return [PAD, UNK] + [w for w, _ in counts.most_common(max(0, size - 2))]


def encode(token_lists: list[list[str]], vocab: list[str], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids (N, max_len) padded with 0, and each text's length (at least 1)."""
    index = {w: i for i, w in enumerate(vocab)}
    ids = torch.zeros(len(token_lists), max_len, dtype=torch.long)
    lengths = torch.ones(len(token_lists), dtype=torch.long)
    for row, tokens in enumerate(token_lists):
        seq = [index.get(t, 1) for t in tokens[:max_len]] or [1]
        ids[row, : len(seq)] = torch.tensor(seq)
        lengths[row] = len(seq)
    return ids, lengths


def text_dataset(
    name: str,
    texts: list[str],
    labels: np.ndarray,
    classes: list[str],
    cfg: RunConfig,
    test_texts: list[str] | None = None,
    test_labels: np.ndarray | None = None,
) -> Dataset:
    """Tokenise, build the vocabulary on the training split only, encode with lengths kept.

    With test_texts given (IMDB's own test half), the texts are split into train and validation only.
    """
    check_classes(labels, classes, name)
    tokens = [tokenize(t) for t in texts]
    labels = labels.astype(np.int64)
    all_texts, all_tokens, all_labels = texts, tokens, labels
    if test_texts is not None:
        all_texts = list(texts) + list(test_texts)
        all_tokens = tokens + [tokenize(t) for t in test_texts]
        all_labels = np.concatenate([labels, test_labels.astype(np.int64)])
        tr, va = _two_way(labels, cfg)
        te = np.arange(len(texts), len(all_texts))
    else:
        tr, va, te = split_indices(labels, cfg)
    vocab = build_vocab([all_tokens[i] for i in tr], cfg.vocab_size)
    ids, lengths = encode(all_tokens, vocab, cfg.max_len)
    y = torch.from_numpy(all_labels)

    def split_of(i: np.ndarray) -> Split:
        i = torch.as_tensor(i)
        return Split(ids[i], y[i], lengths[i])

    info = TextFacts(classes=tuple(classes), vocab=tuple(vocab), max_len=cfg.max_len)
    # capped: numpy stores strings at the longest one's width (IMDB's longest review is ~14k characters)
    display = {"texts": np.array([all_texts[i][:DISPLAY_MAX_CHARS] for i in te], dtype=str)}
    return Dataset(name, split_of(tr), split_of(va), split_of(te), info, display)


def _two_way(labels: np.ndarray, cfg: RunConfig) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    share = cfg.val_fraction / (1 - cfg.test_fraction)
    return train_test_split(idx, test_size=share, random_state=cfg.seed, stratify=labels)


def series_dataset(name: str, values: np.ndarray, columns: list[str], target: int, cfg: RunConfig) -> Dataset:
    """values: float (T, F). Sliding windows split in time order; scaled by the training part only."""
    steps, width = len(values), cfg.window + cfg.horizon
    need = 4 * width
    if steps < need:
        raise DataError(
            f"Series {name} has {steps} time steps; it needs at least {need} (four windows of "
            f"{cfg.window} plus horizon {cfg.horizon}); use a longer series or a smaller window."
        )
    if not np.isfinite(values).all():
        raise DataError(f"Series {name} has missing or infinite values; fill or drop them first.")
    n = steps - width + 1  # windows
    n_test = max(1, int(round(n * cfg.test_fraction)))
    n_val = max(1, int(round(n * cfg.val_fraction)))
    n_train = n - n_val - n_test
    train_end = n_train + width - 1  # time steps seen by training windows
    std = values[:train_end].std(0)
    scaler = Scaler.of(values[:train_end].mean(0), np.where(std < 1e-8, 1.0, std))
    scaled = torch.from_numpy(scaler.scale(values).astype(np.float32))
    windows = scaled.unfold(0, width, 1).permute(0, 2, 1)  # (n, width, F)
    x, y = windows[:, : cfg.window], windows[:, cfg.window :, target]

    def split_of(a: int, b: int) -> Split:
        return Split(x[a:b].contiguous(), y[a:b].contiguous())

    info = SeriesFacts(
        columns=tuple(columns), target_index=target, window=cfg.window, horizon=cfg.horizon, scaler=scaler
    )
    start = n_train + n_val
    display = {"t": np.arange(start, n) + cfg.window, "series": values[:, target].astype(np.float32)}
    return Dataset(name, split_of(0, n_train), split_of(n_train, start), split_of(start, n), info, display)
