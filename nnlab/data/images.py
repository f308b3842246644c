"""The user's images: a zip (or tar) or a folder holding one folder per class, for cnn and resnet18."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnlab.core.config import RunConfig
from nnlab.core.errors import DataError
from nnlab.core.findings import Finding, info, warning
from nnlab.core.limits import DATA_ENV, max_data_bytes, size_text
from nnlab.core.text import and_list, plural
from nnlab.data.archive import extract_cached, is_archive
from nnlab.data.base import Dataset, DatasetSpec, register
from nnlab.data.csvfile import user_path
from nnlab.data.prep import image_dataset
from nnlab.models import inputs_of
from nnlab.store.space import UNPACKED

MIN_PER_CLASS = 5
MAX_IMAGES = 200_000
MAX_LISTED = MAX_IMAGES + 10_000  # files and folders looked through for a data folder's images (a path of / once
# walked the whole filesystem for 13 s): room for the most images nnlab keeps and the folders holding them
_SKIP = ("__MACOSX", ".")


SIZE_SAMPLE = 200  # files whose headers tell the images' own size
IMAGE_TYPES = ("png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff")  # the files a model is tried on: those
# photos and scans come in (the loader reads whatever PIL reads), as the exported predict.py takes them


@dataclass(frozen=True)
class Sizes:
    """What the headers of a sample of the files say: the median short side, its range, whether all are grey, and
    the median width and height (the loader keeps each image's centred square)."""

    side: int
    low: int
    high: int
    grey: bool
    width: int = 0
    height: int = 0
    square: bool = True  # every file sampled is square
    alike: bool = True  # every file sampled has one size (width and height)


def image_sizes(dirs: list[Path]) -> Sizes | None:
    """The sizes of up to SIZE_SAMPLE image files spread over the class folders, read from their headers only; None
    when none can be read."""
    from PIL import Image

    files = [f for listed in image_files(dirs, "The data folder") for f in listed]
    sides, shapes, grey = [], [], True
    for f in files[:: max(1, len(files) // SIZE_SAMPLE)][:SIZE_SAMPLE]:
        try:
            with Image.open(f) as im:
                shapes.append(_upright_size(im))  # (width, height)
                sides.append(min(im.size))
                grey = grey and im.mode in ("1", "L", "LA", "I", "I;16", "F")
        except Exception:  # not an image: the loader skips and counts it
            continue
    if not sides:
        return None
    width, height = np.median(np.array(shapes), axis=0).astype(int)
    square = all(w == h for w, h in shapes)
    alike = len(set(shapes)) == 1
    return Sizes(int(np.median(sides)), min(sides), max(sides), grey, int(width), int(height), square, alike)


def _upright_size(im: Any) -> tuple[int, int]:
    """(width, height) as the loader sees the image, turned upright by its EXIF orientation (a phone's portrait photo
    is stored 4000x3000 with orientation 6); read from the header (a PNG's EXIF only where it precedes the pixels)."""
    exif = im.getexif() if im.format != "PNG" or "exif" in im.info else {}
    width, height = im.size
    return (height, width) if exif.get(0x0112) in (5, 6, 7, 8) else (width, height)


def load_size(cfg: RunConfig, sizes: Sizes | None = None) -> int:
    """The side images are resized to when loaded: cfg.image_size, else their own (median) side kept between the
    architecture's smallest and its load size (8x8 digits train at 8x8 on the CNN, not upscaled to 64)."""
    if cfg.image_size:
        return cfg.image_size
    inputs = inputs_of(cfg.arch)
    top = inputs.load_size or 64
    return top if sizes is None else max(inputs.min_size, min(top, sizes.side))


def size_finding(cfg: RunConfig, sizes: Sizes | None, loaded: int, trained: int, source: str) -> Finding:
    """What the images are and the size nnlab trains them at, and why."""
    if sizes is None:
        return info("images", f"nnlab trains the images of {source} at {trained}x{trained} pixels.")
    seen = f"The images of {source} {_shapes(sizes)}, {'grey' if sizes.grey else 'in colour'}"
    # the loader keeps each image's centred square (ImageOps.fit): the ends of a longer side never reach the model
    does = "nnlab trains them" if sizes.square else "nnlab cuts each to its centred square and trains it"
    return info(
        "images",
        f"{seen}; {does} at {trained}x{trained}, {_why(cfg, sizes, loaded, trained)}; give --image-size to choose another.",
    )


def _shapes(sizes: Sizes) -> str:
    """Their size: one (width by height where not square), or, where they differ, the range of their short sides
    (a median width and height would name a size no image has)."""
    if sizes.alike:
        return f"are {sizes.width}x{sizes.height} pixels" + ("" if sizes.square else " (width by height)")
    spread = f"{sizes.low} to {sizes.high} pixels" if sizes.low != sizes.high else f"{sizes.low} pixels"
    return f"have several sizes, {spread} on the short side (median {sizes.side}){'' if sizes.square else ', not all square'}"


def _why(cfg: RunConfig, sizes: Sizes, loaded: int, trained: int) -> str:
    """Why the images train at that size."""
    if cfg.image_size:
        return "as --image-size asks"
    if trained != loaded:
        return f"the size the architecture's pretrained ImageNet weights expect (--no-pretrained trains at {loaded})"
    if loaded == sizes.side:
        if not sizes.alike:
            return "the median length of their short sides"
        return "their own size" if sizes.square else "the length of their short side"
    if loaded < sizes.side:
        return f"the architecture's largest load size (scaled down from {sizes.side})"
    return f"the smallest size the architecture uses well ({inputs_of(cfg.arch).min_size})"


def _visible(name: str) -> bool:
    return not name.startswith(_SKIP)


def class_folders(root: Path, source: str) -> list[Path]:
    """The class folders: root's sub-folders, descending through a lone wrapping folder (photos/cats, ...)."""
    top = root
    while True:
        entries = [p for p in root.iterdir() if _visible(p.name)]
        dirs = [p for p in entries if p.is_dir()]
        if len(dirs) == 1 and len(entries) == 1:
            root = dirs[0]
            continue
        break
    if len(dirs) < 2:
        raise DataError(_too_few_folders(source, root if root != top else None, dirs, len(entries) - len(dirs)))
    dirs = sorted(dirs, key=lambda p: p.name)
    _refuse_split_folders(dirs, source)
    return dirs


_SPLITS = {"train", "training", "test", "testing", "val", "valid", "validation", "dev"}


def _refuse_split_folders(dirs: list[Path], source: str) -> None:
    """DataError where the folders are a split's parts, each holding class folders (train/cats, test/cats): they
    would be trained on as the classes 'train' and 'test'."""
    if not all(d.name.lower() in _SPLITS for d in dirs):  # before listing them: a class folder may hold 100,000
        return
    inner = [[p.name for p in d.iterdir() if p.is_dir() and _visible(p.name)] for d in dirs]
    if not all(inner):
        return
    names = and_list([d.name for d in dirs])
    classes = ", ".join(sorted(inner[0])[:3]) + (", ..." if len(inner[0]) > 3 else "")
    first = next((d.name for d in dirs if d.name.lower() in ("train", "training")), dirs[0].name)
    raise DataError(
        f"{source} holds the folders {names}, each with class folders inside ({classes}): those are the parts of a "
        f"split, not classes; nnlab draws its own split, so give one folder per class holding all of its images, "
        f"or the {first} folder alone."
    )


def _too_few_folders(source: str, lone: Path | None, dirs: list[Path], files: int) -> str:
    """Why there are no classes, said of what is there: a lone folder of files is one class (not '0 folders')."""
    need = "one folder per class (like cats/ and dogs/), two classes at least"
    if dirs or (lone is not None and files):
        name = dirs[0].name if dirs else lone.name
        return f"{source} holds one class folder, {name}; a classifier needs {need}: add a folder for each other class."
    if files:
        return (
            f"{source} holds {plural(files, 'file')} and no class folder; it needs {need}: put each class's images "
            "in a folder named after the class."
        )
    return f"{source} holds no images; it needs {need}, each holding that class's images."


def image_files(dirs: list[Path], source: str) -> list[list[Path]]:
    """The visible files under each class folder, sorted; folders that cannot be read are skipped, and past
    MAX_LISTED files and folders the walk stops with a DataError (a bound on what one typed path costs)."""
    seen, out = 0, []
    for folder in dirs:
        names = []
        for top, subdirs, files in os.walk(folder):  # links to folders are not followed; unreadable ones skipped
            subdirs[:] = [d for d in subdirs if _visible(d)]
            seen += len(subdirs) + len(files)
            if seen > MAX_LISTED:
                raise DataError(
                    f"{source} holds more than {MAX_LISTED:,} files and folders, more than nnlab looks through for "
                    "images; give the folder that holds one folder per class, or a sample of it."
                )
            names += [Path(top, f) for f in files if _visible(f)]
        out.append(sorted(f for f in names if f.is_file()))
    return out


def centre_square(image: np.ndarray) -> np.ndarray:
    """(H, W, ...) cut to its centred square, the part of an image the loader keeps (ImageOps.fit): prediction
    cuts a photo as training did, not squeezed whole into the square."""
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return image[top : top + side, left : left + side]


def eight_bit(im: Any) -> Any:
    """A PIL image of 16-bit or float pixels (a 16-bit PNG or TIFF scan) as 8-bit grey scaled from its depth (65535
    -> 255; floats up to 1 -> 255, as arrays are read); PIL's convert clips them at 255, so a scan read all white."""
    from PIL import Image

    if im.mode.startswith("I;16"):
        arr = np.asarray(im, dtype=np.float32) / 257
    elif im.mode == "F":
        arr = np.asarray(im, dtype=np.float32)
        arr = arr * 255 if arr.max(initial=0) <= 1.0 else arr
    else:
        return im
    return Image.fromarray(np.clip(arr.round(), 0, 255).astype(np.uint8), "L")


def _over_black(im: Any) -> Any:
    """An RGB PIL image; transparency laid over black, as prediction lays it (not the colours hidden under it)."""
    from PIL import Image

    if im.mode not in ("RGBA", "LA", "PA", "P") or (im.mode == "P" and "transparency" not in im.info):
        return im.convert("RGB")
    rgba = im.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba).convert("RGB")


def read_image(path: Path, size: int) -> np.ndarray | None:
    """uint8 (3, size, size) RGB, centre-cropped to a square; None when PIL cannot read the file."""
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as im:
            im.draft("RGB", (size, size))  # JPEG: decode at a reduced scale, much faster
            im = _over_black(eight_bit(ImageOps.exif_transpose(im)))
            im = ImageOps.fit(im, (size, size), Image.Resampling.BILINEAR)
            return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)
    except Exception:  # any decoder failure (truncated, not an image, a decompression bomb) skips the file
        return None


def read_folder_images(
    dirs: list[Path], size: int, source: str
) -> tuple[np.ndarray, np.ndarray, list[Path], list[Path]]:
    """Images (N, 3, size, size) and labels (N,) of the class folders, the files that were unreadable, and the file
    each image was read from (N,)."""
    files = [(f, label) for label, listed in enumerate(image_files(dirs, source)) for f in listed]
    if len(files) > MAX_IMAGES:
        raise DataError(
            f"{source} has {len(files):,} files, more than the {MAX_IMAGES:,} nnlab keeps in "
            "memory; use a sample of them."
        )
    need, most = len(files) * 3 * size * size, max_data_bytes()
    if need > most:  # refused before decoding: the preview loads the images too
        raise DataError(
            f"{source} has {len(files):,} images, {size_text(need)} at {size}x{size} pixels, more than the "
            f"{size_text(most)} of data nnlab keeps in memory here; choose a smaller image size or use a sample "
            f"of them (the operator can raise {DATA_ENV})."
        )
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:  # PIL decodes outside the GIL
        images = list(pool.map(lambda fl: read_image(fl[0], size), files))
    kept = [i for i, im in enumerate(images) if im is not None]
    labels = np.array([files[i][1] for i in kept], dtype=np.int64)
    x = np.stack([images[i] for i in kept]) if kept else np.zeros((0, 3, size, size), np.uint8)
    skipped = [f for (f, _), im in zip(files, images, strict=True) if im is None]
    return x, labels, skipped, [files[i][0] for i in kept]


def _check_counts(labels: np.ndarray, dirs: list[Path], source: str, skipped: list[Path]) -> None:
    """DataError naming the class folders with too few readable images, and the files there that could not be read
    (a folder of iPhone .HEIC photos holds 0 readable images, not 0 files)."""
    counts = np.bincount(labels, minlength=len(dirs))
    small = [(d, c, [f for f in skipped if f.is_relative_to(d)]) for d, c in zip(dirs, counts, strict=True)]
    small = [(d, c, bad) for d, c, bad in small if c < MIN_PER_CLASS]
    if small:
        named = ", ".join(f"{d.name} ({c}{_unread(bad)})" for d, c, bad in small[:5])
        fix = "save those files as PNG or JPEG, add images" if any(bad for _, _, bad in small) else "add images"
        raise DataError(
            f"{source} has fewer than {MIN_PER_CLASS} readable images in class folder {named}; {fix} there or "
            "remove the folder."
        )


def _unread(bad: list[Path]) -> str:
    """'; 8 files, such as IMG_0001.HEIC, could not be read as images' for the files of a folder left unread."""
    if not bad:
        return ""
    one = len(bad) == 1
    return f"; {plural(len(bad), 'file')}, {'' if one else 'such as '}{bad[0].name}, could not be read as {'an image' if one else 'images'}"


def image_root(path: Path) -> Path:
    """A folder as it is; an archive checked, then extracted once into the workspace."""
    from nnlab.store.runs import default_home

    if path.is_dir():
        return path
    if not is_archive(path):
        raise DataError(
            f"{path.name} is neither a folder nor a zip or tar archive; give a zip of one "
            "folder per class, or the folder itself."
        )
    return extract_cached(path, default_home() / UNPACKED)


def _findable(file: Path, dirs: list[Path]) -> str:
    """How a user finds an image in the data they gave: its class folder and file name ("cat/img_017.jpg")."""
    return file.relative_to(dirs[0].parent).as_posix()


def load_image_folder(cfg: RunConfig) -> Dataset:
    """One folder per class (folder names are the class names); each image cut to its centred square and resized."""
    path = user_path(cfg, "zip or folder of images")
    dirs = class_folders(image_root(path), path.name)
    sizes = image_sizes(dirs)
    size = load_size(cfg, sizes)
    x, labels, skipped, read = read_folder_images(dirs, size, path.name)
    _check_counts(labels, dirs, path.name, skipped)
    found: list[Finding] = []
    if skipped:
        one = len(skipped) == 1
        names = ", ".join(_findable(f, dirs) for f in skipped[:3])
        names += f" and {len(skipped) - 3:,} more" if len(skipped) > 3 else ""
        sentence = (
            f"{plural(len(skipped), 'file')} in {path.name} could not be read as {'an image' if one else 'images'} "
            f"({names}); nnlab skipped {'it' if one else 'them'}"
        )
        fix = (
            "remove it or save it as PNG or JPEG to use it"
            if one
            else "remove them or save them as PNG or JPEG to use them"
        )
        found.append(warning("files", f"{sentence}; {fix}."))
    data = image_dataset(path.name, x, labels, [d.name for d in dirs], cfg)
    data.files = np.array([_findable(f, dirs) for f in read], dtype=str)
    data.display["files"] = data.files[data.test.index]
    found.append(size_finding(cfg, sizes, size, data.facts.image_size, path.name))
    return data.found(found, path.name)


register(
    DatasetSpec(
        "image-folder",
        "Your images (zip or folder)",
        "image",
        load_image_folder,
        "One folder per class, named after it; each image is cut to its centred square and resized to a common size.",
        needs="data_path",
        options=("image_size",),
        any_size=True,
    )
)
