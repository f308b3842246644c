"""The HTML report is self-contained (plotly.js inline once) and shows user strings as text, never markup."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pytest

from nnlab.core.facts import ImageFacts, Scaler, TabularFacts
from nnlab.data.registry import make_config
from nnlab.engine.metrics import classification_metrics
from nnlab.store.runfolder import Examples, Predictions, Results
from nnlab.store.runs import RunStore
from nnlab.views.report import build_report, report_table

EVIL = "<script>alert(1)</script>"


def _fake_results(run_id: str) -> Results:
    y_true, y_pred = np.array([0, 0, 1, 1, 1]), np.array([0, 1, 1, 1, 0])
    classes = [EVIL, "b & c"]
    probs = np.eye(2)[y_pred] * 0.8 + 0.1
    facts = TabularFacts(classes=tuple(classes), features=1, columns=('<img src=x onerror="x">',))
    return Results(
        run_id,
        facts,
        classification_metrics(y_true, y_pred, classes),
        Predictions(y_true, y_pred, probs),
        Examples(rows=np.zeros((5, 1))),
    )


def test_user_strings_are_escaped(store):
    run_id = store.create(make_config("mlp", dataset="csv", data_path="/data/<img src=x onerror=y>.csv"))
    html = build_report(store.get(run_id), _fake_results(run_id), [])
    assert EVIL not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the class name, shown as typed in the table
    assert "&lt;img src=x onerror=y&gt;.csv" in html  # the file's name in the config table
    assert "/data/" not in html  # not where it sat on the machine that trained
    for key, body in re.findall(r"<template id='tpl-(cm-\d+-\d+)'>(.*?)</template>", html, flags=re.S):
        assert "<script>" not in body and "<img src=x" not in body, key
    assert "b &amp; c" in html


def test_report_is_self_contained_with_plotly_inline_once(trained, workspace):
    store = RunStore(workspace)
    rec = store.get(trained["digits"])
    html = build_report(rec, store.folder(rec.run_id).read_results(), store.metrics(rec.run_id))
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert html.count("data-figure=") == 3  # the clickable confusion matrix, F1 per class, the curves
    assert html.count("plotly.js v") == 1  # the library's own banner: embedded exactly once
    assert not re.search(r"<script[^>]*\ssrc=", html)  # no script fetched from anywhere
    markup = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)  # plotly.js's own source mentions URLs
    assert not re.search(r"(src|href)=['\"](?!data:)", markup) and "@import" not in markup and "url(" not in markup
    assert "Content-Security-Policy" in html and "connect-src 'none'" in html  # a second guard against fetching
    for section in ("How good it is", "Where it fails", "Per class", "macro avg", "How it trained", "The data"):
        assert section in html
    assert "Config" in html and "Hidden layer sizes" in html


def test_regression_report_has_forecast_and_residuals(trained, workspace):
    store = RunStore(workspace)
    rec = store.get(trained["series"])
    html = build_report(rec, store.folder(rec.run_id).read_results(), store.metrics(rec.run_id))
    assert "Forecasts on the test part" in html and "Where it misses" in html and "naive RMSE" in html
    assert "the model is" in html and "Repeating the last value" in html
    assert "Classification report" not in html


def test_report_table_has_every_class_and_the_averages():
    res = _fake_results("x")
    df = report_table(res.report["report"])
    assert list(df.index) == [EVIL, "b & c", "macro avg", "weighted avg"]
    assert list(df.columns) == ["precision", "recall", "F1", "support"]
    assert df.loc["b & c", "support"] == 3
    with_acc = report_table(res.report["report"], res.report["accuracy"])
    assert list(with_acc.index) == [EVIL, "b & c", "accuracy", "macro avg", "weighted avg"]
    assert with_acc.loc["accuracy", "F1"] == 0.6 and with_acc.loc["accuracy", "support"] == 5


def test_report_counts_epochs_in_words(trained, workspace):
    store = RunStore(workspace)
    rec = store.get(trained["digits"])  # two epochs
    html = build_report(rec, store.folder(rec.run_id).read_results(), store.metrics(rec.run_id))
    assert "Trained for 2 epochs of at most 2 in" in html and "epoch(s)" not in html


def _config_rows(html: str) -> dict[str, str]:
    table = html.split("<h2>Config</h2>", 1)[1]
    return dict(re.findall(r"<tr><th scope='row'>([^<]*)</th><td>([^<]*)</td></tr>", table))


def _data_rows(html: str) -> dict[str, str]:
    table = html.split("<h2>The data</h2>", 1)[1].split("<h2>", 1)[0]
    return dict(re.findall(r"<tr><th scope='row'>([^<]*)</th><td>([^<]*)</td></tr>", table))


def test_config_table_says_what_the_run_used_for_values_fitted_to_the_data(trained, workspace):
    store = RunStore(workspace)
    rec = store.get(trained["shapes"])  # a CNN on a folder of images: batch size, epochs, image size, threads auto
    assert rec.config.batch_size == 0 and rec.config.image_size == 0 and rec.config.threads == 0
    res = store.folder(rec.run_id).read_results()
    rows = _config_rows(build_report(rec, res, store.metrics(rec.run_id)))
    assert rows["Batch size"] == f"{rec.summary['batch_size']} (fit to the data)" and rec.summary["batch_size"] > 0
    assert rows["Epochs"] == "1" and rows["Image size"].startswith(f"{res.facts.image_size} (")
    assert re.fullmatch(r"\d+ \(automatic\)", rows["Threads"]) and rows["Device"].startswith("cpu (")
    assert rows["Architecture"] == "CNN" and rows["Dataset"] == "shapes"  # the user's folder, by its name
    assert not [k for k, v in rows.items() if v == "0" and k in ("Batch size", "Epochs", "Image size", "Threads")]
    auto = store.create(rec.config.replace(epochs=0))  # epochs fitted too: the report says how many it planned
    store.update(auto, status="finished", summary={**rec.summary, "epochs": 37})
    rows = _config_rows(build_report(store.get(auto), res, []))
    assert rows["Epochs"] == "37 (fit to the data)"


def test_data_table_is_labelled_for_a_reader_not_raw_keys(trained, workspace):
    store = RunStore(workspace)
    rec = store.get(trained["digits"])
    rows = _data_rows(build_report(rec, store.folder(rec.run_id).read_results(), []))
    assert {"Data", "Kind", "Examples", "Classes", "Model input"} <= set(rows)
    assert rows["Kind"] == "images" and rows["Model input"].startswith("8 × 8 pixels, grey")
    s = rec.summary
    assert rows["Examples"].startswith(f"{s['train_size']:,} to train, {s['val_size']:,} to validate")
    for raw in ("input_shape", "num_classes", "source_channels", "kind", "task"):
        assert raw not in rows


def test_config_table_lists_only_the_fields_the_run_uses(store):
    mlp = store.get(store.create(make_config("mlp", dataset="digits", hidden_sizes=(32,))))
    rows = _config_rows(build_report(mlp, _fake_results(mlp.run_id), []))
    assert rows["Hidden layer sizes"] == "32" and rows["Learning rate"] == "0.001" and rows["Optimizer"] == "Adam"
    assert rows["LR schedule"] == "Reduce on plateau" and rows["LR patience"] == "3"
    for absent in (
        "Hidden units",
        "Vocabulary size",
        "Window",
        "Momentum",
        "Step size",
        "Label column",
        "Path to your data",
        "Start from ImageNet weights",
        "Expert mode: wider ranges",
    ):
        assert absent not in rows, absent
    lstm_cfg = make_config("lstm", optimizer="sgd", schedule="step", early_stopping=False)
    lstm = store.get(store.create(lstm_cfg))
    rows = _config_rows(build_report(lstm, _fake_results(lstm.run_id), []))
    assert {"Vocabulary size", "Maximum length", "Hidden units", "Momentum", "Step size", "Gamma"} <= set(rows)
    assert not {
        "Hidden layer sizes",
        "Batch normalisation",
        "Image size",
        "LR patience",
        "Early-stopping patience",
    } & set(rows)


def _templates(html: str, prefix: str) -> dict[tuple[int, int], str]:
    found = re.findall(rf"<template id='tpl-{prefix}-(\d+)-(\d+)'>(.*?)</template>", html, flags=re.S)
    return {(int(t), int(p)): body for t, p, body in found}


def _examples(body: str) -> list[tuple[dict[str, str], str]]:
    """(data-* attributes, caption) of each .example element in a piece of the report."""
    out = []
    for attrs, caption in re.findall(
        r"<(?:figure|div) class='example(?: text-example)?'([^>]*)>.*?(?:<figcaption>|<b>)(.*?)</",
        body,
        re.S,
    ):
        out.append((dict(re.findall(r"data-([\w-]+)='(\d+)'", attrs)), caption))
    return out


def test_every_confusion_cell_carries_its_examples_most_confident_first(trained, workspace):
    from nnlab.views.cells import CELL_SHOWN, worst_cell

    store = RunStore(workspace)
    rec = store.get(trained["digits"])
    res = store.folder(rec.run_id).read_results()
    html = build_report(rec, res, [])
    cells = _templates(html, "cm")
    n, pr = len(res.classes), res.predictions
    assert set(cells) == {(t, p) for t in range(n) for p in range(n)}
    shown = 0
    for (t, p), body in cells.items():
        items = _examples(body)
        expected = np.flatnonzero((pr.y_true == t) & (pr.y_pred == p))
        assert len(items) == min(len(expected), CELL_SHOWN)
        for attrs, caption in items:
            assert attrs == {"true": str(t), "pred": str(p)}
            assert caption.startswith(f"true {res.classes[t]} · predicted {res.classes[p]} (")
        place = {int(row): i for i, row in enumerate(pr.index)}  # each caption names its row in the data
        ids = [place[int(c.rsplit(" · row ", 1)[1])] for _, c in items]
        assert ids == sorted(ids, key=lambda i: -pr.probs[i, p])  # most confident first
        shown += len(items)
    box = html.split("id='examples'", 1)[1].split("<h2>", 1)[0]  # the worst cell, shown before any click
    t, p = worst_cell(res.report["confusion"])
    assert t != p and f"data-shown='cm-{t}-{p}'" in box and _examples(box) == _examples(cells[t, p])
    assert html.count("<img alt='test example") == shown + len(_examples(box))  # no other copy of an image
    reviews = store.get(trained["reviews"])
    text = build_report(reviews, store.folder(reviews.run_id).read_results(), [])
    assert "class='example text-example'" in text and "<img alt='test example" not in text


@pytest.mark.slow
def test_ten_classes_with_twenty_thumbnails_a_cell_stay_under_15_mb(store):
    from nnlab.data.builtin import make_shapes

    images, _ = make_shapes(2200, 32, np.random.default_rng(0))  # (N, C, H, W) colour images, CIFAR's size
    rng = np.random.default_rng(1)
    y_true, y_pred = np.arange(2200) % 10, (np.arange(2200) // 10) % 10  # 22 examples in every one of 100 cells
    classes = [f"class {k}" for k in range(10)]
    probs = rng.dirichlet(np.ones(10), size=2200)
    facts = ImageFacts(
        classes=tuple(classes), channels=3, source_channels=3, image_size=32, scaler=Scaler.of([0] * 3, [1] * 3)
    )
    res = Results("x", facts, classification_metrics(y_true, y_pred, classes), Predictions(y_true, y_pred, probs),
                  Examples(images=images.transpose(0, 2, 3, 1).copy()))  # fmt: skip
    rec = store.get(store.create(make_config("cnn", dataset="shapes")))
    html = build_report(rec, res, [])
    assert html.count("<img alt='test example") >= 100 * 20
    assert len(html.encode()) < 15e6, len(html.encode())


def test_a_two_run_comparison_exports_as_one_offline_html_file(trained, workspace):
    from nnlab.analysis.comparison import compare
    from nnlab.views.comparison_report import build_comparison_report, comparison_filename

    store = RunStore(workspace)
    tw = compare(store, trained["digits"], trained["digits_b"])
    html = build_comparison_report(tw, store.metrics_many([trained["digits"], trained["digits_b"]]))
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert html.count("plotly.js v") == 1 and not re.search(r"<script[^>]+src=", html)
    markup = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)  # plotly.js's own source mentions URLs
    assert not re.search(r"""(src|href)=['"](?!data:)""", markup)
    assert tw.verdict.verdict in html.lower() or tw.verdict.verdict.capitalize() in html
    assert (
        f"A right, B wrong ({len(tw.flips.a_better)})" in html
        and f"B right, A wrong ({len(tw.flips.b_better)})" in html
    )
    assert "Hidden layer sizes" in html and "Learning rate" in html  # the fields that differ, by their labels
    assert comparison_filename(tw) == f"nnlab-compare-{trained['digits']}-vs-{trained['digits_b']}.html"


def test_each_difference_cell_carries_the_examples_that_moved_into_and_out_of_it(trained, workspace):
    from nnlab.analysis.comparison import cell_moves, compare
    from nnlab.views.comparison_report import build_comparison_report

    store = RunStore(workspace)
    tw = compare(store, trained["digits"], trained["digits_b"])
    html = build_comparison_report(tw, {})
    ma, mb = tw.pair
    cells = _templates(html, "flip")
    n = len(ma.results.classes)
    assert set(cells) == {(t, p) for t in range(n) for p in range(n)}
    moved = 0
    for (t, p), body in cells.items():
        into, out = cell_moves(ma, mb, t, p)
        items = _examples(body)
        assert len(items) == min(len(into), 10) + min(len(out), 10)
        for attrs, caption in items:
            assert attrs["true"] == str(t) and str(p) in (attrs["pred-a"], attrs["pred-b"])
            assert caption.startswith(f"true {ma.results.classes[t]} · A predicted ")
            flipped = (attrs["pred-a"] == str(t)) != (attrs["pred-b"] == str(t))  # one side right, the other not
            assert caption.endswith(" · one seed a side: noise cannot be told") == flipped, caption
        moved += len(items)
    assert moved > 0


def test_report_thumbnails_are_scaled_down_and_the_dashboards_are_not():
    import base64
    import io

    from PIL import Image

    from nnlab.views.examples import THUMB_SIDE, thumbnail_uri

    photo = np.random.default_rng(0).integers(0, 256, size=(128, 96, 3), dtype=np.uint8)

    def size(uri: str) -> tuple[int, int]:
        return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).size

    assert size(thumbnail_uri(photo)) == (48, THUMB_SIDE)  # the report: longest side 64, shape kept
    assert size(thumbnail_uri(photo, None)) == (96, 128)  # the Results page: as stored
    assert size(thumbnail_uri(photo[:8, :8])) == (8, 8)  # small images are never enlarged in the file


def test_data_check_findings_show_under_their_kind_and_a_warning_tempers_the_scores(store):
    from dataclasses import replace

    from nnlab.core.findings import info, warning

    run_id = store.create(make_config("mlp", dataset="csv", data_path="/data/t.csv"))
    res = _fake_results(run_id)
    found = (warning("imbalance", "Class <b> has 9 times the rows of b & c."), info("missing", "Filled 3 blanks."))
    res = replace(res, facts=replace(res.facts, findings=found))
    html = build_report(store.get(run_id), res, [])
    assert "<li><b>Class imbalance</b>: Class &lt;b&gt; has 9 times the rows of b &amp; c.</li>" in html
    assert "<li><b>Missing values</b>: Filled 3 blanks.</li>" in html
    assert html.index("Read these numbers with the data check in mind: it found class imbalance") < html.index(
        "<h2>Where it fails</h2>"
    )
    calm = build_report(store.get(run_id), replace(res, facts=replace(res.facts, findings=found[1:])), [])
    assert "Read these numbers" not in calm


@pytest.mark.slow
def test_a_comparison_of_seed_groups_tags_each_flip_stable_or_seed_noise(store):
    from nnlab.analysis.comparison import compare, example_tags
    from nnlab.analysis.groups import group_id, seed_configs
    from nnlab.engine.runner import execute
    from nnlab.views.comparison_report import TAG_WORDS, build_comparison_report
    from tests.helpers import tiny_config

    def train(cfg):
        run_id = store.create(cfg)
        store.claim_queued(run_id)
        assert execute(store, run_id).status == "finished"

    base, weak = tiny_config("mlp", epochs=2), tiny_config("mlp", epochs=1, lr=1e-4)
    for cfg in (*seed_configs(base, 2), *seed_configs(weak, 2)):
        train(cfg)
    tw = compare(store, group_id(weak), group_id(base))
    tags = example_tags(tw)
    html = build_comparison_report(tw, {})
    assert {t for t in tags if t} - {"one seed"}  # two seeds a side: stable or seed noise, not "one seed"
    assert f"Toward B ({len(tw.flips.b_better)})" in html  # over seeds, examples lean to a side
    noise, rows = tw.noise, tw.pair[0].results.predictions.index  # each example named by its row in the data
    for i, tag in enumerate(tags):
        if tag and i in tw.flips.b_better[:24]:
            said = f"{TAG_WORDS[tag]}; A right in {noise.a_share[i]:.0%} of its seeds, B in {noise.b_share[i]:.0%}"
            assert f"· row {rows[i]} · {said}</figcaption>" in html


def test_a_blank_cell_of_a_test_row_reads_blank_not_nan():
    """A CSV with blank cells showed 'mean texture nan' under its test examples; the cell reads 'blank'."""
    from nnlab.views.examples import example_items

    facts = TabularFacts(classes=("0", "1"), features=2, columns=("radius", "texture"))
    y = np.array([0, 1])
    res = Results("x", facts, classification_metrics(y, y, ["0", "1"]), Predictions(y, y, np.eye(2)),
                  Examples(rows=np.array([[1.5, np.nan], [2.0, 3.25]])))  # fmt: skip
    first, second = example_items(res, [0, 1], ["a", "b"])
    assert "radius 1.5, texture blank" in first and "nan" not in first
    assert "radius 2, texture 3.25" in second


def test_the_reports_data_check_says_settings_in_the_forms_words(store):
    """The report said 'use --missing drop to drop those rows' where the Results page says the form's labels."""
    from dataclasses import replace

    from nnlab.core.findings import info

    run_id = store.create(make_config("mlp", dataset="csv", data_path="/data/cancer.csv"))
    res = _fake_results(run_id)
    said = "3 cells were blank; nnlab filled them; use --missing drop to drop those rows instead."
    res = replace(res, facts=replace(res.facts, findings=(info("missing", said),)))
    html = build_report(store.get(run_id), res, [])
    assert "--missing" not in html
    assert "use &quot;Missing values&quot; set to &quot;Drop the rows&quot; to drop those rows instead." in html


def test_a_test_example_is_named_by_its_row_in_the_data():
    """The report named a CSV's test example '#37' (its place in the test split) while label-issues and
    --exclude-rows call the same example row 270; the report says 'row 270' too."""
    from nnlab.views.cells import run_cell

    facts = TabularFacts(classes=("a", "b"), features=1, columns=("x",))
    y_true, y_pred = np.array([0, 1, 1]), np.array([1, 1, 1])
    probs = np.array([[0.2, 0.8], [0.1, 0.9], [0.3, 0.7]])
    predictions = Predictions(y_true, y_pred, probs, index=np.array([270, 4, 12]))
    res = Results("x", facts, classification_metrics(y_true, y_pred, ["a", "b"]), predictions,
                  Examples(rows=np.zeros((3, 1))))  # fmt: skip
    assert "true a · predicted b (80% sure) · row 270</b>" in run_cell(res, 0, 1)
    old = replace(res, predictions=replace(predictions, index=None))  # a run saved before the rows were kept
    assert "true a · predicted b (80% sure) · #0</b>" in run_cell(old, 0, 1)


def test_a_seed_groups_id_given_for_a_run_is_told_apart_from_a_missing_run(trained, workspace, tmp_path, capsys):
    """`report g-...` and `export g-...` with an id `runs --groups` lists said 'Run g-... is not in the store': they
    now say it is a group, name its runs, and say what to give instead."""
    from nnlab.analysis.groups import group_id
    from nnlab.cli.main import main

    store = RunStore(workspace)
    run_id = trained["iris"]
    gid = group_id(store.get(run_id).config)
    members = sorted((r.created, r.run_id) for r in store.list() if group_id(r.config) == gid)
    members = [m[1] for m in members]
    assert main(["report", gid, "--out", str(tmp_path / "r.html"), "--store", str(workspace)]) == 2
    said = capsys.readouterr().err.strip()
    assert said.startswith(f"nnlab: {gid} is a group of ") and run_id in said and "not in the store" not in said
    assert said.endswith(f"report one of its runs, or compare the group with another: `report {gid} OTHER`.")
    assert main(["export", gid, "--format", "script", "--out", str(tmp_path / "e"), "--store", str(workspace)]) == 2
    said = capsys.readouterr().err.strip()
    assert said.endswith("; export one of its runs.") and all(m in said for m in members[:1])
    assert main(["report", "nope", "--out", str(tmp_path / "r.html"), "--store", str(workspace)]) == 2
    assert "Run nope is not in the store" in capsys.readouterr().err


def test_a_report_written_by_the_dashboard_is_the_file_the_cli_writes(store, monkeypatch):
    """The dashboard's process has Streamlit's plotly template as its default (placeholder colours #000001...,
    no plot background) and its downloads drew with it; the report's figures now look the same from both."""
    import plotly.io as pio
    import streamlit.elements.plotly_chart  # noqa: F401  (registers the "streamlit" template, as the dashboard does)

    run_id = store.create(make_config("mlp", dataset="csv", data_path="/data/t.csv"))

    def written(default: str) -> tuple[str, list[dict]]:
        """The report's text without its date, and its figures as drawn (JSON parsed: key order aside)."""
        monkeypatch.setattr(pio.templates, "default", default)
        html = build_report(store.get(run_id), _fake_results(run_id), [])
        figure = re.compile(r"(<script type='application/json' data-figure='[^']+'>)(.*?)</script>", re.S)
        figures = [json.loads(m.group(2)) for m in figure.finditer(html)]
        return re.sub(r"Written by nnlab on [^.]+\.", "", figure.sub(r"\1</script>", html)), figures

    cli, dashboard = written("plotly"), written("streamlit")
    assert dashboard[1] and "#000001" not in json.dumps(dashboard[1])
    assert dashboard == cli
