"""A table's columns of categories (text with a few values: a passenger's sex, the port they boarded at) are read as
one 0/1 input per value; every table with such a column was refused ("has text in columns 5 and 10 of its header
row, where the MLP reads numbers only"), as a titanic-like file was. Too many values: left out, said; the run, the
Playground and both exports read a row the same way."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnlab.core.errors import DataError
from nnlab.core.facts import facts_from_json_dict
from nnlab.data import load_dataset
from nnlab.data.categories import rows_as_file
from nnlab.data.registry import make_config
from nnlab.engine.predict import Predictor
from nnlab.engine.runner import execute
from nnlab.export import PREDICT, export_run
from nnlab.views.examples import example_rows
from tests.helpers import isolated


def passengers(path: Path, n: int = 300) -> pd.DataFrame:
    """A titanic-like table: an ID, a number with blanks, two category columns (one with blanks), a ticket code
    with too many values to be a category, and whether the passenger survived (mostly by sex and class)."""
    rng = np.random.default_rng(0)
    sex = rng.choice(["male", "female"], n)
    port = rng.choice(["S", "C", "Q", None], n, p=[0.6, 0.2, 0.15, 0.05])
    klass = rng.choice(["first", "second", "third"], n)
    age = rng.normal(30, 12, n).round()
    age[rng.random(n) < 0.1] = np.nan
    ticket = [f"A/{rng.integers(10, 99)}" for _ in range(n)]  # about 90 values in 300 rows: not categories
    survived = (sex == "female") | ((klass == "first") & (rng.random(n) < 0.6))
    table = pd.DataFrame(
        {"PassengerId": np.arange(1, n + 1), "Sex": sex, "Age": age, "Class": klass, "Ticket": ticket, "Port": port}
    )
    table.assign(Survived=np.where(survived, "yes", "no")).to_csv(path, index=False)
    return table


def said(data, kind: str) -> str:
    (sentence,) = [f.sentence for f in data.facts.findings if f.kind == kind]
    return sentence


def test_columns_of_categories_are_read_one_hot_and_said(tmp_path):
    table = passengers(tmp_path / "titanic.csv")
    data = load_dataset(
        make_config("mlp", dataset="csv", data_path=str(tmp_path / "titanic.csv"), label_column="Survived")
    )
    facts = data.facts
    assert facts.columns == ("Sex", "Age", "Class", "Port")
    assert dict(facts.categories) == {"Sex": ("female", "male"), "Class": ("first", "second", "third"),
                                      "Port": ("C", "Q", "S")}  # fmt: skip
    assert facts.input_shape == (2 + 1 + 3 + 3,)
    assert facts.column_names[:4] == ["Sex = female", "Sex = male", "Age", "Class = first"]
    assert said(data, "categories") == (
        "Columns 'Sex', 'Class', 'Port' of titanic.csv hold categories (2, 3 and 3 different values); nnlab gives "
        "the model one input per value, 1 where a row holds it and 0 elsewhere (one-hot); a blank, or a value the file "
        "did not hold, sets none of them."
    )
    assert said(data, "text_columns").startswith("Column 'Ticket' of titanic.csv holds text with too many different")
    # the test rows read back as the file wrote them: a blank port is blank, not a value
    rows = rows_as_file(data.display["rows"], facts)
    test = table.iloc[data.test.index].reset_index(drop=True)
    assert rows["Sex"].tolist() == test["Sex"].tolist() and rows["Class"].tolist() == test["Class"].tolist()
    assert [None if pd.isna(v) else v for v in rows["Port"]] == [None if pd.isna(v) else v for v in test["Port"]]
    assert np.allclose(rows["Age"], test["Age"], equal_nan=True)


def test_keep_ids_keeps_a_number_id_and_says_a_text_one_stays_out(tmp_path):
    """--keep-ids said it kept a name column as a feature, which was then left out as text with too many values."""
    passengers(tmp_path / "titanic.csv")
    named = pd.read_csv(tmp_path / "titanic.csv").assign(Name=[f"Person {i}" for i in range(300)])
    named.to_csv(tmp_path / "named.csv", index=False)
    cfg = make_config("mlp", dataset="csv", data_path=str(tmp_path / "named.csv"), label_column="Survived")
    data = load_dataset(cfg.replace(keep_ids=True))
    assert data.facts.columns[0] == "PassengerId" and "Name" not in data.facts.columns
    kept, out = [f.sentence for f in data.facts.findings if f.kind == "id_column"]
    assert kept.startswith("Column 'PassengerId' of named.csv holds a different value on every row") and (
        "nnlab kept it as a feature (--keep-ids)" in kept
    )
    assert out.startswith("Column 'Name' of named.csv holds") and "nnlab left it out of the features" in out


def test_the_categories_are_kept_in_the_runs_facts():
    from nnlab.core.facts import TabularFacts

    facts = TabularFacts(classes=("no", "yes"), features=3, columns=("Sex", "Age"), categories=(("Sex", ("f", "m")),))
    again = facts_from_json_dict(json.loads(json.dumps(facts.to_json_dict())))
    assert again == facts and again.column_names == ["Sex = f", "Sex = m", "Age"]
    old = facts_from_json_dict({"kind": "tabular", "classes": ["a", "b"], "input_shape": [2], "columns": ["x", "y"]})
    assert old.categories == () and old.column_names == ["x", "y"]  # a run saved before categories


def test_a_table_of_free_texts_alone_is_refused_by_position(tmp_path):
    path = tmp_path / "words.csv"
    path.write_text("note,label\n" + "".join(f"word {i % 20} here,{i % 2}\n" for i in range(60)))
    with pytest.raises(DataError) as err:
        load_dataset(make_config("mlp", dataset="csv", data_path=str(path)))
    msg = str(err.value)
    assert msg.startswith("words.csv has text in column 1 of its header row, with too many different values to be")
    assert msg.endswith("; or, to classify the texts of column 1, train with --arch lstm.") and "word 1" not in msg


@pytest.mark.slow
def test_the_run_the_playground_and_the_exports_read_categories_alike(store, tmp_path):
    path = tmp_path / "titanic.csv"
    table = passengers(path)
    cfg = make_config(
        "mlp", dataset="csv", data_path=str(path), label_column="Survived", hidden_sizes=(32,), epochs=5, threads=1
    )
    run_id = store.create(cfg)
    store.claim_queued(run_id)
    assert execute(store, run_id).status == "finished"
    res = store.folder(run_id).read_results()
    predictor = Predictor.from_run(store.folder(run_id), store.get(run_id).config)
    age = res.facts.fill[2]  # Age's training median: predict.py fills a blank with it
    # the Playground reads the file's own rows (a category's value) as the run read its test rows
    test = res.predictions.index
    file_rows = table.iloc[test][["Sex", "Age", "Class", "Port"]].fillna({"Age": age}).reset_index(drop=True)
    shown = example_rows(res, np.arange(len(test)))  # what the galleries and the Playground show of them
    assert list(shown.columns) == ["Sex", "Age", "Class", "Port"] and shown["Sex"].tolist() == file_rows["Sex"].tolist()
    mine = predictor.predict_table(file_rows)
    assert np.allclose(mine, predictor.predict_rows(np.nan_to_num(res.examples.rows, nan=age)), atol=1e-6)
    # the exported predict.py reads the CSV's text cells as the run did
    export_run(store, run_id, "torchscript", tmp_path / "ts")
    out = isolated([PREDICT, str(path)], tmp_path / "ts")
    assert out.returncode == 0, out.stderr[-2000:]
    everyone = predictor.predict_table(table[["Sex", "Age", "Class", "Port"]].fillna({"Age": age}))
    assert json.loads(out.stdout) == [predictor.classes[i] for i in everyone.argmax(1)]
    # and the exported train.py reads the same inputs
    export_run(store, run_id, "script", tmp_path / "script")
    script = (tmp_path / "script" / "train.py").read_text().split("# ---- preprocessing")[0]
    (tmp_path / "script" / "reader.py").write_text(script + "x, *_ = load_table()\nprint(json.dumps(x.tolist()))\n")
    ran = isolated(["reader.py"], tmp_path / "script")
    assert ran.returncode == 0, ran.stderr[-2000:]
    read = np.array(json.loads(ran.stdout), dtype=np.float64)
    assert read.shape == (len(table), 9) and np.allclose(read[test], res.examples.rows, equal_nan=True)


@pytest.mark.slow
def test_a_question_mark_is_a_missing_value_in_the_run_and_its_exports(store, tmp_path):
    """UCI's files write '?' for a missing value: a column of ages with a few '?' was read as text (before
    categories: the file refused; with them: left out as text with 60 values). It reads as numbers with blanks,
    filled as any blank is, and the exported predict.py and train.py read it the same way."""
    rng = np.random.default_rng(0)
    age = rng.integers(20, 80, 200).astype(object)
    age[::25] = "?"
    chol = rng.normal(200, 30, 200).round(1)
    label = np.where(np.where(age == "?", 50, age).astype(float) + chol / 10 > 70, "sick", "well")
    path = tmp_path / "heart.csv"
    pd.DataFrame({"age": age, "chol": chol, "target": label}).to_csv(path, index=False)
    cfg = make_config("mlp", dataset="csv", data_path=str(path), label_column="target", hidden_sizes=(32,), epochs=3)
    data = load_dataset(cfg)
    assert data.facts.columns == ("age", "chol") and data.facts.categories == ()
    assert "8 cells in 8 of 200 rows of heart.csv were blank (in 'age')" in said(data, "missing")
    run_id = store.create(cfg)
    store.claim_queued(run_id)
    assert execute(store, run_id).status == "finished"
    export_run(store, run_id, "torchscript", tmp_path / "ts")
    out = isolated([PREDICT, str(path)], tmp_path / "ts")
    assert out.returncode == 0 and len(json.loads(out.stdout)) == 200, out.stderr[-2000:]
    export_run(store, run_id, "script", tmp_path / "script")
    script = (tmp_path / "script" / "train.py").read_text().split("# ---- preprocessing")[0]
    (tmp_path / "script" / "reader.py").write_text(script + "x, *_ = load_table()\nprint(int(np.isnan(x).sum()))\n")
    ran = isolated(["reader.py"], tmp_path / "script")
    assert ran.returncode == 0 and ran.stdout.strip() == "8", ran.stderr[-2000:]
