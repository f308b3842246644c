"""Per-batch image transforms: augmentation on training batches only, deterministic evaluation,
the dataset's own normalisation, ImageNet's (and 224 pixels) for pretrained ResNet."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
import torch

import nnlab.data.batches as batches
from nnlab.core.config import AUGMENTATIONS
from nnlab.core.facts import ImageFacts, Scaler, TabularFacts
from nnlab.data import load_dataset
from nnlab.data.batches import augment_batch, make_transform
from nnlab.data.prep import IMAGENET_MEAN, IMAGENET_STD
from nnlab.data.registry import make_config
from nnlab.engine.train import Trainer
from nnlab.models import build_model

CPU = torch.device("cpu")
INFO = ImageFacts(channels=3, source_channels=3, image_size=32, scaler=Scaler.of([0.5] * 3, [0.25] * 3))


def images(n: int = 8, channels: int = 3, size: int = 32) -> torch.Tensor:
    return torch.randint(
        0, 256, (n, channels, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )


COMBOS = [c for r in range(1, 5) for c in itertools.combinations(AUGMENTATIONS, r)]


@pytest.mark.parametrize("augment", COMBOS, ids="+".join)
def test_every_augmentation_keeps_shape_and_range(augment):
    x = images().float() / 255
    out = augment_batch(x.clone(), augment)
    assert out.shape == x.shape and out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1 and not torch.equal(out, x)


def test_evaluation_is_deterministic_and_unaugmented():
    x = images()
    plain = make_transform(INFO, (), CPU)
    augmented = make_transform(INFO, AUGMENTATIONS, CPU)
    assert torch.equal(augmented(x, False), augmented(x, False))
    assert torch.equal(augmented(x, False), plain(x, False))
    assert torch.equal(plain(x, True), plain(x, False))  # nothing chosen: training batches untouched too


def test_training_batches_are_augmented_differently_each_time():
    x = images()
    t = make_transform(INFO, ("crop", "rotate", "jitter"), CPU)
    a, b = t(x, True), t(x, True)
    assert a.shape == b.shape == (8, 3, 32, 32) and not torch.equal(a, b)


def test_flip_mirrors_some_images_and_leaves_the_others():
    torch.manual_seed(3)
    x = images(64).float() / 255
    out = augment_batch(x.clone(), ("flip",))
    same = (out == x).flatten(1).all(1)
    mirrored = (out == x.flip(-1)).flatten(1).all(1)
    assert (same | mirrored).all() and same.any() and mirrored.any()


def test_transform_normalises_with_the_given_statistics_and_resizes():
    info = replace(INFO, image_size=48)
    out = make_transform(info, (), CPU)(torch.full((2, 3, 32, 32), 255, dtype=torch.uint8), False)
    assert out.shape == (2, 3, 48, 48) and torch.allclose(out, torch.full_like(out, 2.0))


def test_non_image_data_passes_through():
    x = torch.randn(4, 10)
    assert make_transform(TabularFacts(features=10), AUGMENTATIONS, CPU)(x, True) is x


def test_pretrained_resnet_gets_imagenet_statistics_and_224_pixels_from_grey_8x8_digits():
    ds = load_dataset(make_config("resnet18", dataset="digits"))
    assert ds.facts.scaler.mean == IMAGENET_MEAN and ds.facts.scaler.std == IMAGENET_STD
    out = make_transform(ds.facts, ("flip",), CPU)(ds.test.x[:4], False)
    assert out.shape == (4, 3, 224, 224)
    back = out * torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    assert back.min() >= -1e-4 and back.max() <= 1 + 1e-4


def test_resnet_from_scratch_uses_the_datasets_own_statistics():
    ds = load_dataset(make_config("resnet18", dataset="digits", pretrained=False))
    assert ds.facts.image_size == 8 and len(ds.facts.scaler.mean) == 3
    assert ds.facts.scaler.mean[0] == pytest.approx(float(ds.train.x.float().mean() / 255), rel=1e-4)


@pytest.mark.slow
def test_the_trainer_augments_training_batches_only(monkeypatch):
    calls: list[int] = []

    def spy(x, augment, generator=None):
        calls.append(len(x))
        return augment_batch(x, augment, generator)

    monkeypatch.setattr(batches, "augment_batch", spy)
    cfg = make_config("cnn", dataset="digits", augment=("crop", "flip"), hidden=32, epochs=1, batch_size=256)
    ds = load_dataset(cfg)
    ds.train, ds.val = ds.train.subset(torch.arange(300)), ds.val.subset(torch.arange(50))  # seconds, not tens
    trainer = Trainer(cfg, build_model(cfg, ds.facts), ds, CPU)
    trainer.train_one_epoch(1)
    assert sum(calls) == len(ds.train)
    calls.clear()
    trainer.evaluate(trainer.val_split)
    trainer.predict(ds.test)
    assert calls == []


def test_augmentation_draws_from_the_generator_it_is_given():
    x = torch.rand(6, 3, 16, 16)
    first = augment_batch(x.clone(), AUGMENTATIONS, torch.Generator().manual_seed(3))
    torch.rand(10)  # the global stream moves on; the run's own does not
    again = augment_batch(x.clone(), AUGMENTATIONS, torch.Generator().manual_seed(3))
    assert torch.equal(first, again)
