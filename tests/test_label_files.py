"""Label errors in a folder of images are named by the file a user finds them under ("dark/light_003.png"), on
the command line, in its JSON and in the galleries' captions, not only by their place among the images."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from nnlab.analysis.label_report import label_report
from nnlab.cli.main import main
from nnlab.data import load_dataset
from nnlab.data.registry import make_config
from nnlab.engine.runner import execute
from nnlab.lab import Lab
from nnlab.views.examples import example_number

MOVED = 3  # light images saved in the dark folder: their given label is wrong


def _folder(root) -> set[str]:
    """Two classes of 8x8 greys, dark and light, with MOVED light images put in the dark folder; the moved files."""
    rng = np.random.default_rng(0)
    for name in ("dark", "light"):
        (root / name).mkdir(parents=True)
    moved = set()
    for k in range(30):
        for name, level in (("dark", 20), ("light", 230)):
            folder = "dark" if name == "light" and k < MOVED else name
            pixels = np.clip(level + rng.integers(-15, 15, (8, 8)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / folder / f"{name}_{k:03d}.png")
            if folder != name:
                moved.add(f"{folder}/{name}_{k:03d}.png")
    return moved


@pytest.fixture
def image_run(tmp_path):
    """A small CNN trained on the folder: (lab, run id, its config, the moved files)."""
    moved = _folder(tmp_path / "shades")
    lab = Lab(tmp_path / "ws")
    cfg = make_config("cnn", dataset="image-folder", data_path=str(tmp_path / "shades"), epochs=3, threads=1)
    cfg = cfg.replace(test_fraction=0.5, split_seed=1)
    run_id = lab.store.create(cfg)
    lab.store.claim_queued(run_id)
    assert execute(lab.store, run_id).status == "finished"
    return lab, run_id, cfg, moved


def test_each_image_row_keeps_the_file_it_was_read_from(tmp_path):
    moved = _folder(tmp_path / "shades")
    data = load_dataset(make_config("cnn", dataset="image-folder", data_path=str(tmp_path / "shades")))
    assert len(data.files) == 60 and moved <= set(data.files.tolist())
    labels = np.r_[data.train.y.numpy(), data.val.y.numpy(), data.test.y.numpy()]
    rows = np.r_[data.train.index, data.val.index, data.test.index]
    folders = [data.files[r].split("/")[0] for r in rows]  # each row's file lies in its given class's folder
    assert folders == [data.classes[int(y)] for y in labels]
    assert data.display["files"].tolist() == data.files[data.test.index].tolist()


def test_test_label_errors_of_images_name_their_files(image_run, capsys):
    lab, run_id, cfg, moved = image_run
    assert main(["label-issues", run_id, "--json", "--store", str(lab.store.root)]) == 0
    said = json.loads(capsys.readouterr().out)
    files = load_dataset(cfg).files
    assert said["issues"], "the moved light images in the dark folder are flagged"
    assert all(i["file"] == files[i["index"]] for i in said["issues"])
    assert {i["file"] for i in said["issues"]} <= moved
    assert main(["label-issues", run_id, "--store", str(lab.store.root)]) == 0
    printed = capsys.readouterr().out
    assert all(i["file"] in printed for i in said["issues"])
    res = lab.store.folder(run_id).read_results()
    first = int(label_report(lab.store, run_id).issues.order[0])
    assert example_number(res, first) == said["issues"][0]["file"]  # the galleries' caption names the file too


@pytest.mark.slow
def test_training_label_errors_of_images_name_their_files(image_run, capsys):
    lab, run_id, cfg, moved = image_run
    assert lab.check_labels(run_id, folds=2).status == "finished"
    report = label_report(lab.store, run_id, "train")
    files = load_dataset(cfg).files
    assert report.files.tolist() == files[report.index].tolist()
    assert [r["file"] for r in report.rows()] == [report.name(int(p)) for p in report.issues.order]


def test_the_training_checks_bar_gives_one_time_left(capsys):
    """The bar showed tqdm's estimate from its share of 100 ('16/100 [00:05<00:23') beside the check's own
    ('about 8 s left'): two times left that disagreed; it now shows the check's alone."""
    from nnlab.cli.labels import _check_here
    from nnlab.engine.kfold import CheckProgress

    class Checking:
        def check_labels(self, run_id, folds, show, stop):
            show(CheckProgress(2, folds, 0.46, 5.0, 75.0))  # the bar draws it as it closes
            return "ended"

    assert _check_here(Checking(), "r", 5, quiet=False) == "ended"
    err = capsys.readouterr().err
    assert "about 1 min 15 s left" in err and "fold 3/5" in err
    assert "<" not in err and "/100" not in err and "%/s" not in err  # no second estimate, no count of a share
