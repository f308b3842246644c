"""MNIST, Fashion-MNIST, CIFAR-10 and IMDB from small files in their real formats, never the network."""

from __future__ import annotations

import gzip
import json
import pickle
import re
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

from nnlab.cli.main import main
from nnlab.core.errors import DataError
from nnlab.data import load_dataset, standard
from nnlab.data.cache import read_cache
from nnlab.data.prep import IMAGENET_MEAN
from nnlab.data.registry import make_config
from nnlab.data.synthetic import write_idx
from nnlab.store.runs import RunStore

# --- writers of the real formats (also used to check the command line by hand) -----------------------


def digit_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n real handwritten digits (scikit-learn's 8x8) scaled up to MNIST's 28x28 uint8, and their labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    idx = np.random.default_rng(seed).integers(0, len(d.target), n)
    big = np.kron(d.images[idx], np.ones((3, 3))) * 15.9  # (n, 24, 24) in 0..255
    return np.pad(big, ((0, 0), (2, 2), (2, 2))).astype(np.uint8), d.target[idx]


def template_images(n: int, shape: tuple[int, ...], seed: int, classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """n uint8 images of `shape`: one fixed random blotchy template per class plus per-image noise."""
    rng = np.random.default_rng(1000)  # the same templates for train and test
    coarse = rng.random((classes, *shape[:-2], shape[-2] // 4, shape[-1] // 4))
    templates = np.kron(coarse, np.ones((4, 4))) * 200
    r = np.random.default_rng(seed)
    labels = r.integers(0, classes, n)
    noisy = templates[labels] + r.normal(0, 40, (n, *shape))
    return np.clip(noisy, 0, 255).astype(np.uint8), labels


def write_mnist(
    root: Path, folder: str = "MNIST", n_train: int = 600, n_test: int = 200, gz: bool = False, fashion: bool = False
) -> Path:
    """root/<folder>/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] with learnable content."""
    raw = root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, n, seed in (("train", n_train, 1), ("t10k", n_test, 2)):
        x, y = template_images(n, (28, 28), seed) if fashion else digit_images(n, seed)
        for kind, arr in (("images-idx3", x), ("labels-idx1", y)):
            path = raw / f"{prefix}-{kind}-ubyte"
            write_idx(path, arr)
            if gz:
                path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes()))
                path.unlink()
    return raw


def write_cifar(root: Path, per_batch: int = 100, n_test: int = 200) -> Path:
    """root/cifar-10-batches-py with five data batches, a test batch and batches.meta (pickled dicts)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for seed, name in enumerate(names):
        x, y = template_images(n_test if name == "test_batch" else per_batch, (3, 32, 32), seed)
        entry = {
            "batch_label": name,
            "labels": y.tolist(),
            "data": x.reshape(len(x), -1),
            "filenames": [f"{i}.png" for i in range(len(x))],
        }
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
    meta = {
        "label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
        "num_vis": 3072,
    }
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return folder


POS_WORDS = ["great", "wonderful", "superb", "moving", "brilliant"]
NEG_WORDS = ["awful", "boring", "dull", "tedious", "terrible"]
FILLER = ["the", "film", "plot", "actors", "scenes", "story", "director", "music", "it", "was", "and", "a", "of"]


def review(label: int, rng: np.random.Generator, extra: str = "") -> str:
    """A short review whose sentiment words give its label, with punctuation and HTML breaks."""
    words = list(rng.choice(FILLER, 12)) + list(rng.choice(POS_WORDS if label else NEG_WORDS, 3))
    rng.shuffle(words)
    return f"{' '.join(words[:8]).capitalize()}!<br /><br />{' '.join(words[8:])}, {extra}really."


def write_aclimdb(root: Path, per_side: int = 150, test_only_word: str = "") -> Path:
    """root/aclImdb/{train,test}/{pos,neg}/<id>_<stars>.txt as in aclImdb_v1.tar.gz."""
    rng = np.random.default_rng(7)
    for half in ("train", "test"):
        for label, side in ((1, "pos"), (0, "neg")):
            folder = root / "aclImdb" / half / side
            folder.mkdir(parents=True, exist_ok=True)
            extra = f"{test_only_word} " if half == "test" else ""
            for i in range(per_side):
                stars = 8 if label else 2
                (folder / f"{i}_{stars}.txt").write_text(review(label, rng, extra), encoding="utf-8")
    return root / "aclImdb"


# --- fixtures and helpers ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every download attempt fails at once, as on a machine without network."""

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture(autouse=True)
def keep_threads():
    """The command line sets torch's thread count; give the next test the count it had."""
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def train(tmp_path: Path, capsys, *args: str) -> dict:
    """Run `python -m nnlab train ... --json` in-process; the JSON summary."""
    code = main(["train", *args, "--epochs", "3", "--threads", "1", "--json", "--store", str(tmp_path / "ws")])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out.strip().splitlines()[-1])


def forbid_download(monkeypatch) -> None:
    """Make any torchvision download attempt fail the test."""
    import torchvision.datasets.mnist as tv_mnist
    import torchvision.datasets.utils as tv_utils

    def boom(*args, **kwargs):
        raise AssertionError("a download was attempted although the files are there")

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", boom)
    monkeypatch.setattr(tv_utils, "download_url", boom)


# --- MNIST and Fashion-MNIST ---------------------------------------------------------------------------


def test_mnist_folder_trains_from_the_command_line_without_a_download(tmp_path, capsys, monkeypatch):
    write_mnist(tmp_path / "data")
    forbid_download(monkeypatch)
    s = train(tmp_path, capsys, "--arch", "mlp", "--dataset", "mnist", "--data-root", str(tmp_path / "data"))
    assert s["status"] == "finished" and s["epochs"] == 3
    assert s["test_accuracy"] > 0.6  # chance is 0.1


def test_mnist_uses_its_own_test_split_and_digit_class_names(tmp_path, monkeypatch):
    write_mnist(tmp_path, n_train=300, n_test=120)
    forbid_download(monkeypatch)
    ds = load_dataset(make_config("cnn", dataset="mnist", data_root=str(tmp_path)))
    assert len(ds.test) == 120 and len(ds.train) + len(ds.val) == 300
    assert ds.classes == [str(d) for d in range(10)]
    assert tuple(ds.train.x.shape[1:]) == (1, 28, 28) and ds.facts.input_shape == (1, 28, 28)


@pytest.mark.slow
def test_fashion_mnist_from_gz_files_trains_with_a_cnn(tmp_path, capsys, monkeypatch):
    write_mnist(tmp_path / "data", folder="FashionMNIST", n_train=400, n_test=150, gz=True, fashion=True)
    forbid_download(monkeypatch)
    s = train(
        tmp_path,
        capsys,
        "--arch",
        "cnn",
        "--dataset",
        "fashion-mnist",
        "--data-root",
        str(tmp_path / "data"),
        "--hidden",
        "32",
        "--batch-size",
        "32",
    )
    assert s["test_accuracy"] > 0.6


def test_fashion_mnist_keeps_torchvision_class_names(tmp_path):
    write_mnist(tmp_path, folder="FashionMNIST", n_train=200, n_test=60, fashion=True)
    ds = load_dataset(make_config("mlp", dataset="fashion-mnist", data_root=str(tmp_path)))
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"


@pytest.mark.parametrize("named", ["root", "MNIST", "MNIST/raw"])
def test_data_root_may_name_torchvisions_folder_or_its_parent(tmp_path, named):
    write_mnist(tmp_path, n_train=100, n_test=40)
    root = tmp_path if named == "root" else tmp_path / named
    assert len(load_dataset(make_config("mlp", dataset="mnist", data_root=str(root))).test) == 40


def test_missing_mnist_without_network_says_which_files_to_put_where(tmp_path):
    cfg = make_config("mlp", dataset="mnist", data_root=str(tmp_path))
    with pytest.raises(DataError) as err:
        load_dataset(cfg)
    msg = str(err.value)
    assert "train-images-idx3-ubyte" in msg and str(tmp_path / "MNIST" / "raw") in msg
    assert "\n" not in msg and "Traceback" not in msg


def test_missing_mnist_on_the_command_line_is_refused_in_one_sentence_before_a_run(tmp_path, capsys):
    code = main(
        [
            "train",
            "--arch",
            "mlp",
            "--dataset",
            "mnist",
            "--data-root",
            str(tmp_path / "none"),
            "--epochs",
            "1",
            "--json",
            "--store",
            str(tmp_path / "ws"),
        ]
    )
    out = capsys.readouterr()
    assert code == 2 and out.out == "" and out.err.count("\n") == 1 and "t10k-labels-idx1-ubyte" in out.err
    assert RunStore(tmp_path / "ws").list() == []  # refused before a run was created


def test_default_data_folder_is_in_the_workspace(tmp_path, workspace):
    write_mnist(workspace / "data", n_train=200, n_test=60)
    ds = load_dataset(make_config("mlp", dataset="mnist"))
    assert len(ds.test) == 60


def test_a_corrupt_idx_file_is_refused_in_one_sentence(tmp_path):
    raw = write_mnist(tmp_path, n_train=100, n_test=50)
    (raw / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x09garbage")
    with pytest.raises(DataError, match="could not be read"):
        load_dataset(make_config("mlp", dataset="mnist", data_root=str(tmp_path)))


def test_images_and_labels_of_different_lengths_are_refused(tmp_path):
    raw = write_mnist(tmp_path, n_train=100, n_test=50)
    write_idx(raw / "train-labels-idx1-ubyte", np.zeros(90, np.uint8))
    with pytest.raises(DataError, match="100 images but 90 labels"):
        load_dataset(make_config("mlp", dataset="mnist", data_root=str(tmp_path)))


# --- CIFAR-10 ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_cifar10_batches_train_a_cnn_from_the_command_line(tmp_path, capsys, monkeypatch):
    write_cifar(tmp_path / "data", per_batch=80, n_test=150)
    forbid_download(monkeypatch)
    s = train(
        tmp_path,
        capsys,
        "--arch",
        "cnn",
        "--dataset",
        "cifar10",
        "--data-root",
        str(tmp_path / "data"),
        "--hidden",
        "32",
        "--batch-size",
        "32",
    )
    assert s["test_accuracy"] > 0.6


def test_cifar10_reads_class_names_and_keeps_the_test_batch(tmp_path):
    write_cifar(tmp_path, per_batch=20, n_test=40)
    ds = load_dataset(make_config("mlp", dataset="cifar10", data_root=str(tmp_path)))
    assert ds.classes[0] == "airplane" and len(ds.test) == 40 and len(ds.train) + len(ds.val) == 100
    assert tuple(ds.test.x.shape[1:]) == (3, 32, 32)


class _Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_cifar_batch_carrying_code_is_refused_without_running_it(tmp_path):
    folder = write_cifar(tmp_path, per_batch=20, n_test=40)
    marker = tmp_path / "pwned"
    (folder / "data_batch_3").write_bytes(pickle.dumps({"data": _Evil(marker), "labels": [0]}, protocol=2))
    with pytest.raises(DataError, match="data_batch_3 could not be read safely"):
        load_dataset(make_config("mlp", dataset="cifar10", data_root=str(tmp_path)))
    assert not marker.exists()


def test_missing_cifar_without_network_names_the_files(tmp_path):
    with pytest.raises(DataError) as err:
        load_dataset(make_config("cnn", dataset="cifar10", data_root=str(tmp_path)))
    assert "test_batch" in str(err.value) and "cifar-10-batches-py" in str(err.value)


def test_an_incomplete_cifar_folder_names_what_is_missing(tmp_path):
    folder = write_cifar(tmp_path, per_batch=10, n_test=20)
    (folder / "data_batch_4").unlink()
    with pytest.raises(DataError, match="lacks data_batch_4"):
        load_dataset(make_config("cnn", dataset="cifar10", data_root=str(tmp_path)))


def test_pretrained_resnet_on_mnist_uses_imagenet_normalisation_at_224(tmp_path):
    write_mnist(tmp_path, n_train=100, n_test=30)
    ds = load_dataset(make_config("resnet18", dataset="mnist", data_root=str(tmp_path)))
    assert ds.facts.scaler.mean == IMAGENET_MEAN and ds.facts.image_size == 224
    assert ds.facts.input_shape == (3, 224, 224)


# --- IMDB ----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_aclimdb_folder_trains_an_lstm_from_the_command_line(tmp_path, capsys):
    write_aclimdb(tmp_path / "data")
    s = train(
        tmp_path,
        capsys,
        "--arch",
        "lstm",
        "--dataset",
        "imdb",
        "--data-root",
        str(tmp_path / "data"),
        "--hidden",
        "32",
        "--max-len",
        "40",
        "--batch-size",
        "32",
    )
    assert s["test_accuracy"] > 0.75


def test_imdb_vocabulary_comes_from_the_training_half_only(tmp_path):
    write_aclimdb(tmp_path, per_side=20, test_only_word="zanzibar")
    ds = load_dataset(make_config("lstm", dataset="imdb", data_root=str(tmp_path), max_len=30))
    vocab = ds.facts.vocab
    assert "zanzibar" not in vocab and vocab[:2] == ("<pad>", "<unk>")
    assert "br" not in vocab and "!" in vocab  # HTML breaks dropped, punctuation split off
    assert len(ds.test) == 40 and ds.test.lengths is not None
    assert int(ds.test.lengths.max()) <= 30 and int(ds.test.lengths.min()) >= 1


def test_data_root_may_name_the_aclimdb_folder_itself(tmp_path):
    base = write_aclimdb(tmp_path, per_side=10)
    ds = load_dataset(make_config("lstm", dataset="imdb", data_root=str(base), max_len=30))
    assert len(ds.test) == 20


def test_missing_imdb_without_network_says_where_to_unpack_the_archive(tmp_path):
    with pytest.raises(DataError) as err:
        load_dataset(make_config("lstm", dataset="imdb", data_root=str(tmp_path)))
    assert "aclImdb_v1.tar.gz" in str(err.value) and str(tmp_path) in str(err.value)


def _fake_download(archive: Path):
    def download_url(url, root, filename=None, md5=None):
        assert url.endswith("aclImdb_v1.tar.gz") and md5
        Path(root).mkdir(parents=True, exist_ok=True)
        Path(root, filename).write_bytes(archive.read_bytes())

    return download_url


def _imdb_tarball(tmp_path: Path, evil: tarfile.TarInfo | None = None) -> Path:
    write_aclimdb(tmp_path / "src", per_side=10)
    (tmp_path / "src" / "aclImdb" / "train" / "unsup").mkdir()
    (tmp_path / "src" / "aclImdb" / "train" / "unsup" / "0_0.txt").write_text("unlabelled")
    archive = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "aclImdb", arcname="aclImdb")
        if evil is not None:
            tar.addfile(evil)
    return archive


def test_downloaded_imdb_archive_is_extracted_safely_keeping_labelled_reviews(tmp_path, monkeypatch):
    import torchvision.datasets.utils as tv_utils

    monkeypatch.setattr(tv_utils, "download_url", _fake_download(_imdb_tarball(tmp_path)))
    root = tmp_path / "data"
    ds = load_dataset(make_config("lstm", dataset="imdb", data_root=str(root), max_len=30))
    assert len(ds.test) == 20 and (root / "aclImdb" / "test" / "pos").is_dir()
    assert not (root / "aclImdb" / "train" / "unsup").exists()


def test_a_downloaded_archive_with_a_link_is_not_extracted(tmp_path, monkeypatch):
    import torchvision.datasets.utils as tv_utils

    link = tarfile.TarInfo("aclImdb/train/pos/link.txt")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    monkeypatch.setattr(tv_utils, "download_url", _fake_download(_imdb_tarball(tmp_path, link)))
    with pytest.raises(DataError, match="link"):
        load_dataset(make_config("lstm", dataset="imdb", data_root=str(tmp_path / "data")))
    assert not (tmp_path / "data" / "aclImdb").exists()


def test_architecture_that_does_not_fit_a_standard_set_is_refused(tmp_path, capsys):
    code = main(["train", "--arch", "lstm", "--dataset", "mnist", "--store", str(tmp_path / "ws")])
    err = capsys.readouterr().err
    assert code == 2 and "does not fit dataset mnist" in err and "Traceback" not in err


# --- the decoded cache ---------------------------------------------------------------------------------


def test_the_second_load_reads_the_decoded_cache_without_torchvision(tmp_path, monkeypatch):
    write_mnist(tmp_path, n_train=120, n_test=40)
    cfg = make_config("mlp", dataset="mnist", data_root=str(tmp_path))
    first = load_dataset(cfg)
    assert (tmp_path / "MNIST" / standard.DECODED_CACHE).is_file()

    def no_decoding(*args):
        raise AssertionError("the IDX files were decoded again although the cache is fresh")

    monkeypatch.setattr(standard, "_decode_mnist", no_decoding)
    again = load_dataset(cfg)
    assert torch.equal(first.train.x, again.train.x) and torch.equal(first.test.y, again.test.y)


def test_a_replaced_raw_file_is_decoded_again_not_read_from_the_cache(tmp_path):
    raw = write_mnist(tmp_path, n_train=120, n_test=40)
    cfg = make_config("mlp", dataset="mnist", data_root=str(tmp_path))
    assert len(load_dataset(cfg).test) == 40
    x, y = digit_images(30, seed=5)
    write_idx(raw / "t10k-images-idx3-ubyte", x)
    write_idx(raw / "t10k-labels-idx1-ubyte", y)
    test = load_dataset(cfg).test
    assert len(test) == 30 and torch.equal(test.y, torch.from_numpy(y.astype(np.int64)))


def test_a_damaged_cache_is_decoded_again_and_replaced(tmp_path):
    write_mnist(tmp_path, n_train=120, n_test=40)
    cfg = make_config("mlp", dataset="mnist", data_root=str(tmp_path))
    expected = load_dataset(cfg).test.y
    cache = tmp_path / "MNIST" / standard.DECODED_CACHE
    cache.write_bytes(cache.read_bytes()[:1000])
    assert torch.equal(load_dataset(cfg).test.y, expected)
    assert read_cache(cache, [cache.parent / "raw" / n for n in standard.MNIST_FILES]) is not None


@pytest.mark.parametrize(("arch", "dataset"), [("mlp", "mnist"), ("cnn", "cifar10"), ("lstm", "imdb")])
def test_a_failed_download_is_said_in_words_not_by_pythons_name_for_it(tmp_path, arch, dataset):
    """Without network, MNIST said 'could not be downloaded (RuntimeError: Error downloading
    train-images-idx3-ubyte.gz)', CIFAR-10 and IMDB '(URLError: <urlopen error no network in tests>)'."""
    with pytest.raises(DataError) as err:
        load_dataset(make_config(arch, dataset=dataset, data_root=str(tmp_path)))
    msg = str(err.value)
    assert "could not be downloaded (its server could not be reached)" in msg, msg
    assert not re.search(r"\b[A-Z]\w*Error\b|urlopen", msg), msg
