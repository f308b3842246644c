"""Test examples in an offline HTML report: image thumbnails as inline PNGs, review texts, feature rows; and a
run's most confident mistakes per (true, predicted) class pair."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import numpy as np

from nnlab.engine.metrics import cell_examples
from nnlab.store.runfolder import Results

EXAMPLES_CSS = """
.examples{display:flex;flex-wrap:wrap;gap:.6rem;margin:.4rem 0 1rem}
.example{width:112px;margin:0;font-size:.75rem;color:#374151} .example img{width:96px;height:96px;image-rendering:pixelated;
border:1px solid #E5E7EB;display:block} .text-example{max-width:100%;width:100%;font-size:.85rem;
border-left:3px solid #E5E7EB;padding:.2rem .6rem}
"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def png_data_uri(image: np.ndarray) -> str:
    """(H, W, C) uint8 as a data: URI of a PNG, so the report needs no other file."""
    from PIL import Image

    img = image[:, :, 0] if image.shape[2] == 1 else image
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def examples_html(res: Results, idx: Sequence[int], captions: Sequence[str]) -> str:
    """The examples idx of a run's test set, each with its caption; "" when the run kept none to show."""
    ex = res.examples
    if not len(idx):
        return "<p class='muted'>None.</p>"
    if ex.images is not None:
        cells = [
            f"<figure class='example'><img alt='test example {i}' src='{png_data_uri(ex.images[i])}'>"
            f"<figcaption>{_esc(c)}</figcaption></figure>"
            for i, c in zip(idx, captions, strict=True)
        ]
    elif ex.texts is not None:
        cells = [
            f"<div class='example text-example'><b>{_esc(c)}</b><br>{_esc(ex.texts[i])}</div>"
            for i, c in zip(idx, captions, strict=True)
        ]
    elif ex.rows is not None:
        cols = feature_names(res)
        cells = [
            f"<div class='example text-example'><b>{_esc(c)}</b><br>"
            + ", ".join(f"{_esc(n)} {v:.4g}" for n, v in zip(cols, ex.rows[i], strict=False))
            + "</div>"
            for i, c in zip(idx, captions, strict=True)
        ]
    else:
        return ""
    return f"<div class='examples'>{''.join(cells)}</div>"


def feature_names(res: Results) -> list[str]:
    """The names of a table's feature columns (x0, x1, ... where the data had none)."""
    width = res.examples.rows.shape[1] if res.examples.rows is not None else 0
    names = list(getattr(res.info, "column_names", None) or [])
    return names if len(names) == width else [f"x{k}" for k in range(width)]


def mistake_pairs(res: Results, max_pairs: int = 12) -> list[tuple[int, int, int]]:
    """(true, predicted, count) of the class pairs with the most test mistakes, most first."""
    conf = np.asarray(res.report["confusion"])
    pairs = [(t, p, int(conf[t, p])) for t in range(len(conf)) for p in range(len(conf)) if t != p and conf[t, p]]
    return sorted(pairs, key=lambda x: -x[2])[:max_pairs]


def mistakes_html(res: Results, per_pair: int = 4, max_pairs: int = 12) -> str:
    """The run's most confident mistakes for each of its most frequent (true, predicted) class pairs."""
    pr, classes = res.predictions, res.classes
    if res.task != "classification" or pr.probs is None:
        return ""
    parts = []
    for t, p, count in mistake_pairs(res, max_pairs):
        idx = cell_examples(pr.y_true, pr.y_pred, pr.probs, t, p)[:per_pair]
        body = examples_html(res, idx, [f"#{i} · p={pr.probs[i, p]:.0%}" for i in idx])
        if body:
            parts.append(f"<h3>true {_esc(classes[t])}, predicted {_esc(classes[p])} ({count})</h3>{body}")
    if not parts:
        return "<p class='muted'>No test example was misclassified.</p>" if not mistake_pairs(res) else ""
    return "".join(parts)
