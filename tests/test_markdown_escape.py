"""Class and column names are user data: wherever a page renders them as markdown (the Train page's data notes
and error boxes, Results' cell headers, the Playground's prediction and image captions) they are escaped, so a
name like `**bold** [x](http://e.com) ![i](http://e.com/i.png)` shows as typed and makes no link, image, HTML
or emphasis; the HTML report escapes them too."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from nnlab.data.registry import make_config
from nnlab.engine.runner import execute
from nnlab.store.runs import RunStore
from nnlab.views.report import build_report
from tests.helpers import app_at, visible, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fresh_caches")]

EVIL = "**bold** [x](http://e.com) ![i](http://e.com/i.png)"
EVIL_2 = "_it_ <b>y</b> www.e.com a@e.com"
SYNTAX = re.compile(r"\]\(|<")  # unescaped, markdown makes a link or an image ([x](url), ![i](url)) or HTML
AUTOLINK = re.compile(r"https?://|www\.|[\w.+-]@", re.IGNORECASE)  # Streamlit links these in text, escaped or not


def rendered(at: AppTest) -> list[str]:
    """The markdown sources of the page: texts, boxes, headers, captions, metric labels and values."""
    kinds = ("markdown", "caption", "subheader", "header", "title", "error", "warning", "info", "success", "toast")
    out = [str(e.value) for kind in kinds for e in at.get(kind)]
    out += [str(m.label) for m in at.metric] + [str(m.value) for m in at.metric]
    out += [str(c) for img in at.image for c in img.captions]
    return out


def assert_escaped(sources: list[str], names: tuple[str, ...]) -> None:
    """No source can make a link, image or HTML, and each name still reads as typed in some source."""
    for source in sources:
        assert not SYNTAX.search(re.sub(r"\\.", "", source)), source  # escaped characters removed
        assert not AUTOLINK.search(re.sub(r"\\(.)", r"\1", source)), source  # escapes resolved
    shown = [visible(s) for s in sources]
    for name in names:
        assert any(name in s for s in shown), (name, sources)


def _table_csv(path: Path) -> Path:
    rng = np.random.default_rng(0)
    y = np.array([0] * 90 + [1] * 30)  # imbalanced: a warning names both classes
    df = pd.DataFrame({"f1": rng.normal(size=120) + y, "f2": rng.normal(size=120)})
    df[EVIL] = y * 7 + 1  # a code of the label: a warning names this column
    df["label"] = np.array([EVIL, EVIL_2])[y]
    df.to_csv(path, index=False)
    return path


def _wait_finished(run_id: str, timeout: float = 120) -> None:
    store = RunStore()
    wait_until(lambda: store.get(run_id).status not in ("queued", "running"), "the run to end", timeout)
    assert store.get(run_id).status == "finished", store.get(run_id).reason


def test_train_and_results_pages_and_the_report_escape_class_and_column_names(tmp_path):
    at = app_at("pages/1_Train.py").run()
    at.selectbox("tr_dataset").set_value("csv").run()
    at.radio("tr_source_csv").set_value("path").run()
    at.text_input("tr_csv_data_path").set_value(str(_table_csv(tmp_path / "table.csv"))).run()
    assert not at.exception
    assert_escaped(rendered(at), (EVIL,))  # the data check names the column (the classes show in its tables)

    at.text_input("tr_mlp_hidden_sizes").set_value("32").run()
    at.number_input("tr_epochs").set_value(2).run()
    at.button("tr_start").click().run()
    run_id = at.query_params["run"]
    run_id = run_id[0] if isinstance(run_id, list) else run_id
    _wait_finished(run_id)

    results = app_at("pages/2_Results.py", run_id).run()
    results.session_state[f"results_cm_chart_{run_id}_0"] = {
        "selection": {
            "points": [{"customdata": [0, 0], "point_index": 0}],
            "point_indices": [0],
            "box": [],
            "lasso": [],
        }
    }
    results.run()
    assert not results.exception
    assert_escaped(rendered(results), (EVIL,))  # the examples' header and caption

    store = RunStore()
    rec = store.get(run_id)
    html = build_report(rec, store.folder(run_id).read_results(), store.metrics(run_id))
    assert 'href="http://e.com"' not in html and 'src="http://e.com/i.png"' not in html and "<b>y</b>" not in html

    other = store.create(rec.config.replace(seed=rec.config.seed + 1))  # a second run to compare with
    store.claim_queued(other)
    assert execute(store, other).status == "finished"
    compare = app_at("pages/3_Compare.py").run()
    table = compare.dataframe[0].value
    rows = [list(table["run"]).index(r) for r in (run_id, other)]
    compare.session_state["compare_table"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    compare.run()
    assert not compare.exception
    assert_escaped(rendered(compare), ())


def trained_run(workspace, cfg) -> str:
    """A finished run of cfg in the workspace's store; its id."""
    store = RunStore(workspace)
    run_id = store.create(cfg)
    store.claim_queued(run_id)
    done = execute(store, run_id)
    assert done.status == "finished", done.reason
    return run_id


def playground_of(run_id: str):
    """The Playground on run_id, run once, without an exception."""
    at = app_at("pages/4_Playground.py", run_id).run()
    assert not at.exception
    return at


def test_the_playground_prediction_escapes_class_names(tmp_path, workspace):
    rng = np.random.default_rng(1)
    words = ["good", "great", "fine", "bad", "awful", "dull"]
    y = rng.integers(0, 2, 200)
    texts = [" ".join(rng.choice(words[3 * c : 3 * c + 3], 6)) for c in y]
    pd.DataFrame({"text": texts, "label": np.array([EVIL, EVIL_2])[y]}).to_csv(tmp_path / "r.csv", index=False)
    cfg = make_config("lstm", dataset="text-csv", data_path=str(tmp_path / "r.csv"), hidden=32, epochs=1, max_len=12)
    at = playground_of(trained_run(workspace, cfg))
    assert [m.label for m in at.metric] == ["Prediction"]
    assert_escaped(rendered(at), ())
    predicted = visible(at.metric[0].value)
    assert predicted in (EVIL, EVIL_2)


def test_the_playground_image_caption_escapes_class_names(tmp_path, workspace):
    names = ("**b** [x](e.com)", "![i](i.png) <i>z")  # folder names cannot hold a slash
    rng = np.random.default_rng(2)
    for c, name in enumerate(names):
        (tmp_path / "imgs" / name).mkdir(parents=True)
        for i in range(20):
            pixels = (rng.random((12, 12, 3)) * 80 + 150 * c).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "imgs" / name / f"{i}.png")
    cfg = make_config(
        "cnn", dataset="image-folder", data_path=str(tmp_path / "imgs"), hidden=32, epochs=1, image_size=16
    )
    at = playground_of(trained_run(workspace, cfg))
    captions = [c for img in at.image for c in img.captions]
    assert any("true class" in c for c in captions), captions  # the test image's caption names its class
    assert_escaped(rendered(at), ())
    shown = " ".join(visible(c) for c in captions)
    assert any(name in shown for name in names)
