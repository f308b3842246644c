"""The data check: typed findings about a prepared dataset, added to those its loader found (ID-like columns,
how numbers were read, missing values, image sizes, series gaps). load_dataset runs it on every load, so the
Train preview, `nnlab check`, `nnlab train` (before the run exists) and the run itself (its info.json) hold the
same findings.

What it looks at, by kind of data: columns that give the label away (one scikit-learn tree per column, fitted on
training rows and scored on the others, or by folds over every row of a small table), constant columns,
duplicate rows and rows shared between the training and test splits, class imbalance (and whether class weights
are on), the images' size, the texts' lengths and unknown words, a series' season.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from nnlab.core.config import RunConfig
from nnlab.core.findings import IMBALANCE_RATIO, Finding, imbalance_ratio, info, warning, weights_on
from nnlab.core.text import plural
from nnlab.data.base import Dataset, Split
from nnlab.data.layout import columns_hold, names

COPY_SCORE = 0.98  # balanced accuracy of one column alone, on rows its tree did not see, that calls it a copy
COPY_ROWS = 2000  # rows a column's tree is fitted on (and scored on), at most
SCREEN_SCORE = 0.9  # a column's quick binned score from which its tree is fitted
LEAK_SHARE = 0.05  # share of test rows also in training above which the overlap is a warning
SEASON_ACF = 0.3  # autocorrelation of the changes at which a lag counts as a season


def check_dataset(data: Dataset, cfg: RunConfig) -> Dataset:
    """data with the check's findings after its loader's (the dataset's facts keep them)."""
    found: list[Finding] = []
    if data.kind == "tabular":
        found += label_copies(data, cfg.label_column) + constant_columns(data)
    if data.kind in ("tabular", "image", "text"):
        found += duplicates(data)
    if data.kind == "image" and not any(f.kind == "images" for f in data.facts.findings):
        found.append(image_finding(data))
    if data.task == "classification":
        found += imbalance(data, cfg)
    if data.kind == "series":
        found += season(data, cfg)
    data.facts = replace(data.facts, findings=(*data.facts.findings, *found))
    return data


def _source(data: Dataset) -> str:
    return data.facts.source or data.name


def _all(split_x: list[torch.Tensor]) -> np.ndarray:
    return torch.cat(split_x).cpu().numpy()


# -- tables --------------------------------------------------------------------------------------------------
def label_copies(data: Dataset, label: str) -> list[Finding]:
    """Columns that predict the label almost perfectly on their own: a tree on the column alone, fitted on training
    rows, scored (balanced accuracy) on validation and test rows (a small table: over every row, by folds); or a column
    whose every value goes with one class."""
    columns = data.facts.column_names
    train_x, train_y = _sample(data.train, COPY_ROWS, 0)
    held = Split(torch.cat([data.val.x, data.test.x]), torch.cat([data.val.y, data.test.y]))
    held_x, held_y = _sample(held, COPY_ROWS, 1)
    all_x, all_y = _all([data.train.x, data.val.x, data.test.x]), _all([data.train.y, data.val.y, data.test.y])
    scores, k = {}, data.facts.num_classes
    small = len(all_y) <= COPY_ROWS  # few held-out rows: one lucky split reads 1.00 (iris' petal length on 38)
    for j, name in enumerate(columns):
        score = 0.0
        if _binned_score(train_x[:, j], train_y, held_x[:, j], held_y, k) >= SCREEN_SCORE:  # trees only where it may
            if small:
                score = _folds_score(all_x[:, j], all_y, k)
            else:
                score = _one_column_score(train_x[:, j], train_y, held_x[:, j], held_y, k)
        if score >= COPY_SCORE or _determines(all_x[:, j], all_y):
            scores[name] = score
    if not scores:
        return []
    best = max(scores.values())
    many = len(scores) > 1
    return [
        warning(
            "label_copy",
            f"Column{'s' if many else ''} {names(list(scores))} of {_source(data)} predict{'' if many else 's'} "
            f"the label {label!r} almost perfectly on {'their' if many else 'its'} own (balanced accuracy {best:.2f} from one "
            "column, on rows its model was not fitted on): probably a copy or a code of the label, or recorded after "
            f"the outcome; nnlab kept {'them' if many else 'it'}, so the model will lean on {'them' if many else 'it'}; "
            "remove such a column from the file unless it will be known for new rows.",
        )
    ]


def _sample(split: Split, most: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    x, y = split.x.cpu().numpy(), split.y.cpu().numpy()
    if len(y) <= most:
        return x, y
    keep = np.random.default_rng(seed).choice(len(y), most, replace=False)
    return x[keep], y[keep]


def _binned_score(x: np.ndarray, y: np.ndarray, hx: np.ndarray, hy: np.ndarray, classes: int, bins: int = 32) -> float:
    """A quick screen: balanced accuracy on (hx, hy) of each quantile bin of x voting its most frequent class."""
    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1]))
    votes = np.zeros((len(edges) + 1, classes))
    np.add.at(votes, (np.searchsorted(edges, x), y), 1)
    guess = votes.argmax(1)[np.searchsorted(edges, hx)]
    present = np.bincount(hy, minlength=classes) > 0
    right = np.bincount(hy[guess == hy], minlength=classes)
    return float((right[present] / np.bincount(hy, minlength=classes)[present]).mean()) if present.any() else 0.0


def _one_column_score(x: np.ndarray, y: np.ndarray, hx: np.ndarray, hy: np.ndarray, classes: int) -> float:
    """Balanced accuracy on (hx, hy) of a small tree fitted on the one column x."""
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.tree import DecisionTreeClassifier

    if len(np.unique(x)) < 2 or not len(hy):
        return 0.0
    tree = DecisionTreeClassifier(max_leaf_nodes=min(64, 4 * classes), random_state=0)
    tree.fit(x[:, None], y)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true" on small held-out rows
        return float(balanced_accuracy_score(hy, tree.predict(hx[:, None])))


def _folds_score(x: np.ndarray, y: np.ndarray, classes: int, folds: int = 5) -> float:
    """Balanced accuracy over every row of a small tree on the one column x, each row predicted by the tree
    fitted on the other folds (a small dataset's held-out rows alone are too few to tell 0.95 from 1.00)."""
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.tree import DecisionTreeClassifier

    if len(np.unique(x)) < 2 or len(y) < 2 * folds:
        return 0.0
    tree = DecisionTreeClassifier(max_leaf_nodes=min(64, 4 * classes), random_state=0)
    guess = cross_val_predict(tree, x[:, None], y, cv=KFold(folds, shuffle=True, random_state=0))
    return float(balanced_accuracy_score(y, guess))


def _determines(x: np.ndarray, y: np.ndarray) -> bool:
    """Each value of x goes with one class, and values repeat (a column unique per row says nothing)."""
    values, inverse = np.unique(x, return_inverse=True)
    if len(values) < 2 or len(values) > len(x) / 2:
        return False
    pairs = np.unique(inverse.astype(np.int64) * (int(y.max()) + 1) + y)  # one code per (value, class) pair
    return len(pairs) == len(values)


def constant_columns(data: Dataset) -> list[Finding]:
    """Columns that hold one value on every row (after blanks were filled)."""
    x = _all([data.train.x, data.val.x, data.test.x])
    same = [data.facts.column_names[j] for j in np.flatnonzero((x == x[:1]).all(0))]
    if not same:
        return []
    many = len(same) > 1
    return [
        info(
            "constant",
            f"{columns_hold(same, _source(data))} one value on every row, which tells a model nothing; nnlab kept {'them' if many else 'it'} (it changes nothing); remove "
            f"{'them' if many else 'it'} from the file to tidy it.",
        )
    ]


# -- rows, images, texts ---------------------------------------------------------------------------------------
def _digests(split: Split, chunk: int = 8192) -> np.ndarray:
    """One 64-bit hash per example of its input bytes (and its length, for a text): (N,) uint64. A random linear
    hash over 8-byte words, in chunks of rows: about 50 ms for MNIST's 70,000 images, where a digest per row took
    a second."""
    x = split.x.cpu().contiguous().numpy()
    rows = x.reshape(len(x), -1).view(np.uint8)
    width = -(-rows.shape[1] // 8)  # 8-byte words per row
    weights = np.random.default_rng(0).integers(1, 2**63, width + 1, dtype=np.uint64) | np.uint64(1)
    lengths = split.lengths.cpu().numpy().astype(np.uint64) if split.lengths is not None else None
    out = np.zeros(len(rows), np.uint64)
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        if rows.shape[1] % 8:  # padded to whole words
            part = np.concatenate([part, np.zeros((len(part), width * 8 - rows.shape[1]), np.uint8)], axis=1)
        words = np.ascontiguousarray(part).view(np.uint64)
        h = np.zeros(len(part), np.uint64)
        for k in range(width):  # wraps modulo 2**64, as a hash should
            h += words[:, k] * weights[k]
        if lengths is not None:
            h += lengths[start : start + chunk] * weights[-1]
        out[start : start + chunk] = h ^ (h >> np.uint64(29))
    return out


def duplicates(data: Dataset) -> list[Finding]:
    """Examples that repeat (with their label), and test examples whose input is also a training example's."""
    splits = (data.train, data.val, data.test)
    digests = [_digests(s) for s in splits]
    labels = np.concatenate([s.y.cpu().numpy() for s in splits]).astype(np.uint64)
    pairs = np.concatenate(digests) * np.uint64(1_000_003) + labels  # one code per (input, label)
    copies = len(pairs) - len(np.unique(pairs))
    test = digests[2]
    shared = int(np.isin(test, digests[0]).sum())
    found, what = [], "rows" if data.kind == "tabular" else "examples"
    if copies:
        one = copies == 1
        same = (
            f"{'reads' if one else 'read'} the same as another to the model, label included (the same first "
            f"{data.facts.max_len} tokens, a word outside the vocabulary read as unknown)"
            if data.kind == "text"  # the check sees the token ids: texts that differ in rare words alone look alike
            else f"{'is an exact copy' if one else 'are exact copies'} of another (input and label)"
        )
        found.append(
            info(
                "duplicates",
                f"{plural(copies, what[:-1])} of {_source(data)} {same}; nnlab kept them, as they were given; remove "
                "repeats from the data if they were not measured twice.",
            )
        )
    if shared:
        share = shared / max(len(test), 1)
        make = warning if share >= LEAK_SHARE else info
        found.append(
            make(
                "leakage",
                f"{shared} of the {len(test)} test {what} of {_source(data)} ({share:.0%}) also {'appears' if shared == 1 else 'appear'} in the "
                f"training split with the same input, so part of the test score measures memory, not generalisation; "
                "nnlab kept the split as drawn; remove repeated rows from the data for an honest score.",
            )
        )
    return found


def image_finding(data: Dataset) -> Finding:
    """The images' size and channels as loaded, and the size and channels nnlab trains them at."""
    _, c, h, w = data.train.x.shape
    size, channels = data.facts.image_size, data.facts.channels
    shape = f"{h}x{w} pixels, {plural(c, 'channel')}"
    if size > h:
        how = f"upscaled to {size}x{size}, the size the architecture's pretrained weights expect"
    elif size < h:
        how = f"scaled down to {size}x{size}"
    else:
        how = f"at their own size, {size}x{size}"
    with_channels = f" with {plural(channels, 'channel')}" if channels != c else ""
    return info(
        "images",
        f"The images of {_source(data)} are {shape}; nnlab trains them {how}{with_channels}; "
        "give --image-size to choose another size.",
    )


def text_finding(tokens: list[list[str]], vocab: list[str], test: np.ndarray, max_len: int, source: str) -> Finding:
    """The texts' lengths in tokens, how many are cut at max_len, and the share of test tokens not in the vocabulary."""
    lengths = np.array([len(t) for t in tokens])
    cut = float((lengths > max_len).mean())
    known = set(vocab)
    test_tokens = [w for i in test for w in tokens[i][:max_len]]
    unknown = sum(w not in known for w in test_tokens) / max(len(test_tokens), 1)
    make = warning if cut > 0.2 or unknown > 0.2 else info
    cutting = f"cut {cut:.0%} of them at {max_len} tokens" if cut else f"cut none (at most {max_len} tokens are read)"
    low, high = int(lengths.min()), int(lengths.max())
    have = (
        f"{plural(low, 'token')} each" if low == high else f"{low} to {high} tokens (median {int(np.median(lengths))})"
    )
    return make(
        "text",
        f"The texts of {source} have {have}; nnlab {cutting} and read {unknown:.1%} of the test tokens as unknown (not in the "
        f"vocabulary of {len(vocab):,} built on the training split); give --max-len and --vocab-size to change that.",
    )


# -- classes ---------------------------------------------------------------------------------------------------
def imbalance(data: Dataset, cfg: RunConfig) -> list[Finding]:
    """Strongly imbalanced classes, and whether class weights are on (automatic: on there); or weights asked for
    on balanced classes."""
    train = np.bincount(data.train.y.cpu().numpy(), minlength=data.facts.num_classes)
    ratio = imbalance_ratio(train)
    on = weights_on(cfg.class_weights, train)
    if ratio < IMBALANCE_RATIO:
        if on:
            return [
                info(
                    "imbalance",
                    f"Class weights are on (--class-weights on) though the classes of "
                    f"{_source(data)} are nearly balanced (largest {ratio:.1f} times the smallest).",
                )
            ]
        return []
    counts = np.bincount(_all([data.train.y, data.val.y, data.test.y]), minlength=data.facts.num_classes)
    big, small = int(counts.argmax()), int(counts.argmin())
    seen = (
        f"The classes of {_source(data)} are imbalanced: {data.classes[big]!r} has {counts[big]:,} examples, "
        f"{data.classes[small]!r} {counts[small]:,} ({ratio:.0f} to 1 in training)"
    )
    if on:
        how = (
            "drop it with --class-weights off"
            if cfg.class_weights == "on"
            else "give --class-weights off to turn them off"
        )
        return [
            info(
                "imbalance",
                f"{seen}; nnlab weighs each class's loss by how rare it is (class weights, "
                f"{'asked for' if cfg.class_weights == 'on' else 'automatic'}), so the model cannot score by ignoring "
                f"small classes; read the balanced accuracy; {how}.",
            )
        ]
    return [
        warning(
            "imbalance",
            f"{seen}; class weights are off (--class-weights off), so accuracy flatters a model that ignores small "
            "classes; read the balanced accuracy, or leave class weights automatic.",
        )
    ]


# -- series ----------------------------------------------------------------------------------------------------
def season(data: Dataset, cfg: RunConfig) -> list[Finding]:
    """The season of the forecast column: the lag with the highest autocorrelation once its trend is out (a peak above
    SEASON_ACF), and whether the window covers it."""
    values = np.asarray(data.display.get("series", []), dtype=np.float64)
    lag, acf = find_season(values)
    target = data.facts.target if hasattr(data.facts, "target") else ""
    if not lag:
        return [
            info(
                "series",
                f"No season was found in {target!r} of {_source(data)} (no repeating pattern after its "
                f"trend); the model sees the last {cfg.window} steps (--window).",
            )
        ]
    cover = (
        f"the window of {cfg.window} steps covers one season"
        if cfg.window >= lag
        else f"the window of {cfg.window} steps is shorter than one season; give --window {lag} or more so the model "
        "sees a whole season"
    )
    return [
        info(
            "series",
            f"{target!r} of {_source(data)} repeats every {lag} steps (autocorrelation {acf:.2f} "
            f"after its trend); {cover}.",
        )
    ]


def find_season(values: np.ndarray, most: int = 400) -> tuple[int, float]:
    """(lag, autocorrelation) of the strongest season of values after a straight trend is taken out: a peak of the
    autocorrelation above SEASON_ACF with a trough at half its lag (a random walk's slow wander has none);
    (0, 0.0) when none stands out."""
    n = len(values)
    if n < 24 or not np.isfinite(values).all():
        return 0, 0.0
    t = np.arange(n)
    x = values - np.polyval(np.polyfit(t, values, 1), t)
    if x.std() == 0:
        return 0, 0.0
    x = x - x.mean()
    spectrum = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[:n] / (x @ x)
    top = min(most, n // 3)
    peaks = [
        k
        for k in range(2, top)
        if acf[k] >= SEASON_ACF and acf[k] >= acf[k - 1] and acf[k] >= acf[k + 1] and acf[k // 2] < acf[k] - SEASON_ACF
    ]
    if not peaks:
        return 0, 0.0
    best = max(peaks, key=lambda k: acf[k])
    return best, float(acf[best])
