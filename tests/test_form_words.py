"""The dashboard speaks the form's words: flags in a message become labels; uploads keep their names; a
frozen random backbone is refused; the form does not ask twice for a file it is already asking for."""

from pathlib import Path

from nnlab.core.words import in_form_words
from nnlab.data.registry import make_config, validate
from nnlab.store.runs import RunStore
from nnlab.store.space import keep_upload


def test_flags_become_the_forms_labels():
    message = (
        "No column named label in wine.csv; name the column that holds the class with --label-column. "
        "Point at a weights file (--weights FILE) or train from scratch (--no-pretrained); --data-root, --data."
    )
    words = in_form_words(message)
    assert "--" not in words
    assert '"Label column"' in words and '"ResNet-18 weights file (optional)"' in words
    assert '"Start from ImageNet weights" turned off' in words
    assert '"Data folder (optional)", "Path to your data".' in words


def test_a_flag_with_one_of_its_choices_becomes_the_label_set_to_that_choice():
    words = in_form_words("Export the model, or train it with --classical none; --missing drop left too few rows.")
    assert words == (
        'Export the model, or train it with "Classical forecaster" set to "None: network alone"; '
        '"Missing values" set to "Drop the rows" left too few rows.'
    )


def test_an_architecture_or_dataset_named_on_the_command_line_is_said_by_its_title():
    from nnlab.views.report_words import form_words

    words = form_words(
        "wine.csv has only the label column; add feature columns, or give --arch ts-lstm to forecast it."
    )
    assert words.endswith('or set "Architecture" to "LSTM (time series)" to forecast it.')  # was 'give "..." set to'
    assert form_words("to classify them, train with --arch lstm.").endswith('with "Architecture" set to "LSTM (text)".')
    assert form_words("try --dataset digits") == 'try "Dataset" set to "Handwritten digits (scikit-learn)"'


def test_an_upload_keeps_the_name_it_was_uploaded_with(tmp_path: Path):
    import io

    store = RunStore(tmp_path)
    path = keep_upload(store, "wine quality.csv", io.BytesIO(b"a,label\n1,x\n"))
    assert path.name == "wine quality.csv" and path.read_bytes() == b"a,label\n1,x\n"
    assert keep_upload(store, "wine quality.csv", io.BytesIO(b"a,label\n1,x\n")) == path  # saved once
    assert keep_upload(store, "../../evil.csv", io.BytesIO(b"x")).parent.parent == tmp_path / "uploads"


def test_a_frozen_random_backbone_is_refused():
    problems = validate(make_config("resnet18", pretrained=False))
    assert any(p.startswith("A frozen backbone needs pretrained weights") for p in problems)
    assert validate(make_config("resnet18", pretrained=False, freeze_backbone=False)) == []


def test_the_form_states_the_missing_file_itself():
    cfg = make_config("mlp", dataset="csv")
    assert any("reads your own file" in p for p in validate(cfg))
    assert validate(cfg, paths=False) == []


def test_a_setting_in_the_command_lines_words():
    """`compare` listed differing settings by their field names (class_weights, early_stopping True → False)."""
    from nnlab.core.words import as_flag

    assert as_flag("class_weights", "auto") == ("--class-weights", "auto")
    assert as_flag("hidden_sizes", "256,128") == ("--hidden-sizes", "256,128")
    assert as_flag("batchnorm", "True") == ("--batchnorm", "on")
    assert as_flag("early_stopping", "False") == ("--no-early-stopping", "on")  # the flag was given
    assert as_flag("freeze_backbone", "True") == ("--unfreeze", "off")


def test_the_fitted_batch_size_and_epochs_name_the_fields_that_change_them():
    """The data check said 'give a batch size to choose your own' and 'give epochs to choose your own': the CLI
    user was not told the flag, nor the dashboard user the field; both now are."""
    from nnlab.core.fitted import fit_findings

    batch, epochs = (f.sentence for f in fit_findings(make_config("mlp", dataset="digits"), 1_000))
    assert batch.endswith("give --batch-size to choose your own.") and epochs.endswith(
        "give --epochs to choose your own."
    )
    assert in_form_words(batch).endswith('give "Batch size" to choose your own.')
    assert in_form_words(epochs).endswith('give "Epochs" to choose your own.')
