"""Streamlit pieces of the Playground: one input widget per data kind, and the prediction display."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from nnlab.core.errors import NNLabError
from nnlab.core.facts import SeriesFacts
from nnlab.core.limits import upload_mb
from nnlab.core.text import plural
from nnlab.data.categories import rows_as_file
from nnlab.data.files import series_upload
from nnlab.data.images import IMAGE_TYPES
from nnlab.engine.predict import Predictor, fit_to_ink, model_view, open_image
from nnlab.store.runfolder import Results
from nnlab.ui import md, show_error
from nnlab.ui.keys import KEY_CANVAS, KEY_ROWS, KEY_ROWS_PICK, KEY_SERIES, KEY_STEPS, KEY_TEST_INDEX, KEY_TEXT
from nnlab.ui.keys import KEY_PG_UPLOAD as KEY_UPLOAD
from nnlab.ui.results import draw_digit, upscale
from nnlab.views.plots import probability_figure
from nnlab.views.series_plots import forecast_figure


def show_probabilities(predictor: Predictor, probs: np.ndarray, key: str, label: str = "Prediction") -> None:
    """The top class as a headline and every class's probability as bars."""
    best = int(np.argmax(probs))
    st.metric(
        label, md(predictor.classes[best]), f"{probs[best]:.1%} probability", delta_color="off", delta_arrow="off"
    )
    st.plotly_chart(probability_figure(probs, predictor.classes), key=key)


def _predict_image(predictor: Predictor, image: np.ndarray | object, key: str, caption: str) -> None:
    try:
        probs = predictor.predict_image(image)
        seen = model_view(predictor, image)
    except NNLabError as exc:
        show_error(exc)
        return
    left, right = st.columns([1, 2])
    left.image(upscale(seen, 160), caption=caption, width=160)
    with right:
        show_probabilities(predictor, probs, key)


def image_input(predictor: Predictor, res: Results | None) -> None:
    """Draw, upload, or take a test image; then the class probabilities."""
    draw, upload, test = st.tabs(["Draw", "Upload an image", "A test image"])
    with draw:
        drawing = draw_digit(KEY_CANVAS)
        st.caption("Draw one large digit or shape in the middle; the bin icon clears the canvas.")
        if drawing is not None:
            _predict_image(predictor, fit_to_ink(_rgb(drawing)), "playground_probs_draw", "what the model sees")
    with upload:
        file = st.file_uploader("Image file", type=list(IMAGE_TYPES), key=KEY_UPLOAD)
        if file is not None:
            try:
                image = open_image(file.getvalue(), file.name)
            except NNLabError as exc:
                show_error(exc)
            else:
                _predict_image(predictor, image, "playground_probs_upload", "what the model sees")
    with test:
        images = res.examples.images if res is not None else None
        if images is None or not len(images):
            st.caption("This run kept no test images.")
            return
        i = st.number_input("Test image number", 0, len(images) - 1, 0, key=KEY_TEST_INDEX)
        truth = res.classes[int(res.predictions.y_true[i])]
        _predict_image(predictor, images[i], "playground_probs_test", f"test image #{i}, true class {md(truth)}")


def _rgb(rgba: np.ndarray) -> np.ndarray:
    """The canvas's RGBA drawing laid over black, as RGB uint8."""
    from nnlab.engine.predict import to_uint8_image

    return to_uint8_image(rgba, 3)


def text_input(predictor: Predictor, res: Results | None) -> None:
    """A review box; the class probabilities of what is typed."""
    example = str(res.examples.texts[0]) if res is not None and res.examples.texts is not None else ""
    text = st.text_area(
        "Review",
        example,
        height=120,
        key=KEY_TEXT,
        max_chars=5000,
        placeholder="Type a review, e.g. the plot was not bad but the acting was dull.",
    )
    if not text.strip():
        st.caption("Type a review to see what the model thinks of it.")
        return
    known, total = predictor.known_words(text)
    if total and known < total:
        st.caption(f"{total - known} of {total} words are not in the model's vocabulary and count as unknown.")
    show_probabilities(predictor, predictor.predict_text(text), "playground_probs_text")


def rows_input(predictor: Predictor, res: Results | None) -> None:
    """An editable table of feature rows; the predicted class and probabilities of each row."""
    facts = predictor.facts
    start = res.examples.rows[:3] if res is not None and res.examples.rows is not None else None
    st.caption(
        "This table is yours to edit: double-click a cell and type a value, add a row at its foot (+), or paste rows "
        "copied from a spreadsheet. It starts with the first test rows."
    )
    picks = {c: st.column_config.SelectboxColumn(c, options=list(v)) for c, v in facts.categories}
    edited = st.data_editor(
        rows_as_file(np.zeros((1, facts.features)) if start is None else start, facts),
        num_rows="dynamic",
        key=KEY_ROWS,
        width="stretch",
        column_config=picks,
    )
    if edited.empty:
        st.caption("Add a row of feature values.")
        return
    try:
        probs = predictor.predict_table(edited)
    except NNLabError as exc:
        show_error(exc)
        return
    table = pd.DataFrame(probs, columns=predictor.classes)
    table.insert(0, "prediction", [predictor.classes[i] for i in probs.argmax(1)])
    table.insert(0, "row", np.arange(1, len(table) + 1))  # counted from the top of the table above
    st.caption("The model's answer for every row above, counted from the top; select a row to draw its probabilities.")
    event = st.dataframe(
        table,
        width="stretch",
        hide_index=True,
        key=KEY_ROWS_PICK,
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            c: st.column_config.ProgressColumn(c, min_value=0.0, max_value=1.0, format="percent")
            for c in predictor.classes
        },
    )
    picked = [i for i in (event.selection.rows if event is not None else []) if i < len(table)]
    row = picked[0] if picked else 0
    show_probabilities(predictor, probs[row], "playground_probs_rows", f"Prediction for row {row + 1}")


def series_input(predictor: Predictor, res: Results | None) -> None:
    """Recent values (edited or from a CSV) and the model's forecast after them."""
    window, columns = predictor.window, list(predictor.facts.columns)
    file = st.file_uploader(
        "Series CSV (the training columns; with a time column or in time order)",
        type=["csv"],
        key=KEY_UPLOAD,
        max_upload_size=upload_mb(),
    )
    values = _series_from_csv(file, predictor) if file is not None else None
    if values is None:
        st.caption(f"The last {window} values the model sees; edit any of them.")
        edited = st.data_editor(
            _start_series(res, window, columns, predictor.facts),
            key=KEY_SERIES,
            width="stretch",
            num_rows="dynamic",
            height=min(36 * (window + 1) + 3, 320),
        )
        values = edited.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        values = _after_history(predictor, res, values)
        others = [c for i, c in enumerate(columns) if i != predictor.facts.target_index]
        if others and np.isnan(values[:, [columns.index(c) for c in others]]).all():  # only the target is known
            st.info(
                f"This model also reads {', '.join(others)}: fill {'it' if len(others) == 1 else 'them'} in for the "
                f"last {window} rows above, or upload the series as a CSV with its columns.",
                icon=":material/edit_note:",
            )
            return
    single, horizon = len(columns) == 1, predictor.facts.horizon
    if single:  # its forecasts feed back in as inputs, as far ahead as asked
        steps = st.slider("Steps to forecast", 1, 3 * window, min(window, 12), key=KEY_STEPS)
    else:  # the other columns' future is unknown: the model's own horizon, not a slider it cannot follow
        steps = horizon
        st.caption(f"A model that reads several columns forecasts its horizon: the next {plural(horizon, 'step')}.")
    try:
        forecast = predictor.forecast(values, steps)
    except NNLabError as exc:
        show_error(exc)
        return
    target = predictor.facts.target_index
    st.plotly_chart(forecast_figure(values[-window:, target], forecast), key="playground_forecast")
    st.dataframe(pd.DataFrame({"step": np.arange(1, len(forecast) + 1), "forecast": forecast}), hide_index=True)


def _after_history(predictor: Predictor, res: Results | None, window_values: np.ndarray) -> np.ndarray:
    """The edited window after the run's own series before it, for a run that blends with a classical forecaster:
    that forecaster is fit on the values given, and 32 of them are too few to find a season in."""
    series = res.examples.series if res is not None else None
    if not predictor.classical or series is None or window_values.shape[1] != 1 or len(series) <= len(window_values):
        return window_values
    st.caption(
        f"The classical forecaster in this run's forecasts is fit on the run's {len(series) - len(window_values):,} "
        "values before these and on these, as it would be on an uploaded CSV's whole series."
    )
    return np.concatenate([series[: -len(window_values), None], window_values])


def _start_series(res: Results | None, window: int, columns: list[str], facts: SeriesFacts) -> pd.DataFrame:
    series = res.examples.series if res is not None and res.examples.series is not None else None
    df = pd.DataFrame(np.full((window, len(columns)), np.nan), columns=columns)
    target = facts.target_index
    if series is not None and len(series) >= window:
        df.iloc[:, target] = series[-window:]
    else:
        df.iloc[:, target] = facts.scaler.unscale(0.0, target)  # the training mean
    return df


def _series_from_csv(file: object, predictor: Predictor) -> np.ndarray | None:
    """The uploaded CSV's training columns, read as the run read its data (separator, decimal commas, time order,
    missing steps and blanks interpolated)."""
    facts = predictor.facts
    try:
        return series_upload(file.getvalue(), file.name, list(facts.columns), facts.target, predictor.cfg.missing)
    except NNLabError as exc:
        show_error(exc)
        return None
