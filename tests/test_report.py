"""The HTML report is self-contained (plotly.js inline once) and shows user strings as text, never markup."""

from __future__ import annotations

import re

import numpy as np

from nnlab.core.facts import TabularFacts
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
    info = TabularFacts(classes=tuple(classes), features=1, columns=('<img src=x onerror="x">',))
    return Results(
        run_id,
        info,
        classification_metrics(y_true, y_pred, classes),
        Predictions(y_true, y_pred, probs),
        Examples(rows=np.zeros((5, 1))),
    )


def test_user_strings_are_escaped(store):
    run_id = store.create(make_config("mlp", dataset="csv", data_path="/data/<b>bold</b>.csv"))
    html = build_report(store.get(run_id), _fake_results(run_id), [])
    assert EVIL not in html and "<img src=x" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the class name, shown as typed in the table
    assert "&lt;b&gt;bold&lt;/b&gt;.csv" in html  # the file name in the config table
    assert "b &amp; c" in html


def test_report_is_self_contained_with_plotly_inline_once(trained, workspace):
    store = RunStore(workspace)
    rec = store.get(trained["digits"])
    html = build_report(rec, store.folder(rec.run_id).read_results(), store.metrics(rec.run_id))
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert html.count("Plotly.newPlot(") == 4  # curves, two confusion matrices, F1
    assert html.count("plotly.js v") == 1  # the library's own banner: embedded exactly once
    assert not re.search(r"<script[^>]*\ssrc=", html)  # no script fetched from anywhere
    for section in (
        "Classification report",
        "macro avg",
        "weighted avg",
        "Confusion matrix",
        "Config",
        "Hidden layer sizes",
    ):
        assert section in html


def test_regression_report_has_forecast_and_residuals(trained, workspace):
    store = RunStore(workspace)
    rec = store.get(trained["series"])
    html = build_report(rec, store.folder(rec.run_id).read_results(), store.metrics(rec.run_id))
    assert "Forecast against actual" in html and "Residuals" in html and "naive RMSE" in html
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


def test_report_header_counts_epochs_in_words(trained, workspace):
    store = RunStore(workspace)
    rec = store.get(trained["digits"])  # two epochs
    html = build_report(rec, store.folder(rec.run_id).read_results(), store.metrics(rec.run_id))
    assert "· 2 epochs ·" in html and "epoch(s)" not in html


def _config_rows(html: str) -> dict[str, str]:
    table = html.split("<h2>Config</h2>", 1)[1]
    return dict(re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td></tr>", table))


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


def test_the_report_shows_the_most_confident_mistakes_per_class_pair(trained, workspace):
    from nnlab.views.examples import mistake_pairs

    store = RunStore(workspace)
    rec = store.get(trained["digits"])
    res = store.folder(rec.run_id).read_results()
    html = build_report(rec, res, store.metrics(rec.run_id))
    assert "Most confident mistakes per class pair" in html
    pairs = mistake_pairs(res)
    t, p, count = pairs[0]
    assert f"<h3>true {res.classes[t]}, predicted {res.classes[p]} ({count})</h3>" in html
    assert html.count("<img alt='test example") == sum(min(4, c) for _, _, c in pairs)
    assert html.count("src='data:image/png;base64,") == html.count("<img alt='test example")
    text_rec = store.get(trained["reviews"])
    text_html = build_report(text_rec, store.folder(text_rec.run_id).read_results(), [])
    assert "Most confident mistakes" not in text_html or "class='example text-example'" in text_html


def test_a_two_run_comparison_exports_as_one_offline_html_file(trained, workspace):
    from nnlab.analysis.comparison import compare
    from nnlab.views.comparison_report import build_comparison_report, comparison_filename

    store = RunStore(workspace)
    tw = compare(store, trained["digits"], trained["digits_b"])
    html = build_comparison_report(tw, store.metrics_many([trained["digits"], trained["digits_b"]]))
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert html.count("plotly.js v") >= 1 and not re.search(r"<script[^>]+src=", html)
    markup = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)  # plotly.js's own source mentions URLs
    assert not re.search(r"""(src|href)=['"]https?://""", markup)
    assert tw.verdict.verdict in html.lower() or tw.verdict.verdict.capitalize() in html
    assert (
        f"A right, B wrong ({len(tw.flips.a_better)}" in html and f"B right, A wrong ({len(tw.flips.b_better)}" in html
    )
    assert comparison_filename(tw) == f"nnlab-compare-{trained['digits']}-vs-{trained['digits_b']}.html"
