"""Streamlit pieces of the Results page, also used by Compare and the Playground: a run's cached results and
predictor, its metrics and classification report, the downloads, the clickable confusion matrix with the
examples behind a cell, and the digit canvas (the Playground's other inputs are in nnlab.ui.playground)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from nnlab.analysis.baselines import (
    BaselineTest,
    baseline_rows,
    baseline_test,
    baseline_verdict,
    blend_sentence,
    classical_wins,
    has_baselines,
    model_rmse,
)
from nnlab.core.arithmetic import changes, recorded
from nnlab.core.config import RunConfig
from nnlab.core.records import RunRecord
from nnlab.core.text import plural
from nnlab.engine.metrics import cell_examples, normalize_confusion
from nnlab.engine.predict import Predictor
from nnlab.store.runfolder import Results, RunFolder
from nnlab.ui import TRAIN_PAGE, md, store
from nnlab.ui.downloads import export_downloads
from nnlab.ui.keys import (
    KEY_CM_CHART,
    KEY_CM_LAST_CLICK,
    KEY_CM_LIMIT,
    KEY_CM_MODE,
    KEY_CM_PRED,
    KEY_CM_TRUE,
    QUERY_RUN,
)
from nnlab.views.examples import EXAMPLES_CSS, example_number, example_rows, examples_html
from nnlab.views.plots import confusion_figure, confusion_frame, confusion_side
from nnlab.views.report import build_report, headline, report_filename, report_table
from nnlab.views.report_words import form_words

LABEL_BADGE = "⚠ label?"  # an example whose given label looks wrong (confident learning)
MODES = ("counts", "share of true class")
THUMB_SIDE = 96
TEXTS_UNBOXED, TEXT_BOX = 6, 640  # more reviews than this scroll inside a box this many pixels high


# -- cached loading ---------------------------------------------------------------------------------
def _stamp(rec: RunRecord) -> float:
    return rec.updated  # changes whenever the run's record does, so a resumed run is read again


@st.cache_data(show_spinner=False, max_entries=16)
def _results(run_dir: str, stamp: float) -> Results:
    return RunFolder(Path(run_dir)).read_results()


def results_of(rec: RunRecord) -> Results | None:
    """The run's test results, or None when it wrote none (failed, diverged, still running)."""
    folder = store().folder(rec.run_id)
    return _results(str(folder.path), _stamp(rec)) if folder.has_results() else None


@st.cache_resource(show_spinner=False, max_entries=4)
def _predictor(run_dir: str, stamp: float, config_json: str) -> Predictor:
    return Predictor.from_run(RunFolder(Path(run_dir)), RunConfig.from_json(config_json))


def predictor_of(rec: RunRecord) -> Predictor:
    """The run's rebuilt model (cached per run; a process holds at most a few)."""
    return _predictor(str(store().run_dir(rec.run_id)), _stamp(rec), rec.config.to_json())


# -- headline and report ------------------------------------------------------------------------------
def arithmetic_note(rec: RunRecord) -> None:
    """What the run trained with (threads, device, precision), and a warning for a resume that had to differ."""
    start = recorded(rec.summary)
    if start is not None and start.device:
        st.caption(f"Trained with {md(start.text)}; a resume uses the same, whatever the load.")
    for change in changes(rec.summary):
        st.warning(md(change.sentence), icon=":material/warning:")


def metric_row(res: Results) -> None:
    """The test metrics as metric cards; a regressor's are compared with the naive forecast."""
    r = res.report
    with st.container(horizontal=True, gap="medium"):  # each card as wide as its value; wraps on narrow windows
        for label, value in headline(res):
            delta = None
            if label == "test RMSE":
                delta = f"{r['rmse'] - r['naive_rmse']:+.4g} vs naive"
            elif label == "test MAE" and "naive_mae" in r:
                delta = f"{r['mae'] - r['naive_mae']:+.4g} vs naive"
            st.metric(label, value, delta=delta, delta_color="inverse", width="content")


def classification_report_table(res: Results) -> None:
    """Precision, recall, F1 and support per class, then accuracy and the macro and weighted averages."""
    df = report_table(res.report["report"], res.report["accuracy"])
    shown = df.copy()  # as text, so accuracy's precision and recall stay blank as in scikit-learn's report
    for col in ("precision", "recall", "F1"):
        shown[col] = [f"{v:.3f}" if v == v else "" for v in df[col]]
    shown.insert(0, "class", shown.index)
    config = {c: st.column_config.TextColumn(c, alignment="right", width=62) for c in ("precision", "recall", "F1")}
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        height=min(35 * (len(df) + 1) + 3, 520),
        column_config={
            **config,
            "support": st.column_config.NumberColumn(width=62),
            "class": st.column_config.TextColumn(width=100),
        },
    )


def downloads(rec: RunRecord, res: Results) -> None:
    """Download buttons for the weights (state dict) and the self-contained HTML report."""
    folder = store().folder(rec.run_id)
    c1, c2 = st.columns(2)
    c1.download_button(
        "⬇️ Weights (model.pt state dict)",
        folder.weights_bytes,
        file_name=f"{rec.run_id}-model.pt",
        mime="application/octet-stream",
        key="dl_weights",
        on_click="ignore",
    )
    c2.download_button(
        "⬇️ HTML report",
        lambda: build_report(rec, res, store().metrics(rec.run_id)),
        file_name=report_filename(rec),
        mime="text/html",
        key="dl_report",
        on_click="ignore",
    )
    export_downloads(rec)


@st.cache_data(show_spinner="Testing the gap to the classical forecasters…", max_entries=16)
def _baseline_test(run_dir: str, stamp: float) -> BaselineTest | None:
    """The run's test against the best classical forecaster, once per run: a permutation test over its test steps
    takes a second at 3,000 steps, and the page reruns on every click."""
    return baseline_test(_results(run_dir, stamp))


def baselines_section(rec: RunRecord, res: Results) -> None:
    """The classical forecasters fit on the run's training part, scored on the same test steps, beside this run, and
    the verdict in a sentence."""
    report = res.report
    if not has_baselines(report):
        return
    st.subheader("Against classical forecasters", anchor=False)
    test = _baseline_test(str(store().folder(rec.run_id).path), _stamp(rec))
    (st.warning if classical_wins(report) else st.success)(
        md(form_words(baseline_verdict(report, test))), icon=":material/balance:"
    )
    if said := blend_sentence(report):
        st.caption(md(said))
    rows = [("this run (nnlab)", model_rmse(report), 1.0)] + [(r.label, r.rmse, r.ratio) for r in baseline_rows(report)]
    df = pd.DataFrame(rows, columns=["forecaster", "test RMSE", "this run ÷ it"])
    st.dataframe(df, hide_index=True, width="content", key="results_baselines")
    season = f" (season {report['season']} steps)" if report.get("season") else " (no season found)"
    st.caption(
        f"Each is fit on the run's training part{season} and forecasts every test step from the steps before (one "
        "step ahead); below 1, this run's RMSE is the lower."
    )


def live_view_link(run_id: str) -> None:
    """A link to the Train page's live view of a run."""
    st.page_link(TRAIN_PAGE, label="Open the live view on the Train page", icon="📈", query_params={QUERY_RUN: run_id})


# -- the confusion matrix -----------------------------------------------------------------------------
def clicked_cell(event: object) -> tuple[int, int] | None:
    """The (true, predicted) cell a click on a confusion-matrix chart selected, or None."""
    selection = event.get("selection") if isinstance(event, dict) else getattr(event, "selection", None)
    points = (selection or {}).get("points") or []
    data = points[0].get("customdata") if points else None
    return (int(data[0]), int(data[1])) if data is not None and len(data) >= 2 else None


def _biggest_mistake(confusion: np.ndarray) -> tuple[int, int]:
    off = np.asarray(confusion).copy()
    np.fill_diagonal(off, -1)
    t, p = np.unravel_index(int(off.argmax()), off.shape)
    return int(t), int(p)


def _set_cell(run: str, cell: tuple[int, int]) -> None:
    st.session_state[KEY_CM_TRUE.format(run=run)], st.session_state[KEY_CM_PRED.format(run=run)] = cell


def confusion_width(res: Results) -> int:
    """The pixels the confusion matrix's figure takes (its column is exactly as wide)."""
    return max(confusion_side(len(res.classes)) * len(res.classes) + confusion_frame(res.classes), 360)


def confusion_section(res: Results) -> tuple[int, int] | None:
    """The clickable confusion matrix and a keyboard-friendly cell picker; returns the chosen cell."""
    run, classes = res.run_id, res.classes
    mode = st.radio("Confusion matrix shows", MODES, horizontal=True, key=KEY_CM_MODE)
    fig = confusion_figure(res.report["confusion"], classes, normalized=mode != MODES[0])
    event = st.plotly_chart(
        fig,
        on_select="rerun",
        selection_mode="points",
        width="content",
        key=KEY_CM_CHART.format(run=run, mode=MODES.index(mode)),
        config={"displayModeBar": False},
    )
    clicked, last_key = clicked_cell(event), KEY_CM_LAST_CLICK.format(run=run)
    if clicked is not None and clicked != st.session_state.get(last_key):
        _set_cell(run, clicked)  # a new click moves the picker; a kept selection does not undo a picker change
    st.session_state[last_key] = clicked
    st.caption("Click a cell to see its test examples, or pick a cell here:")
    row = st.container(horizontal=True, vertical_alignment="bottom")  # wraps on narrow windows
    fmt = classes.__getitem__
    t = row.selectbox(
        "True class",
        range(len(classes)),
        format_func=fmt,
        index=None,
        key=KEY_CM_TRUE.format(run=run),
        placeholder="choose a class",
        width=180,
    )
    p = row.selectbox(
        "Predicted class",
        range(len(classes)),
        format_func=fmt,
        index=None,
        key=KEY_CM_PRED.format(run=run),
        placeholder="choose a class",
        width=180,
    )
    row.button(
        "Biggest mistake",
        on_click=_set_cell,
        args=(run, _biggest_mistake(np.asarray(res.report["confusion"]))),
        help="The off-diagonal cell with the most test examples",
    )
    return (t, p) if t is not None and p is not None else None


def badge(flagged: bool) -> str:
    """The caption suffix of an example whose given label looks wrong (nnlab.ui.labels); "" otherwise."""
    return f" · {LABEL_BADGE}" if flagged else ""


def cell_examples_section(res: Results, cell: tuple[int, int], flags: np.ndarray | None = None) -> None:
    """The test examples of one confusion-matrix cell, most confident prediction first; flags (N,): the test
    examples whose given label looks wrong, badged."""
    t, p = cell
    pr = res.predictions
    flags = np.zeros(len(pr.y_true), dtype=bool) if flags is None else flags
    classes, names = res.classes, [md(c) for c in res.classes]  # names: inside markdown; classes: in tables
    st.subheader(f"Test examples: true {names[t]}, predicted {names[p]}")
    idx = cell_examples(pr.y_true, pr.y_pred, pr.probs, t, p)
    share = normalize_confusion(res.report["confusion"])[t, p]
    verdict = "correct" if t == p else "mistakes"
    st.caption(f"{plural(len(idx), 'test example')}, {share:.1%} of true {names[t]} ({verdict}), most confident first.")
    if not len(idx):
        st.info(f"No test example of class {names[t]} was predicted as {names[p]}.")
        return
    limit = st.select_slider("Show at most", [12, 24, 48, 96], value=24, key=KEY_CM_LIMIT) if len(idx) > 12 else 12
    shown = idx[:limit]
    if flags[shown].any():
        st.caption(f"{LABEL_BADGE}: the given label looks wrong (Possible label errors, below).")
    ex = res.examples
    if ex.images is not None:  # cards that wrap: a grid of 8 columns overlapped its thumbnails at 820 px
        example_cards(
            res, shown, [f"{example_number(res, i)} · p={pr.probs[i, p]:.0%}{badge(flags[i])}" for i in shown]
        )
    elif ex.texts is not None:
        text_examples(res, shown, t, p, flags)
    elif ex.rows is not None:
        rows = [example_number(res, i) for i in shown]  # which row of their file each is, as label-issues says
        _row_table(example_rows(res, shown), pr.probs[shown], t, p, classes, flags[shown], rows)
    else:
        st.info("This run kept no viewable examples.")


def upscale(image: np.ndarray, side: int = THUMB_SIDE) -> np.ndarray:
    """(H, W, C) uint8 enlarged by whole pixels (no blur) to about `side` pixels; grey as (H, W)."""
    k = max(1, side // max(image.shape[:2]))
    big = image.repeat(k, axis=0).repeat(k, axis=1)
    return big[:, :, 0] if big.shape[2] == 1 else big


def text_examples(res: Results, idx: np.ndarray, t: int, p: int, flags: np.ndarray) -> None:
    """Each review in full, wrapped to the page's width, under its number and the probabilities of both classes;
    a long list scrolls in its own box."""
    probs, names = res.predictions.probs, res.classes
    pair = (p,) if t == p else (p, t)
    said = [
        f"{example_number(res, i)} · " + " · ".join(f"P({names[c]}) {probs[i, c]:.0%}" for c in pair) + badge(flags[i])
        for i in idx
    ]
    example_cards(res, idx, said)


def example_cards(res: Results, idx: np.ndarray, captions: list[str]) -> None:
    """Test examples as the exported report shows them (thumbnails that wrap, whole reviews), each under its
    caption; more than a few reviews scroll inside a box of their own."""
    boxed = res.examples.texts is not None and len(idx) > TEXTS_UNBOXED
    with st.container(height=TEXT_BOX if boxed else "content", border=False):
        st.html(f"<style>{EXAMPLES_CSS}</style>{examples_html(res, idx, captions)}")


def _row_table(
    rows: pd.DataFrame, probs: np.ndarray, t: int, p: int, classes: list[str], flags: np.ndarray, numbers: list[str]
) -> None:
    df, sure = rows.copy(), f"P({classes[p]})"
    df.insert(0, sure, probs[:, p])
    if flags.any():
        df.insert(0, "label", [LABEL_BADGE if f else "" for f in flags])
    df.insert(0, "example", numbers)
    st.dataframe(
        df,
        hide_index=True,
        width="stretch",
        column_config={sure: st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent")},
    )


# -- Playground inputs ------------------------------------------------------------------------------------
def draw_digit(key: str) -> np.ndarray | None:
    """A canvas to draw on (white on black, like the digits); the drawing as RGBA, or None if unavailable."""
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception:  # the component registers only inside a running server
        st.info("The drawing canvas is not available here; upload an image instead.")
        return None
    result = st_canvas(
        stroke_width=22,
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=280,
        width=280,
        drawing_mode="freedraw",
        return_image_data=True,
        key=key,
    )
    data = result.image_data
    if data is None or np.asarray(data)[..., :3].max(initial=0) == 0:
        return None
    return np.asarray(data)
