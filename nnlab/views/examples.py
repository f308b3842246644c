"""Test examples as HTML, for the Results page and the offline reports: image thumbnails as inline PNG (or JPEG
for large colour images), review texts, feature rows, each under a caption; and a run's most frequent mistakes.

Every caption, text, column name and class label is escaped here: the markup returned is safe to place.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import numpy as np
import pandas as pd

from nnlab.core.facts import TabularFacts
from nnlab.data.categories import rows_as_file
from nnlab.store.runfolder import Results

EXAMPLES_CSS = """
.examples{display:flex;flex-wrap:wrap;gap:.6rem;margin:.4rem 0 1rem}
.example{width:112px;margin:0;font-size:.75rem;color:#374151;overflow-wrap:anywhere} .example img{width:96px;height:96px;
image-rendering:pixelated;border:1px solid #E5E7EB;display:block;object-fit:contain;background:#fff}
.example img.smooth{image-rendering:auto}
.text-example{max-width:100%;width:100%;font-size:.85rem;border-left:3px solid #E5E7EB;padding:.2rem .6rem}
.text-example b{color:#111827}
"""

THUMB_SIDE = 64  # pixels: larger images are scaled down to this before they are embedded
JPEG_FROM = 3000  # bytes: a colour thumbnail whose PNG is larger goes in as a JPEG when that is smaller
ROW_FEATURES = 24  # feature values shown per table row (the rest counted)


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def png_data_uri(image: np.ndarray) -> str:
    """(H, W, C) uint8 as a data: URI of a PNG, so the page needs no other file."""
    from PIL import Image

    img = image[:, :, 0] if image.shape[2] == 1 else image
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img)).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def thumbnail_uri(image: np.ndarray, side: int | None = THUMB_SIDE) -> str:
    """(H, W, C) uint8 as a small data: URI: scaled to fit side x side when larger (None: never); a JPEG where that
    is much smaller than the PNG (photos), a PNG otherwise (digits, drawings: sharp edges)."""
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(image[:, :, 0] if image.shape[2] == 1 else image))
    if side is not None and max(img.size) > side:
        img.thumbnail((side, side), Image.Resampling.LANCZOS)
    png = io.BytesIO()
    img.save(png, format="PNG", optimize=True)
    data, mime = png.getvalue(), "image/png"
    if len(data) > JPEG_FROM and img.mode == "RGB":
        jpeg = io.BytesIO()
        img.save(jpeg, format="JPEG", quality=85)
        if len(jpeg.getvalue()) < len(data) // 2:
            data, mime = jpeg.getvalue(), "image/jpeg"
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def example_items(
    res: Results,
    idx: Sequence[int],
    captions: Sequence[str],
    max_chars: int | None = None,
    attrs: Sequence[str] = (),
    side: int | None = THUMB_SIDE,
) -> list[str]:
    """One element of class `example` per test example idx, its caption first; [] when the run kept none.

    max_chars cuts long reviews and side scales large images down (a report's size); attrs: extra attributes
    (already escaped) per example."""
    ex = res.examples
    extra = list(attrs) or [""] * len(idx)
    if ex.images is not None:
        small = max(ex.images.shape[1:3]) <= 32  # whole pixels, enlarged without blur
        cls = "" if small else " class='smooth'"
        return [
            f"<figure class='example'{a}><img{cls} alt='test example {int(i)}' src='{thumbnail_uri(ex.images[i], side)}'>"
            f"<figcaption>{_esc(c)}</figcaption></figure>"
            for i, c, a in zip(idx, captions, extra, strict=True)
        ]
    if ex.texts is not None:
        return [
            f"<div class='example text-example'{a}><b>{_esc(c)}</b><br>{_esc(_cut(str(ex.texts[i]), max_chars))}</div>"
            for i, c, a in zip(idx, captions, extra, strict=True)
        ]
    if ex.rows is not None:
        rows = example_rows(res, np.asarray(idx, dtype=np.int64))
        return [
            f"<div class='example text-example'{a}><b>{_esc(c)}</b><br>{_row_text(list(rows.columns), row)}</div>"
            for row, c, a in zip(rows.itertuples(index=False), captions, extra, strict=True)
        ]
    return []


def examples_html(res: Results, idx: Sequence[int], captions: Sequence[str], max_chars: int | None = None) -> str:
    """The examples idx of a run's test set in a wrapping grid, each with its caption, images at their own size (the
    dashboard); "" when the run kept none."""
    if not len(idx):
        return "<p class='muted'>None.</p>"
    items = example_items(res, idx, captions, max_chars, side=None)
    return f"<div class='examples'>{''.join(items)}</div>" if items else ""


def _cut(text: str, max_chars: int | None) -> str:
    return text if max_chars is None or len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"


def _row_text(cols: list[str], row: Sequence[object]) -> str:
    """A table row as 'name value, ...': the features as given, a cell left blank in the file as 'blank' (not nan)."""
    values = [_cell(v) for v in row[:ROW_FEATURES]]
    shown = ", ".join(f"{_esc(n)} {v}" for n, v in zip(cols[:ROW_FEATURES], values, strict=False))
    more = len(row) - ROW_FEATURES
    return shown + (f" … and {more} more" if more > 0 else "")


def _cell(value: object) -> str:
    """A table's cell as a reader sees it: a number to 4 figures, a category's value, 'blank'."""
    if value is None or value != value:
        return "blank"
    return f"{value:.4g}" if isinstance(value, (int, float, np.number)) else str(value)


def example_rows(res: Results, idx: np.ndarray) -> pd.DataFrame:
    """Test rows idx of a table run as its file's columns: a category's value, not its one-hot inputs."""
    rows, facts = res.examples.rows[idx], res.facts
    if isinstance(facts, TabularFacts) and facts.columns and len(facts.column_names) == rows.shape[1]:
        return rows_as_file(rows, facts)
    return pd.DataFrame(rows, columns=feature_names(res))


def example_number(res: Results, i: int) -> str:
    """How test example i is named to a reader: its file in a folder of images ('cat/img_017.jpg'), else 'row 270',
    its row in the data as label-issues and --exclude-rows number it (a CSV's row from 0 after the header), or '#i',
    its place in the test split, for runs saved without."""
    files, index = res.examples.files, res.predictions.index
    if files is not None and i < len(files):
        return str(files[i])
    return f"row {int(index[i])}" if index is not None and i < len(index) else f"#{i}"


def feature_names(res: Results) -> list[str]:
    """The names of a table's feature columns (x0, x1, ... where the data had none)."""
    width = res.examples.rows.shape[1] if res.examples.rows is not None else 0
    names = list(getattr(res.facts, "column_names", None) or [])
    return names if len(names) == width else [f"x{k}" for k in range(width)]


def mistake_pairs(res: Results, max_pairs: int = 12) -> list[tuple[int, int, int]]:
    """(true, predicted, count) of the class pairs with the most test mistakes, most first."""
    conf = np.asarray(res.report["confusion"])
    pairs = [(t, p, int(conf[t, p])) for t in range(len(conf)) for p in range(len(conf)) if t != p and conf[t, p]]
    return sorted(pairs, key=lambda x: -x[2])[:max_pairs]
