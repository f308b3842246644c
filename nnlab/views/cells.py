"""What a report shows for a clicked cell: a run's confusion-matrix cell (its test examples, most confident
first) or a comparison's difference-matrix cell (the examples that moved into and out of it), as markup for a
<template>. Each example is an element of class `example` whose caption names its true and predicted classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from nnlab.analysis.comparison import Member, cell_moves
from nnlab.core.text import plural
from nnlab.engine.metrics import cell_examples, normalize_confusion
from nnlab.store.runfolder import Results
from nnlab.views.examples import example_items, example_number
from nnlab.views.htmldoc import esc

CELL_SHOWN = 20  # examples kept in the file per confusion-matrix cell (a comparison: half into, half out of it)
TEXT_CHARS = 600  # characters of a review kept per example


def run_cell_key(t: int, p: int) -> str:
    return f"cm-{t}-{p}"


def flip_cell_key(t: int, p: int) -> str:
    return f"flip-{t}-{p}"


def worst_cell(confusion: Sequence[Sequence[int]]) -> tuple[int, int]:
    """The off-diagonal cell with the most examples ((0, 0) when there is no mistake)."""
    off = np.asarray(confusion, dtype=np.int64).copy()
    np.fill_diagonal(off, -1)
    if off.size <= 1 or off.max() <= 0:
        return 0, 0
    t, p = np.unravel_index(int(off.argmax()), off.shape)
    return int(t), int(p)


def _grid(items: list[str]) -> str:
    return f"<div class='examples'>{''.join(items)}</div>" if items else ""


def _kept(n: int, shown: int) -> str:
    return f"; the first {shown} are kept in this file" if n > shown else ""


def _sure(probs: np.ndarray | None, i: int, c: int) -> str:
    return f" ({probs[i, c]:.0%} sure)" if probs is not None else ""


def run_cell(res: Results, t: int, p: int, shown: int = CELL_SHOWN) -> str:
    """The test examples of cell (t, p), most confident first: a heading, a count and the examples."""
    pr, classes = res.predictions, res.classes
    probs = pr.probs if pr.probs is not None else None
    if probs is not None:
        idx = cell_examples(pr.y_true, pr.y_pred, probs, t, p)
    else:
        idx = np.flatnonzero((pr.y_true == t) & (pr.y_pred == p))
    share = normalize_confusion(res.report["confusion"])[t, p]
    what = "right" if t == p else "mistakes"
    head = f"<h3>True {esc(classes[t])}, predicted {esc(classes[p])}</h3>"
    if not len(idx):
        return head + f"<p class='muted'>No test example of {esc(classes[t])} was predicted as {esc(classes[p])}.</p>"
    count = f"{plural(len(idx), 'test example')}, {share:.1%} of true {classes[t]} ({what}); most confident first"
    keep = idx[:shown]
    captions = [
        f"true {classes[t]} · predicted {classes[p]}{_sure(probs, i, p)} · {example_number(res, i)}" for i in keep
    ]
    attrs = [f" data-true='{t}' data-pred='{p}'"] * len(keep)
    items = example_items(res, keep, captions, TEXT_CHARS, attrs)
    kept = _kept(len(idx), shown) if items else "; this run kept no viewable examples"
    return head + f"<p class='muted'>{esc(count + kept)}.</p>" + _grid(items)


def run_cells(res: Results, shown: int = CELL_SHOWN) -> dict[str, str]:
    """Every confusion-matrix cell's markup by its key."""
    n = len(res.classes)
    return {run_cell_key(t, p): run_cell(res, t, p, shown) for t in range(n) for p in range(n)}


def _said(m: Member, i: int) -> str:
    p = m.results.predictions
    c = int(p.y_pred[i])
    return f"{m.results.classes[c]}{_sure(p.probs, i, c).replace(' sure', '')}"


def flipped_items(
    ma: Member, mb: Member, idx: Sequence[int], tags: Mapping[int, str] | None = None, shown: int = CELL_SHOWN
) -> list[str]:
    """Examples idx (the first `shown`) each captioned with its true class and what A and B predicted."""
    keep = list(idx[:shown])
    classes, y = ma.results.classes, ma.results.predictions.y_true
    pa, pb = ma.results.predictions.y_pred, mb.results.predictions.y_pred
    captions = [
        f"true {classes[int(y[i])]} · A predicted {_said(ma, i)} · B predicted {_said(mb, i)} · "
        f"{example_number(ma.results, i)}" + (f" · {tags[int(i)]}" if tags and int(i) in tags else "")
        for i in keep
    ]
    attrs = [f" data-true='{int(y[i])}' data-pred-a='{int(pa[i])}' data-pred-b='{int(pb[i])}'" for i in keep]
    return example_items(ma.results, keep, captions, TEXT_CHARS, attrs)


def flip_cell(ma: Member, mb: Member, t: int, p: int, tags: Mapping[int, str] | None = None) -> str:
    """The examples of true class t that moved into cell (t, p) from A to B, and those that moved out of it."""
    classes = ma.results.classes
    a = int(np.asarray(ma.results.report["confusion"])[t, p])
    b = int(np.asarray(mb.results.report["confusion"])[t, p])
    head = f"<h3>True {esc(classes[t])}, predicted {esc(classes[p])}: A {a} → B {b}</h3>"
    into, out = cell_moves(ma, mb, t, p)
    if not len(into) and not len(out):
        return head + "<p class='muted'>No test example moved into or out of this cell.</p>"
    parts = [head]
    half = CELL_SHOWN // 2
    for idx, what in (
        (into, f"Into the cell ({len(into)}): B predicts {classes[p]}, A did not"),
        (out, f"Out of the cell ({len(out)}): A predicted {classes[p]}, B does not"),
    ):
        if len(idx):
            items = flipped_items(ma, mb, idx, tags, half)
            parts.append(f"<p><b>{esc(what)}</b>{esc(_kept(len(idx), half))}.</p>" + _grid(items))
    return "".join(parts)


def flip_cells(ma: Member, mb: Member, tags: Mapping[int, str] | None = None) -> dict[str, str]:
    """Every difference-matrix cell's markup by its key."""
    n = len(ma.results.classes)
    return {flip_cell_key(t, p): flip_cell(ma, mb, t, p, tags) for t in range(n) for p in range(n)}


def busiest_flip_cell(ma: Member, mb: Member) -> tuple[int, int]:
    """The off-diagonal cell whose count changed most between A and B (else the worst cell of B)."""
    diff = np.abs(np.asarray(mb.results.report["confusion"]) - np.asarray(ma.results.report["confusion"]))
    np.fill_diagonal(diff, -1)
    if diff.size > 1 and diff.max() > 0:
        t, p = np.unravel_index(int(diff.argmax()), diff.shape)
        return int(t), int(p)
    return worst_cell(mb.results.report["confusion"])
