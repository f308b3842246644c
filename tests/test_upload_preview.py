"""The Train form shows what it read from an upload: a CSV's first rows and class counts with the label column
picked from the file's own columns, a few images of each class, texts with their labels, the series plotted.
Class and column names are the user's: shown as typed, never as markdown."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.test_data_files import image_entries

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "1_Train.py")
pytestmark = pytest.mark.usefixtures("fresh_caches")


def _upload(dataset: str, name: str, data: bytes, arch: str | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox("tr_dataset").set_value(dataset).run()
    if arch:
        at.radio("tr_arch").set_value(arch).run()
    at.file_uploader[0].upload(name, data, "application/octet-stream").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _frames(at: AppTest) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe]


def _captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_a_csv_shows_its_first_rows_and_class_counts_with_the_label_picked_from_its_columns():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(90, 2)).round(3), columns=["sepal", "petal"])
    df["species"] = [0, 1, 2] * 30  # no column called "label"
    df["site"] = rng.integers(0, 2, 90)  # another column that could hold classes
    at = _upload("csv", "iris.csv", df.to_csv(index=False).encode())
    picker = at.selectbox("tr_csv_label_column")
    assert picker.options == ["sepal", "petal", "species", "site"]  # the file's own columns, not a typed name
    assert picker.value == "species"  # the usual name of a label column, found among them
    assert not at.error and not at.button("tr_start").disabled
    assert "What was read from iris.csv" in "\n".join(m.value for m in at.markdown)
    head, counts = _frames(at)[:2]
    assert list(head.columns) == ["sepal", "petal", "species", "site"] and len(head) == 5
    assert head["sepal"].tolist() == df["sepal"].head(5).tolist()
    assert dict(zip(counts["class"], counts["examples"], strict=True)) == {"0": 30, "1": 30, "2": 30}
    assert "The first 5 of 90 rows" in _captions(at)

    picker.set_value("site").run()  # another column of the file: the counts follow
    assert not at.error
    counts = _frames(at)[1]
    assert counts["examples"].tolist() == np.bincount(df["site"]).tolist()


def test_an_image_zip_shows_a_few_images_of_each_class():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in image_entries(20, names=("red", "**green**", "blue")).items():
            zf.writestr(name, data)
    at = _upload("image-folder", "photos.zip", buf.getvalue(), arch="cnn")
    assert not at.error
    counts = _frames(at)[0]
    assert dict(zip(counts["class"], counts["examples"], strict=True)) == {"**green**": 20, "blue": 20, "red": 20}
    images = at.get("image")
    assert len(images) == 3  # one row of thumbnails per class
    assert all(len(row.value) == 4 for row in images)  # four examples each
    shown = _captions(at)
    assert "\\*\\*green\\*\\*" in shown  # escaped: the folder's name as typed, not bold


def test_a_text_csv_shows_texts_with_their_labels_and_picks_both_columns():
    reviews = [f"review number {i} was {'great fun' if i % 2 else 'not good at all'}" for i in range(80)]
    df = pd.DataFrame(
        {"id": range(80), "body": reviews, "verdict": ["liked" if i % 2 else "<b>no</b>" for i in range(80)]}
    )
    at = _upload("text-csv", "reviews.csv", df.to_csv(index=False).encode())
    assert at.selectbox("tr_text-csv_text_column").options == ["id", "body", "verdict"]
    assert at.selectbox("tr_text-csv_text_column").value == "body"  # the column of the longest texts
    assert at.selectbox("tr_text-csv_label_column").value == "verdict"  # the last other column
    assert not at.error
    counts = _frames(at)[0]
    assert dict(zip(counts["class"], counts["examples"], strict=True)) == {"<b>no</b>": 40, "liked": 40}
    shown = _captions(at)
    assert "**liked** · review number" in shown
    assert "**\\<b\\>no\\</b\\>** · review number" in shown and "not good at all" in shown


def test_a_series_csv_is_plotted_with_its_held_out_parts():
    t = np.arange(300)
    df = pd.DataFrame({"month": t, "sales": 100 + 0.2 * t + 5 * np.sin(t / 6)})
    at = _upload("series-csv", "sales.csv", df.to_csv(index=False).encode())
    target = at.selectbox("tr_series-csv_target")
    assert target.options == ["Automatic (the only column of numbers besides time)", "month", "sales"]
    assert target.value == ""  # automatic: month is the time axis, sales the series
    assert not at.error
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    series = [json.loads(s)["layout"] for s in charts if "time step" in s]
    assert len(series) == 1 and series[0]["yaxis"]["title"]["text"] == "sales"
    assert [s["type"] for s in series[0]["shapes"]] == ["rect", "rect"]  # the validation and test parts
    assert "sales over 300 time steps; shaded: the validation part, then the test part" in _captions(at)
    assert list(_frames(at)[0].columns) == ["month", "sales"]  # the first rows too


def test_a_csv_upload_is_bounded_by_what_nnlab_reads_and_says_so(monkeypatch):
    """A shared demo with NNLAB_MAX_DATA_MB=2: the CSV uploader said 'At most 200 MB', took a 3 MB file, kept it in
    the workspace and only then refused it; it now takes at most 2 MB (the browser refuses more before sending) and
    says so. An archive of images is bounded by its unpacked pixels, not its size, and keeps 200 MB."""
    monkeypatch.setenv("NNLAB_MAX_DATA_MB", "2")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox("tr_dataset").set_value("csv").run()
    uploader = at.file_uploader[0].proto
    assert uploader.max_upload_size_mb == 2
    assert uploader.help.startswith("At most 2 MB")
    at.selectbox("tr_dataset").set_value("image-folder").run()
    assert at.file_uploader[0].proto.max_upload_size_mb == 200
