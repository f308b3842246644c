"""A sweep's input: the search space and budget are checked field by field before anything is queued."""

import json

import pytest

from nnlab.cli.main import main
from nnlab.core.errors import ConfigError
from nnlab.store.runs import RunStore
from nnlab.sweeps.driver import make_spec
from nnlab.sweeps.space import Dim, check_budget, parse_dim
from nnlab.sweeps.store import SweepSpec, SweepStore
from tests.helpers import tiny_config


def test_specs_parse_into_ranges_and_lists():
    assert parse_dim("lr", "1e-4:1e-2:log") == Dim("lr", 1e-4, 1e-2, True)
    assert parse_dim("dropout", "0.1:0.5") == Dim("dropout", 0.1, 0.5, False)
    assert parse_dim("batch_size", "32,64,128") == Dim("batch_size", values=(32, 64, 128))
    assert parse_dim("optimizer", "adam,sgd") == Dim("optimizer", values=("adam", "sgd"))
    assert parse_dim("batchnorm", "true,false").values == (True, False)


def test_a_range_on_a_grid_takes_low_middle_and_high():
    assert parse_dim("lr", "1e-4:1e-2:log").grid() == (1e-4, 1e-3, 1e-2)
    assert parse_dim("batch_size", "16:256").grid() == (16, 136, 256)
    dims = [parse_dim("lr", "1e-4:1e-2:log"), parse_dim("batch_size", "32,64")]
    assert check_budget(dims, "grid", None) == 6


def test_a_spec_survives_the_store(store):
    spec = make_spec(tiny_config(), [parse_dim("lr", "1e-4:1e-2:log")], 5, pruner="median", seeds=2)
    sweep_id = SweepStore(store).create(spec)
    assert SweepStore(store).get(sweep_id).spec == spec
    assert SweepSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize(
    ("vary", "trials", "strategy", "words"),
    [
        ({"lr": "1e-5:1e-2:log"}, 5, "tpe", "Learning rate 1e-05 is outside the allowed 0.0001 to 0.01"),
        ({"dropout": "0.3:0.3"}, 5, "tpe", "Dropout: range 0.3:0.3 is empty"),
        ({"dropout": "0.5:0.1"}, 5, "tpe", "Dropout: range 0.5:0.1 is inverted"),
        ({"wings": "1:2"}, 5, "tpe", "There is no field 'wings' to vary"),
        ({"hidden": "32:64"}, 5, "tpe", "Hidden units (hidden) does not apply to mlp"),
        ({"window": "4:8"}, 5, "tpe", "Window (window) does not apply to mlp"),
        ({"batch_size": "32,999"}, 5, "tpe", "Batch size 999 is outside the allowed 16 to 256"),
        ({"lr": "1e-4:1e-2:log"}, 0, "tpe", "Trials must be at least 1 (got 0)"),
        (
            {"lr": "1e-4:1e-2:log", "dropout": "0.1:0.5"},
            10,
            "grid",
            "The grid has 9 combinations, fewer than trials 10",
        ),
        ({"seed": "1:5"}, 5, "tpe", "Seed (seed) cannot be varied"),
        ({"optimizer": "adam,rmsprop"}, 5, "tpe", "Optimizer 'rmsprop' is not one of adam, adamw, sgd"),
    ],
)
def test_bad_input_is_one_sentence_naming_the_field_and_nothing_is_queued(
    vary, trials, strategy, words, workspace, capsys
):
    args = ["sweep", "--arch", "mlp", "--dataset", "digits", "--trials", str(trials), "--strategy", strategy]
    for name, spec in vary.items():
        args += ["--vary", f"{name}={spec}"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and err.count("\n") == 0 and "Traceback" not in err
    store = RunStore(workspace)
    assert store.list() == [] and SweepStore(store).list() == []


def test_a_grid_over_the_limit_is_refused():
    dims = [Dim(n, values=tuple(range(16, 16 + k))) for n, k in (("batch_size", 30), ("epochs", 30))]
    with pytest.raises(ConfigError, match="The grid has 900 combinations, over the limit of 500"):
        check_budget(dims, "grid", None)


def test_an_objective_must_fit_the_data():
    with pytest.raises(ConfigError, match="Objective val_rmse does not fit digits"):
        make_spec(tiny_config(), [parse_dim("lr", "1e-4:1e-2")], 3, objective="val_rmse")


def test_no_sweeps_list_as_an_empty_json_list(capsys):
    assert main(["sweeps", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
