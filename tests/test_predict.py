"""The Predictor rebuilds each kind of run and reproduces its saved test predictions; bad inputs get one sentence."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from nnlab.core.errors import NNLabError
from nnlab.engine.predict import Predictor, fit_to_ink, model_view, open_image, to_uint8_image
from nnlab.store.runfolder import RunFolder
from nnlab.store.runs import RunStore

pytestmark = pytest.mark.usefixtures("fresh_caches")


def _load(workspace, run_id):
    store = RunStore(workspace)
    folder = store.folder(run_id)
    return Predictor.from_run(folder, store.get(run_id).config), folder.read_results()


@pytest.mark.parametrize("name", ["digits", "shapes", "reviews", "iris"])
def test_classifier_round_trip_matches_saved_probabilities(trained, workspace, name):
    predictor, res = _load(workspace, trained[name])
    ex = res.examples
    if res.kind == "image":
        probs = predictor.predict_images(list(ex.images))
    elif res.kind == "text":
        probs = predictor.predict_texts(list(ex.texts))
    else:
        probs = predictor.predict_rows(ex.rows)
    np.testing.assert_allclose(probs, res.predictions.probs, atol=1e-4)
    assert (probs.argmax(1) == res.predictions.y_pred).all()
    assert predictor.classes == res.classes


def test_series_round_trip_matches_saved_forecasts(trained, workspace):
    predictor, res = _load(workspace, trained["series"])
    ex, w = res.examples, predictor.window
    forecasts = np.stack([predictor.predict_window(ex.series[t - w : t]) for t in ex.t])
    np.testing.assert_allclose(forecasts, res.predictions.y_pred, rtol=1e-4, atol=1e-4)


def test_forecast_feeds_its_own_values_back(trained, workspace):
    predictor, res = _load(workspace, trained["series"])
    history = res.examples.series[:40]
    out = predictor.forecast(history, 5)
    assert out.shape == (5,)
    assert out[1] == pytest.approx(predictor.predict_window(np.append(history, out[0]))[0])
    with pytest.raises(NNLabError, match="at least 8 time steps"):
        predictor.predict_window(history[:3])


def test_image_inputs_of_any_layout_and_a_pil_image(trained, workspace):
    predictor, res = _load(workspace, trained["digits"])
    img = res.examples.images[0]  # (8, 8, 1)
    expected = res.predictions.probs[0]
    rgb = np.repeat(img, 3, axis=2)
    rgba = np.concatenate([rgb, np.full_like(img, 255)], axis=2)
    for variant in (img[:, :, 0], rgb, rgba, Image.fromarray(rgb), img[:, :, 0] / 255.0):
        np.testing.assert_allclose(predictor.predict_image(variant), expected, atol=2e-3)
    big = np.kron(img[:, :, 0], np.ones((10, 10), dtype=np.uint8))  # 80x80 drawing: resized like training
    assert predictor.predict_image(big).shape == (10,)
    assert model_view(predictor, big).shape == (8, 8, 1)


def test_three_channel_model_takes_grey_input(trained, workspace):
    predictor, _ = _load(workspace, trained["shapes"])
    probs = predictor.predict_image(np.zeros((20, 30), dtype=np.uint8))
    assert probs.shape == (4,) and probs.sum() == pytest.approx(1, abs=1e-5)


def test_transparent_pixels_are_laid_over_black():
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (255, 255, 255, 255)
    rgba[1, 1] = (255, 255, 255, 0)
    grey = to_uint8_image(rgba, 1)
    assert grey.shape == (2, 2, 1) and grey[0, 0, 0] == 255 and grey[1, 1, 0] == 0


def test_fit_to_ink_crops_and_centres_a_drawing():
    canvas = np.zeros((100, 100, 3), dtype=np.uint8)
    canvas[10:30, 60:70] = 255
    out = fit_to_ink(canvas)
    assert out.shape[0] == out.shape[1] and out.shape[0] < 30
    assert out.max() == 255
    assert fit_to_ink(np.zeros((5, 5, 3), dtype=np.uint8)).shape == (5, 5, 3)  # nothing drawn: unchanged


def test_wrong_input_kind_and_bad_inputs_say_what_to_do(trained, workspace):
    predictor, _ = _load(workspace, trained["reviews"])
    with pytest.raises(NNLabError, match="takes text input"):
        predictor.predict_image(np.zeros((8, 8), dtype=np.uint8))
    with pytest.raises(NNLabError, match="empty"):
        predictor.predict_text("   ")
    assert predictor.known_words("zzzqqq the") == (1, 2)
    rows, _ = _load(workspace, trained["iris"])
    with pytest.raises(NNLabError, match="fill the empty cells"):
        rows.predict_rows(np.array([[1.0, np.nan, 2.0, 3.0]]))
    with pytest.raises(NNLabError, match="not an image"):
        open_image(b"not an image", "notes.txt")
    buf = io.BytesIO()
    Image.new("RGB", (5, 4)).save(buf, format="PNG")
    assert open_image(buf.getvalue()).size == (5, 4)


def test_artifacts_refuse_pickles_and_name_missing_files(tmp_path):
    np.savez(tmp_path / "predictions.npz", y_true=np.array([{"a": 1}], dtype=object))
    with pytest.raises(NNLabError, match="predictions.npz of run .* is damaged and cannot be read"):
        RunFolder(tmp_path).read_arrays("predictions.npz")
    with pytest.raises(NNLabError, match="has no info.json"):
        RunFolder(tmp_path).read_results()
    (tmp_path / "model.pt").write_bytes(b"garbage")
    with pytest.raises(NNLabError, match="model.pt of run .* is damaged"):
        RunFolder(tmp_path).load_weights()


def test_a_wide_transparent_photo_is_seen_as_training_read_it(trained, workspace, tmp_path):
    """A photo not square was squeezed whole into the square to predict, where training had cut its centre, and
    its transparent corner was black to predict but the white hidden under it in training."""
    from nnlab.data.images import read_image

    predictor, _ = _load(workspace, trained["shapes"])
    size = predictor.facts.image_size
    rgba = np.zeros((2 * size, 3 * size, 4), dtype=np.uint8)  # (H, W, RGBA): red | green | blue thirds
    for i in range(3):
        rgba[:, i * size : (i + 1) * size, i] = 255
    rgba[..., 3] = 255
    rgba[: size // 2, size : 2 * size] = (255, 255, 255, 0)  # clear, white beneath
    Image.fromarray(rgba, "RGBA").save(tmp_path / "wide.png")
    trained_on = read_image(tmp_path / "wide.png", size).transpose(1, 2, 0).astype(int)  # (size, size, 3)
    seen = model_view(predictor, Image.open(tmp_path / "wide.png")).astype(int)
    assert seen.shape == trained_on.shape and np.abs(seen - trained_on).mean() < 3


def test_a_16_bit_scan_is_read_by_its_depth_in_training_and_to_predict(trained, workspace, tmp_path):
    """A 16-bit grey PNG (a scan, a microscope image) was clipped at 255 by PIL's convert: training and the
    Playground both read it all white, so a folder of them trained on blank images without a word."""
    from nnlab.data.images import read_image

    predictor, _ = _load(workspace, trained["shapes"])
    size = predictor.facts.image_size
    ramp = np.linspace(0, 65535, size * size).reshape(size, size).astype(np.uint16)  # dark top to bright bottom
    Image.fromarray(ramp).save(tmp_path / "scan.png")
    assert Image.open(tmp_path / "scan.png").mode == "I;16"
    trained_on = read_image(tmp_path / "scan.png", size).transpose(1, 2, 0).astype(int)  # (size, size, 3)
    assert abs(trained_on.mean() - 127.5) < 3 and trained_on[0].mean() < 10 and trained_on[-1].mean() > 245
    seen = model_view(predictor, Image.open(tmp_path / "scan.png")).astype(int)
    assert np.abs(seen - trained_on).mean() < 1


def test_a_phone_photo_over_4096_pixels_is_tried_as_training_read_it(trained, workspace, tmp_path):
    """Training reads photos of any size, but the Playground refused a 24-megapixel phone photo (5712x4284, an
    iPhone's default) with 'use an image under 4096 pixels a side'; it is now shrunk to fit and read as training
    read it (turned upright by its EXIF orientation, cut to its centred square)."""
    from nnlab.data.images import read_image

    predictor, _ = _load(workspace, trained["shapes"])
    h, w = 3456, 4608  # a 16-megapixel photo, over 4096 a side
    rgb = np.empty((h, w, 3), dtype=np.uint8)
    rgb[..., 0] = (np.arange(w) * 255 // w).astype(np.uint8)[None, :]  # red grows to the right
    rgb[..., 1] = (np.arange(h) * 255 // h).astype(np.uint8)[:, None]  # green grows downwards
    rgb[..., 2] = np.where((np.arange(h)[:, None] // 300 + np.arange(w)[None, :] // 300) % 2, 255, 0)
    photo = Image.fromarray(rgb)
    exif = photo.getexif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise
    photo.save(tmp_path / "IMG_0001.jpg", exif=exif, quality=90)
    image = open_image((tmp_path / "IMG_0001.jpg").read_bytes(), "IMG_0001.jpg")
    size = predictor.facts.image_size
    trained_on = read_image(tmp_path / "IMG_0001.jpg", size).transpose(1, 2, 0).astype(int)  # (size, size, 3)
    assert np.abs(model_view(predictor, image).astype(int) - trained_on).mean() < 3
    assert predictor.predict_image(image).shape == (len(predictor.classes),)
    with pytest.raises(NNLabError, match=r"^huge.png is 13000x20 pixels; use an image under 12,000 pixels a side\.$"):
        buf = io.BytesIO()
        Image.new("L", (13000, 20)).save(buf, format="PNG")
        open_image(buf.getvalue(), "huge.png")
