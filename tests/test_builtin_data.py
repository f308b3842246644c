import re

import numpy as np
import pytest
import torch

from nnlab.core.errors import DataError
from nnlab.data import DATASETS, datasets_for, load_dataset
from nnlab.data.builtin import make_reviews
from nnlab.data.registry import make_config
from nnlab.data.tokens import build_vocab, encode, tokenize

ARCH = {"digits": "mlp", "shapes": "cnn", "reviews": "lstm", "series": "ts-lstm"}


@pytest.mark.parametrize("name", list(ARCH))
@pytest.mark.slow
def test_builtins_load_offline_with_three_disjoint_splits(name):
    data = load_dataset(make_config(ARCH[name], dataset=name))
    sizes = [len(data.train), len(data.val), len(data.test)]
    assert min(sizes) > 0 and sizes[0] > sizes[1]
    assert DATASETS[name].builtin and ARCH[name] in DATASETS[name].archs
    if data.task == "classification":
        assert data.facts.num_classes == len(data.classes) >= 2


@pytest.mark.parametrize("name", list(ARCH))
@pytest.mark.slow
def test_splits_are_fixed_by_the_split_seed_not_the_training_seed(name):
    a = load_dataset(make_config(ARCH[name], dataset=name, seed=3))
    b = load_dataset(make_config(ARCH[name], dataset=name, seed=4))  # another seed of the group: the same rows
    c = load_dataset(make_config(ARCH[name], dataset=name, seed=3, split_seed=5))
    d = load_dataset(make_config(ARCH[name], dataset=name, seed=4, split_seed=-1))  # the split follows the seed
    assert torch.equal(a.test.x, b.test.x) and np.array_equal(a.test.index, b.test.index)
    assert np.array_equal(a.val.index, b.val.index)
    if name != "series":  # the series is split in time order whatever the seed
        assert not np.array_equal(a.test.index, c.test.index)
        assert np.array_equal(
            d.test.index, load_dataset(make_config(ARCH[name], dataset=name, split_seed=4)).test.index
        )
    else:
        assert np.array_equal(a.test.index, c.test.index)


def test_digits_are_the_real_scikit_learn_digits():
    data = load_dataset(make_config("mlp"))
    assert len(data.train) + len(data.val) + len(data.test) == 1797
    assert data.train.x.dtype == torch.uint8 and data.train.x.shape[1:] == (1, 8, 8)


def test_review_labels_depend_on_negation_not_on_the_words_alone():
    from nnlab.data.builtin import _NEG, _POS

    texts, labels = make_reviews(600, np.random.default_rng(0))
    seen = {}
    for text, label in zip(texts, labels, strict=True):
        words = text.split()
        adjectives = [w for w in words if w in _POS or w in _NEG]
        if len(adjectives) != 1:
            continue
        negated = "not" in words or "never" in words
        assert label == int((adjectives[0] in _POS) != negated), text
        seen.setdefault(adjectives[0], set()).add(label)
    assert any(len(labels) == 2 for labels in seen.values())  # same adjective, both labels


def test_tokeniser_lowercases_and_splits_punctuation_and_html_breaks():
    assert tokenize("Great film!<br /><br />Didn't LOVE it.") == ["great", "film", "!", "didn't", "love", "it", "."]


def test_words_of_any_script_are_one_token_each():
    """Russian, German or Hindi texts were cut letter by letter outside a-z ('Это' three tokens, 'größe' four), so a
    vocabulary of letters and texts cut at --max-len letters; runs saved so ('ascii') still cut the same."""
    assert tokenize("Это тест, очень хороший!") == ["это", "тест", ",", "очень", "хороший", "!"]
    assert tokenize("Größe café naïve cafe\u0301") == ["größe", "café", "naïve", "cafe\u0301"]
    assert tokenize("नमस्ते दुनिया Ελληνικά") == ["नमस्ते", "दुनिया", "ελληνικά"]
    assert tokenize("我喜欢 テスト") == ["我", "喜", "欢", "テ", "ス", "ト"]  # written without spaces: characters
    assert tokenize("rock'n'roll o'100 _x_ 10/10") == [
        "rock'n",
        "'",
        "roll",
        "o",
        "'",
        "100",
        "_",
        "x",
        "_",
        "10",
        "/",
        "10",
    ]
    assert tokenize("Это", "ascii") == ["э", "т", "о"]


def test_vocabulary_keeps_padding_and_unknown_and_lengths():
    vocab = build_vocab([["a", "b", "a"], ["c"]], size=3)
    assert vocab == ["<pad>", "<unk>", "a"]
    ids, lengths = encode([["a", "zzz"], []], vocab, max_len=4)
    assert ids.tolist() == [[2, 1, 0, 0], [1, 0, 0, 0]] and lengths.tolist() == [2, 1]


def test_series_is_split_in_time_order_and_scaled_on_training_part():
    data = load_dataset(make_config("ts-lstm"))
    assert data.display["t"][0] > 0 and np.all(np.diff(data.display["t"]) == 1)
    assert abs(float(data.train.y.mean())) < 0.2  # scaled with the training part's statistics


def test_too_short_a_series_is_refused():
    from nnlab.data.prep import series_dataset

    with pytest.raises(DataError, match="needs at least"):
        series_dataset("tiny", np.arange(50.0)[:, None], ["v"], 0, make_config("ts-lstm"))


def test_a_short_series_is_told_the_largest_window_that_fits():
    """60 daily rows at the default window of 32: 'use a longer series or a smaller window' left the user to guess
    how small; the sentence now gives the largest window that trains, and that window does."""
    from nnlab.data.prep import series_dataset

    values, cfg = np.sin(np.arange(60.0))[:, None], make_config("ts-lstm")
    with pytest.raises(DataError) as refused:
        series_dataset("short.csv", values, ["v"], 0, cfg)
    said = str(refused.value)
    largest = int(re.search(r"--window (\d+)", said).group(1))
    assert said.endswith(f"use a longer series or a window of {largest} steps or fewer (--window {largest}).")
    assert len(series_dataset("short.csv", values, ["v"], 0, cfg.replace(window=largest)).train) > 0
    with pytest.raises(DataError):
        series_dataset("short.csv", values, ["v"], 0, cfg.replace(window=largest + 1))
    with pytest.raises(DataError) as hopeless:  # no window fits: only a longer series helps
        series_dataset("tiny", np.arange(12.0)[:, None], ["v"], 0, cfg)
    assert str(hopeless.value).endswith("use a longer series.")


def test_each_architecture_has_a_builtin_dataset():
    for arch in ("mlp", "cnn", "resnet18", "lstm", "ts-lstm"):
        assert any(DATASETS[d].builtin for d in datasets_for(arch))
