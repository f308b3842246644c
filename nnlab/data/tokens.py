"""Texts cut into tokens and numbered: the rule a run cut its texts by (TextFacts.tokens), the vocabulary built on
the training split, and the padded token ids a text model reads."""

from __future__ import annotations

import re
from collections import Counter

import torch

PAD, UNK = "<pad>", "<unk>"
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f"  # kana, Han, Thai: no spaces between words
_MARKS = r"\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u0900-\u0dff"  # accents, Indic signs
_LETTER, _ALPHA = rf"(?:[^\W_{_CJK}]|[{_MARKS}])", rf"(?:[^\W\d_{_CJK}]|[{_MARKS}])"
TOKENS = {  # how a run cut its texts (TextFacts.tokens); "ascii" cut every letter outside a-z off as a token alone
    "words": re.compile(rf"[{_CJK}]|{_LETTER}+(?:'{_ALPHA}+)?|[^\w\s]|_"),  # words of any script; CJK, Thai: characters
    "ascii": re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]"),  # runs before 'words': English text cuts the same
}
HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def tokenize(text: str, tokens: str = "words") -> list[str]:
    """Lowercase words (of any script; CJK and Thai characters one by one) and punctuation marks; HTML line breaks
    become spaces. tokens: the run's TOKENS rule."""
    return TOKENS[tokens].findall(HTML_BREAK.sub(" ", text).lower())


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
