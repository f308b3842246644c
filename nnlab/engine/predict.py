"""Rebuild a finished run's model and predict on new inputs, preprocessed exactly as in training."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.facts import DataFacts
from nnlab.data.batches import make_transform
from nnlab.data.categories import file_rows_as_inputs
from nnlab.data.classical import Forecaster
from nnlab.data.images import centre_square, eight_bit
from nnlab.data.prep import base_inputs, relative_windows
from nnlab.data.tokens import encode, tokenize
from nnlab.models import build_model
from nnlab.store.runfolder import RunFolder

if TYPE_CHECKING:
    import pandas as pd

MAX_IMAGE_SIDE = 4096  # what prediction reads at most a side; a larger photo file is first shrunk to it
MAX_FILE_SIDE = 12_000  # a photo file's largest side (a 108-megapixel phone photo is 12000x9000)


def to_uint8_image(image: Image.Image | np.ndarray, channels: int) -> np.ndarray:
    """A PIL image (turned upright by its EXIF orientation and 16-bit pixels scaled to 8, as the loader reads it) or
    an (H, W[, C]) array as uint8 (H, W, channels); transparency is laid over black."""
    from PIL import ImageOps

    upright = eight_bit(ImageOps.exif_transpose(image)) if isinstance(image, Image.Image) else image
    src = np.asarray(upright.convert("RGBA") if isinstance(upright, Image.Image) else upright)
    if src.ndim not in (2, 3) or src.size == 0:
        raise NNLabError(f"The image has shape {src.shape}; give a picture of height x width (x colours).")
    if max(src.shape[:2]) > MAX_IMAGE_SIDE:
        raise NNLabError(f"The image is {src.shape[1]}x{src.shape[0]} pixels; use one under {MAX_IMAGE_SIDE}.")
    arr = src.astype(np.float32)
    if src.dtype.kind == "f" and src.max(initial=0) <= 1.0:  # floats in [0, 1]
        arr = arr * 255
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape[2] in (2, 4):  # grey or RGB with alpha: composite over black
        arr = arr[:, :, :-1] * (arr[:, :, -1:] / 255)
    if channels == 1 and arr.shape[2] == 3:
        arr = arr @ np.array([[0.299], [0.587], [0.114]], dtype=np.float32)
    elif channels == 3 and arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return np.clip(arr.round(), 0, 255).astype(np.uint8)


def fit_to_ink(image: np.ndarray, margin: float = 0.1, threshold: int = 30) -> np.ndarray:
    """Crop (H, W, C) uint8 to the bounding box of bright strokes and pad it square, like the digits set."""
    ink = image.max(axis=2) > threshold
    if not ink.any():
        return image
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    crop = image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    side = int(max(crop.shape[:2]) * (1 + 2 * margin)) + 1
    out = np.zeros((side, side, image.shape[2]), dtype=image.dtype)
    top, left = (side - crop.shape[0]) // 2, (side - crop.shape[1]) // 2
    out[top : top + crop.shape[0], left : left + crop.shape[1]] = crop
    return out


class Predictor:
    """A finished run's model on the CPU, with the preprocessing its data had in training."""

    def __init__(self, cfg: RunConfig, facts: DataFacts, state: dict[str, torch.Tensor]):
        self.cfg, self.facts = cfg, facts
        self.kind, self.task = facts.kind, facts.task
        # the trained weights replace any pretrained ones, so never fetch ImageNet weights here
        self.model = build_model(cfg.replace(pretrained=False, weights_path=""), facts)
        try:
            self.model.load_state_dict(state)
        except RuntimeError as exc:
            raise NNLabError("The saved weights do not fit the model this run's config describes.") from exc
        self.model.eval()

    @classmethod
    def from_run(cls, folder: RunFolder, cfg: RunConfig) -> Predictor:
        """The model of the run stored in this folder."""
        return cls(cfg, folder.read_facts(), folder.load_weights())

    @property
    def classes(self) -> list[str]:
        return list(self.facts.classes)

    def _expect(self, *kinds: str) -> None:
        if self.kind not in kinds:
            raise NNLabError(f"This model takes {self.kind} input, not {' or '.join(kinds)}.")

    @torch.no_grad()
    def _probs(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> np.ndarray:
        logits = self.model(x, lengths) if lengths is not None else self.model(x)
        return torch.softmax(logits.float(), dim=1).numpy()  # (B, classes)

    # -- images -----------------------------------------------------------------------------------
    def image_tensor(self, images: Sequence[Image.Image | np.ndarray]) -> torch.Tensor:
        """Images -> (B, C, size, size) normalised like the training batches (one size per call)."""
        arrays = [centre_square(to_uint8_image(img, self.facts.source_channels)) for img in images]
        if len({a.shape for a in arrays}) > 1:
            return torch.cat([self.image_tensor([a]) for a in arrays])
        x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)  # (B, C, H, W) uint8
        transform = make_transform(self.facts, (), torch.device("cpu"))
        return transform(x, False)

    def predict_images(self, images: Sequence[Image.Image | np.ndarray]) -> np.ndarray:
        """Class probabilities (B, classes) of images (PIL or (H, W[, C]) arrays)."""
        self._expect("image")
        return self._probs(self.image_tensor(images))

    def predict_image(self, image: Image.Image | np.ndarray) -> np.ndarray:
        """Class probabilities (classes,) of one image."""
        return self.predict_images([image])[0]

    # -- text -------------------------------------------------------------------------------------
    def predict_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities (B, classes), tokenised and encoded with the run's vocabulary."""
        self._expect("text")
        ids, lengths = encode(
            [tokenize(t, self.facts.tokens) for t in texts], list(self.facts.vocab), self.facts.max_len
        )
        return self._probs(ids[:, : int(lengths.max())], lengths)

    def predict_text(self, text: str) -> np.ndarray:
        """Class probabilities (classes,) of one text."""
        if not text.strip():
            raise NNLabError("The review is empty; type a few words.")
        return self.predict_texts([text])[0]

    def known_words(self, text: str) -> tuple[int, int]:
        """(words in the vocabulary, words) of a text, to warn about unknown words."""
        vocab, tokens = set(self.facts.vocab), tokenize(text, self.facts.tokens)
        return sum(t in vocab for t in tokens), len(tokens)

    # -- feature rows -----------------------------------------------------------------------------
    def predict_rows(self, rows: np.ndarray) -> np.ndarray:
        """Class probabilities (B, classes) of raw feature rows (B, F), standardised like training."""
        self._expect("tabular")
        x = np.asarray(rows, dtype=np.float32).reshape(-1, self.facts.features)
        if not np.isfinite(x).all():
            raise NNLabError("Every feature needs a number; fill the empty cells.")
        return self._probs(torch.from_numpy(self.facts.scaler.scale(x) if self.facts.scaler else x))

    def predict_table(self, table: pd.DataFrame) -> np.ndarray:
        """Class probabilities (B, classes) of rows with the run's file columns (numbers, a category's value)."""
        self._expect("tabular")
        return self.predict_rows(file_rows_as_inputs(table, self.facts))

    # -- series -----------------------------------------------------------------------------------
    @property
    def window(self) -> int:
        return self.facts.window

    def predict_window(self, values: np.ndarray, base: Forecaster | None = None) -> np.ndarray:
        """The next `horizon` target values after the last `window` rows of values (T, F) or (T,). A run with a
        classical base or blend fits it on the target column given (or takes `base`, fit on its start)."""
        self._expect("series")
        v = np.asarray(values, dtype=np.float64)
        v = v[:, None] if v.ndim == 1 else v
        features = len(self.facts.columns)
        if v.shape[1] != features or len(v) < self.window:
            raise NNLabError(
                f"The series needs at least {self.window} time steps of {features} column(s); "
                f"it has {len(v)} of {v.shape[1]}."
            )
        if not np.isfinite(v).all():
            raise NNLabError("The series has empty or non-numeric values; fill them first.")
        scaler, t, recent = self.facts.scaler, self.facts.target_index, v[-self.window :]
        if self.facts.relative:  # changes from the window's last value, over the scaler's std
            x = relative_windows(recent[None], scaler, self.window)
        else:  # runs trained before changes were forecast: standardised levels
            x = scaler.scale(recent).astype(np.float32)[None]
        anchor = recent[-1, t]
        if self.facts.base:  # its past errors and its forecast of the next step: two more inputs
            forecasts = (base or self.fit_base(v[:, t])).one_step(v[:, t])  # (T + 1,)
            extra, _ = base_inputs(v[:, t], forecasts, scaler.std[t], np.array([len(v)]), self.window)
            x, anchor = np.concatenate([x, extra], axis=2), forecasts[-1]
        with torch.no_grad():
            out = self.model(torch.from_numpy(x))[0].double().numpy()  # (horizon,) scaled
        if not self.facts.relative:
            return scaler.unscale(out, t)
        forecast = scaler.unscale_spread(out, t) + anchor
        w = self.facts.blend_weight
        if self.facts.blend and w < 1:  # blended with a classical forecaster, as the run was
            partner = (base or self.fit_base(v[:, t])).one_step(v[:, t])[-1]
            forecast = w * forecast + (1 - w) * partner
        return forecast

    @property
    def classical(self) -> str:
        """The classical forecaster the run's forecasts use ("" when none): its base, or its blend's partner."""
        return self.facts.base or (self.facts.blend if self.facts.blend_weight < 1 else "")

    def fit_base(self, target: np.ndarray) -> Forecaster:
        """The run's kind of classical forecaster, fit on this series' target (its own level and phase)."""
        from nnlab.data.classical import refit

        try:
            return refit(self.classical, np.asarray(target, dtype=np.float64), self.facts.season)
        except (ValueError, np.linalg.LinAlgError, IndexError) as exc:
            raise NNLabError(
                f"The classical forecaster of this run could not be fit on {len(target)} steps ({type(exc).__name__}); "
                "give a longer series."
            ) from exc

    def forecast(self, values: np.ndarray, steps: int) -> np.ndarray:
        """`steps` future values; a single-column series feeds its own forecasts back in (a classical base is fit
        once, on the values given)."""
        v = np.asarray(values, dtype=np.float64)
        v = v[:, None] if v.ndim == 1 else v
        base = self.fit_base(v[:, self.facts.target_index]) if self.classical else None
        out = list(self.predict_window(v, base))
        if v.shape[1] == 1:
            while len(out) < steps:
                grown = np.concatenate([v[:, 0], np.asarray(out)])
                out += list(self.predict_window(grown if base is not None else grown[-self.window :], base))
        return np.asarray(out[:steps])


def open_image(data: bytes, name: str = "the upload") -> Image.Image:
    """An uploaded image file, checked for size before it is decoded."""
    import io

    try:
        img = Image.open(io.BytesIO(data))
        width, height = img.size
    except Exception as exc:  # PIL raises several types for a file that is not an image
        raise NNLabError(f"{name} is not an image PIL can read; upload a PNG or JPEG.") from exc
    if max(width, height) > MAX_FILE_SIDE:
        raise NNLabError(f"{name} is {width}x{height} pixels; use an image under {MAX_FILE_SIDE:,} pixels a side.")
    factor = -(-max(width, height) // MAX_IMAGE_SIDE)  # ceil: 1 for most photos
    try:
        if factor > 1:  # a JPEG decodes at a reduced scale, as training decodes it
            img.draft("RGB", (-(-width // factor), -(-height // factor)))
        img.load()
    except Exception as exc:
        raise NNLabError(f"{name} is damaged or truncated; upload it again or try another image.") from exc
    return _shrunk(img) if max(img.size) > MAX_IMAGE_SIDE else img


def _shrunk(img: Image.Image) -> Image.Image:
    """A photo over MAX_IMAGE_SIDE a side (a 24-megapixel phone photo, 5712x4284), turned upright and shrunk by a
    whole factor to fit: training reads photos of any size, so prediction takes them too."""
    from PIL import ImageOps

    img = eight_bit(ImageOps.exif_transpose(img))
    if img.mode in ("1", "P"):  # modes Image.reduce does not take
        img = img.convert("L" if img.mode == "1" else "RGBA")
    return img.reduce(-(-max(img.size) // MAX_IMAGE_SIDE))


def model_view(predictor: Predictor, image: Image.Image | np.ndarray) -> np.ndarray:
    """What the model sees, for display: the image in the run's channels and size, (size, size, C) uint8."""
    import torch.nn.functional as F

    pixels = centre_square(to_uint8_image(image, predictor.facts.source_channels))
    x = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1)[None].float()
    size = predictor.facts.image_size  # x: (1, C, H, W)
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x[0].permute(1, 2, 0).round().clamp(0, 255).byte().numpy()
