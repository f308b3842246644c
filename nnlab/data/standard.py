"""Standard datasets the standard way: MNIST, Fashion-MNIST and CIFAR-10 through torchvision, IMDB reviews
in the aclImdb layout; read from a folder, downloaded there only when the files are missing."""

from __future__ import annotations

import contextlib
import gzip
import pickle
import re
import shutil
import sys
import urllib.error
from pathlib import Path

import numpy as np

from nnlab.core.config import RunConfig
from nnlab.core.errors import DataError
from nnlab.data.archive import safe_extract
from nnlab.data.base import Dataset, DatasetSpec, register
from nnlab.data.cache import cached
from nnlab.data.prep import image_dataset, text_dataset

DECODED_CACHE = "nnlab-decoded.pt"  # beside raw/: the decoded arrays (nnlab.data.cache)
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# torchvision's FashionMNIST.classes, without importing torchvision when the decoded cache is read
FASHION_CLASSES = tuple("T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot".split(","))
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_MD5 = "7c2ac02c03563afcf9b574c7e56c153a"
_IMDB_MEMBER = re.compile(r"aclImdb/(train|test)/(pos|neg)/[^/]+\.txt")
_NETWORK_ERRORS = (urllib.error.URLError, OSError, RuntimeError, TimeoutError)
MAX_GUNZIP_BYTES = 1 << 30


def data_root(cfg: RunConfig) -> Path:
    """cfg.data_root, or the workspace's data folder (torchvision's `root`)."""
    from nnlab.store.runs import default_home

    return Path(cfg.data_root).expanduser() if cfg.data_root else default_home() / "data"


@contextlib.contextmanager
def _quiet_stdout():
    """torchvision prints download progress on stdout; keep stdout for the command line's JSON line."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


# --- MNIST and Fashion-MNIST ---------------------------------------------------------------------


def _gunzip_waiting(raw: Path) -> None:
    """Unpack train-images-idx3-ubyte.gz and the like when only the .gz of a file is there."""
    for name in MNIST_FILES:
        packed, plain = raw / f"{name}.gz", raw / name
        if plain.exists() or not packed.is_file():
            continue
        tmp = plain.with_name(f".{name}.tmp")
        try:
            with gzip.open(packed, "rb") as src, open(tmp, "wb") as out:
                while chunk := src.read(1 << 20):
                    if out.tell() + len(chunk) > MAX_GUNZIP_BYTES:
                        raise DataError(f"{packed} unpacks to more than 1 GB; it is not an MNIST file.")
                    out.write(chunk)
            tmp.replace(plain)
        except (OSError, EOFError) as exc:
            raise DataError(
                f"{packed} is not a readable gzip file ({type(exc).__name__}); "
                "download it again or put the unpacked file beside it."
            ) from None
        finally:
            tmp.unlink(missing_ok=True)


def torchvision_root(root: Path, name: str) -> Path:
    """torchvision's root, also when the user named ROOT/MNIST or ROOT/MNIST/raw instead of ROOT."""
    if root.name == "raw" and root.parent.name == name:
        return root.parent.parent
    if root.name == name and (root / "raw").is_dir():
        return root.parent
    return root


def _mnist_arrays(name: str, root: Path, title: str) -> tuple[np.ndarray, ...]:
    """(train images, train labels, test images, test labels), uint8 (N, 1, 28, 28): decoded by torchvision's
    class `name` once, then read from the folder's cache of the decoded arrays while the raw files stay the same."""
    root = torchvision_root(root, name)
    raw = root / name / "raw"
    _gunzip_waiting(raw)
    files = [raw / n for n in MNIST_FILES]
    decode = lambda: _decode_mnist(name, root, raw, title)  # noqa: E731
    a = cached(raw.parent / DECODED_CACHE, files, decode) if all(f.is_file() for f in files) else decode()
    arrays = [a["x"], a["y"], a["test_x"], a["test_y"]]
    _check_pairs(arrays, 10, title, str(raw))
    return tuple(arrays)


def _decode_mnist(name: str, root: Path, raw: Path, title: str) -> dict[str, np.ndarray]:
    """The IDX files read by torchvision (downloaded first where they are missing)."""
    import torchvision.datasets

    cls = getattr(torchvision.datasets, name)
    present = all((raw / n).is_file() for n in MNIST_FILES)
    try:
        with _quiet_stdout():
            train = cls(str(root), train=True, download=not present)
            test = cls(str(root), train=False, download=False)
    except _NETWORK_ERRORS as exc:
        if present or all((raw / n).is_file() for n in MNIST_FILES):
            raise _unreadable(title, raw, exc) from None
        raise DataError(
            f"{title} is not in {raw} and could not be downloaded ({_short(exc)}); put "
            f"{', '.join(MNIST_FILES)} (or their .gz files) into {raw}, or connect to the network."
        ) from None
    except (AssertionError, TypeError, ValueError) as exc:
        raise _unreadable(title, raw, exc) from None
    return {
        "x": train.data.numpy()[:, None],
        "y": train.targets.numpy(),
        "test_x": test.data.numpy()[:, None],
        "test_y": test.targets.numpy(),
    }


def _unreadable(title: str, folder: Path, exc: Exception) -> DataError:
    """The files are not the dataset's: the kind of error only (a reader's message may quote the file)."""
    return DataError(
        f"The {title} files in {folder} could not be read ({type(exc).__name__}); replace them with the original files."
    )


def _short(exc: Exception) -> str:
    """Why a download failed, in words (never a file's: see _unreadable), not by Python's name for the error."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"its server answered {exc.code} {exc.reason}".rstrip()
    unreached = isinstance(exc, RuntimeError) and str(exc).startswith("Error downloading")  # torchvision's mirrors
    if unreached or isinstance(exc, (urllib.error.URLError, TimeoutError)):
        return "its server could not be reached"
    if isinstance(exc, OSError):
        return f"it could not be saved: {exc.strerror}" if exc.strerror else "it could not be saved"
    if isinstance(exc, RuntimeError) and "corrupted" in str(exc):  # torchvision's md5 check
        return "the file downloaded was not the one expected (its checksum differs)"
    return (str(exc).strip().splitlines() or [""])[0][:120].rstrip(":. ") or "the download failed"


def _check_pairs(arrays: list[np.ndarray], classes: int, title: str, where: str) -> None:
    """Images and labels of the same length, labels within the classes."""
    for images, labels in (arrays[:2], arrays[2:]):
        if len(images) != len(labels) or len(labels) == 0:
            raise DataError(
                f"The {title} files in {where} hold {len(images)} images but {len(labels)} labels; "
                "replace them with the original files."
            )
        if labels.min() < 0 or labels.max() >= classes:
            raise DataError(
                f"The {title} labels in {where} go outside 0 to {classes - 1}; replace them with the original files."
            )


def load_mnist(cfg: RunConfig) -> Dataset:
    """MNIST handwritten digits through torchvision; its own 10,000-image test split is the test split."""
    x, y, tx, ty = _mnist_arrays("MNIST", data_root(cfg), "MNIST")
    return image_dataset("mnist", x, y, [str(d) for d in range(10)], cfg, tx, ty)


def load_fashion_mnist(cfg: RunConfig) -> Dataset:
    """Fashion-MNIST through torchvision; its own 10,000-image test split is the test split."""
    x, y, tx, ty = _mnist_arrays("FashionMNIST", data_root(cfg), "Fashion-MNIST")
    return image_dataset("fashion-mnist", x, y, list(FASHION_CLASSES), cfg, tx, ty)


# --- CIFAR-10 ------------------------------------------------------------------------------------


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings, numbers and numpy arrays only; any other global is refused,
    so a batch file carrying code cannot run it."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR batch")


def read_cifar_batch(path: Path) -> dict:
    """One CIFAR python batch (a pickled dict) read with the restricted unpickler; str keys."""
    try:
        with open(path, "rb") as f:
            entry = _ArrayUnpickler(f, encoding="latin1").load()
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        ImportError,
        IndexError,
        KeyError,
        OSError,
    ) as exc:
        raise DataError(
            f"CIFAR-10 batch {path} could not be read safely ({type(exc).__name__}); "
            "replace it with the original file from cifar-10-python.tar.gz."
        ) from None
    if not isinstance(entry, dict):
        raise DataError(f"CIFAR-10 batch {path} holds no dict; replace it with the original file.")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in entry.items()}


def _cifar_images(path: Path) -> tuple[np.ndarray, np.ndarray]:
    entry = read_cifar_batch(path)
    data, labels = entry.get("data"), entry.get("labels")
    ok = isinstance(data, np.ndarray) and data.ndim == 2 and data.shape[1] == 3072 and labels is not None
    if not ok or len(labels) != len(data):
        raise DataError(
            f"CIFAR-10 batch {path} lacks 'data' (N x 3072) or matching 'labels'; replace it with the original file."
        )
    return data.astype(np.uint8).reshape(-1, 3, 32, 32), np.asarray(labels, dtype=np.int64)


def _download_cifar(root: Path, folder: Path) -> None:
    """torchvision's CIFAR-10 archive, checked against its md5, then extracted with our checks."""
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import download_url

    try:
        with _quiet_stdout():
            download_url(CIFAR10.url, str(root), filename=CIFAR10.filename, md5=CIFAR10.tgz_md5)
    except _NETWORK_ERRORS as exc:
        raise DataError(
            f"CIFAR-10 is not in {folder} and could not be downloaded ({_short(exc)}); put "
            f"{', '.join(CIFAR_TRAIN)}, test_batch and batches.meta into {folder} (unpack "
            f"{CIFAR10.filename} into {root}), or connect to the network."
        ) from None
    staging = root / ".cifar-extract"
    shutil.rmtree(staging, ignore_errors=True)
    safe_extract(root / CIFAR10.filename, staging, keep=lambda n: n.startswith(f"{CIFAR_FOLDER}/"))
    (staging / CIFAR_FOLDER).replace(folder)
    shutil.rmtree(staging, ignore_errors=True)


def load_cifar10(cfg: RunConfig) -> Dataset:
    """CIFAR-10 (torchvision's python batches); test_batch is the test split."""
    root = data_root(cfg)
    folder = root / CIFAR_FOLDER
    if not folder.exists():
        _download_cifar(root, folder)
    missing = [n for n in (*CIFAR_TRAIN, "test_batch") if not (folder / n).is_file()]
    if missing:
        raise DataError(
            f"CIFAR-10 folder {folder} lacks {', '.join(missing)}; put the files of "
            "cifar-10-python.tar.gz there (or remove the folder to download it again)."
        )
    parts = [_cifar_images(folder / n) for n in CIFAR_TRAIN]
    x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    tx, ty = _cifar_images(folder / "test_batch")
    _check_pairs([x, y, tx, ty], 10, "CIFAR-10", str(folder))
    return image_dataset("cifar10", x, y, _cifar_classes(folder), cfg, tx, ty)


def _cifar_classes(folder: Path) -> list[str]:
    meta = folder / "batches.meta"
    if not meta.is_file():
        return list(CIFAR_CLASSES)
    names = read_cifar_batch(meta).get("label_names")
    if not isinstance(names, list) or len(names) != 10:
        return list(CIFAR_CLASSES)
    return [n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names]


# --- IMDB reviews --------------------------------------------------------------------------------


def _imdb_folder(root: Path) -> Path:
    """root/aclImdb, or root itself when the user named the aclImdb folder."""
    if not (root / "aclImdb").is_dir() and (root / "train" / "pos").is_dir():
        return root
    return root / "aclImdb"


def _imdb_present(base: Path) -> bool:
    return all((base / half / side).is_dir() for half in ("train", "test") for side in ("pos", "neg"))


def _download_imdb(root: Path, base: Path) -> None:
    """The canonical aclImdb_v1.tar.gz (md5-checked), extracted safely; only the labelled reviews."""
    from torchvision.datasets.utils import download_url

    name = IMDB_URL.rsplit("/", 1)[1]
    try:
        with _quiet_stdout():
            download_url(IMDB_URL, str(root), filename=name, md5=IMDB_MD5)
    except _NETWORK_ERRORS as exc:
        raise DataError(
            f"IMDB reviews are not in {base} and could not be downloaded ({_short(exc)}); download "
            f"{IMDB_URL} and unpack it into {root} (giving {base}/train/pos/*.txt and so on), or connect "
            "to the network."
        ) from None
    staging = root / ".aclImdb-extract"
    shutil.rmtree(staging, ignore_errors=True)
    safe_extract(root / name, staging, keep=lambda n: bool(_IMDB_MEMBER.fullmatch(n)) or n == "aclImdb")
    (staging / "aclImdb").replace(base)
    shutil.rmtree(staging, ignore_errors=True)


def read_imdb_half(folder: Path) -> tuple[list[str], np.ndarray]:
    """Texts and labels (neg 0, pos 1) of aclImdb/train or aclImdb/test, in file-name order."""
    texts, labels = [], []
    for label, side in enumerate(("neg", "pos")):
        for f in sorted((folder / side).glob("*.txt")):
            texts.append(f.read_text(encoding="utf-8", errors="replace"))
            labels.append(label)
    if not texts:
        raise DataError(f"{folder} holds no reviews; it needs pos/*.txt and neg/*.txt as in aclImdb_v1.tar.gz.")
    return texts, np.array(labels, dtype=np.int64)


def load_imdb(cfg: RunConfig) -> Dataset:
    """IMDB movie reviews (aclImdb): train half split into train and validation, test half for the report."""
    root = data_root(cfg)
    base = _imdb_folder(root)
    if not base.exists():
        _download_imdb(root, base)
    if not _imdb_present(base):
        raise DataError(
            f"IMDB folder {base} lacks train/pos, train/neg, test/pos or test/neg; unpack "
            "aclImdb_v1.tar.gz there whole (or remove the folder to download it again)."
        )
    texts, labels = read_imdb_half(base / "train")
    test_texts, test_labels = read_imdb_half(base / "test")
    return text_dataset("imdb", texts, labels, ["negative", "positive"], cfg, test_texts, test_labels)


_ROOT_HELP = "Read from the data folder you name (torchvision's root), downloaded there if missing."
for _spec in [
    DatasetSpec(
        "mnist",
        "MNIST digits (torchvision)",
        "image",
        load_mnist,
        "70,000 28x28 grey handwritten digits; 10,000 are the standard test split. " + _ROOT_HELP,
        needs="data_root",
    ),
    DatasetSpec(
        "fashion-mnist",
        "Fashion-MNIST (torchvision)",
        "image",
        load_fashion_mnist,
        "70,000 28x28 grey images of 10 kinds of clothing; 10,000 are the test split. " + _ROOT_HELP,
        needs="data_root",
    ),
    DatasetSpec(
        "cifar10",
        "CIFAR-10 (torchvision)",
        "image",
        load_cifar10,
        "60,000 32x32 colour images of 10 classes; 10,000 are the test split. " + _ROOT_HELP,
        needs="data_root",
    ),
    DatasetSpec(
        "imdb",
        "IMDB movie reviews (aclImdb)",
        "text",
        load_imdb,
        "50,000 labelled reviews, half for training, half for the test report (aclImdb layout). " + _ROOT_HELP,
        needs="data_root",
    ),
]:
    register(_spec)
