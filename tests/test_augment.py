"""Tests of fcnlib.augment: config handling, photo/mask alignment, reproducibility."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from fcnlib import data
from fcnlib.augment import AugmentConfig, augment_examples, augment_pair

GEOMETRY_ONLY = dataclasses.replace(AugmentConfig.none(), flip=0.5, vflip=0.5, rot90=0.5, rotate=25,
                                    scale=(0.7, 1.4), perspective=0.08, crop=0.6)


def blocks(h=48, w=64):
    """A 3-class mask of blocks and a photo whose pixels encode it (gray = class / 2)."""
    mask = np.zeros((h, w), np.uint8)
    mask[8:40, 10:30] = 1
    mask[5:20, 38:60] = 2
    mask[28:44, 40:56] = 1
    photo = np.repeat((mask * 127.5).astype(np.uint8)[..., None], 3, axis=2)
    return photo, mask


def test_coerce_and_validation():
    assert AugmentConfig.coerce(None) is None and AugmentConfig.coerce(False) is None
    assert AugmentConfig.coerce(True) == AugmentConfig()
    cfg = AugmentConfig.coerce({"flip": 0.0, "scale": [0.8, 1.2]})
    assert cfg.flip == 0 and cfg.scale == (0.8, 1.2) and AugmentConfig.coerce(cfg) is cfg
    assert AugmentConfig(**cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match=r"unknown augment options \['flop'\]"):
        AugmentConfig.coerce({"flop": 1})
    with pytest.raises(ValueError, match="probability"):
        AugmentConfig(flip=2)
    with pytest.raises(ValueError, match="crop"):
        AugmentConfig(crop=0)
    with pytest.raises(TypeError):
        AugmentConfig.coerce("yes")


def test_none_is_identity_and_flip_is_exact():
    photo, mask = blocks()
    (img, m), = augment_examples(photo, mask, AugmentConfig.none(), n=1)
    assert np.abs(img - photo / 255).max() < 1e-6 and np.array_equal(m, mask)
    flip = dataclasses.replace(AugmentConfig.none(), flip=1.0)
    (img, m), = augment_examples(photo, mask, flip, n=1)
    assert np.abs(img - photo[:, ::-1] / 255).max() < 1e-6 and np.array_equal(m, mask[:, ::-1])


def test_geometry_keeps_photo_and_mask_aligned():
    photo, mask = blocks()
    changed = 0
    for img, m in augment_examples(photo, mask, GEOMETRY_ONLY, n=12, seed=5):
        assert set(np.unique(m)) <= {0, 1, 2}  # nearest neighbour: no invented classes
        decoded = np.rint(img[..., 0] * 2).astype(int)  # the class the photo pixel shows
        assert (decoded != m).mean() < 0.03  # only boundary pixels may differ (bilinear vs nearest)
        pure = np.isclose(img[..., 0] * 2, np.rint(img[..., 0] * 2), atol=1e-3)
        assert (decoded[pure] == m[pure]).mean() > 0.995
        changed += not np.array_equal(m, mask)
    assert changed >= 10


def test_photometric_leaves_mask_alone_and_stays_in_range():
    photo, mask = blocks()
    photometric = dataclasses.replace(AugmentConfig(), flip=0, rotate=0, scale=(1, 1), perspective=0, crop=1,
                                      blur=1.0, jpeg=1.0, noise=0.05)
    for img, m in augment_examples(photo, mask, photometric, n=3):
        assert np.array_equal(m, mask) and img.min() >= 0 and img.max() <= 1
        assert np.abs(img - photo / 255).mean() > 1e-3


def test_augment_pair_is_reproducible():
    photo, mask = blocks()
    a = augment_examples(photo, mask, True, n=3, seed=1)
    b = augment_examples(photo, mask, True, n=3, seed=1)
    c = augment_examples(photo, mask, True, n=3, seed=2)
    assert all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    assert not all(np.array_equal(x[0], y[0]) for x, y in zip(a, c))


def test_pipeline_augmentation_aligned_and_reproducible(tmp_path):
    photo, mask = blocks()
    for d in ("original", "mask"):
        (tmp_path / d).mkdir()
    pairs = []
    for i in range(3):
        Image.fromarray(photo).save(tmp_path / "original" / f"p{i}.png")
        Image.fromarray(mask).save(tmp_path / "mask" / f"p{i}.png")
        pairs.append((tmp_path / "original" / f"p{i}.png", tmp_path / "mask" / f"p{i}.png"))

    def run(seed):
        ds = data.make_dataset(pairs, (48, 64), 3, augment=GEOMETRY_ONLY, repeat=True, seed=seed)
        return [(x.numpy(), m.numpy()) for x, m in ds.take(2)]

    first, again, other = run(7), run(7), run(8)
    for (x, m), (x2, m2) in zip(first, again):
        assert np.array_equal(x, x2) and np.array_equal(m, m2)
    assert not np.array_equal(first[0][1], other[0][1])
    assert not np.array_equal(first[0][1], first[1][1])  # a new draw in the next epoch
    for x, m in first:
        assert (np.rint(x[..., 0] * 2).astype(int) != m[..., 0]).mean() < 0.03


def test_augment_pair_needs_static_size():
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, None, 3]), tf.TensorSpec([None, None, 1], tf.uint8)])
    def f(x, m):
        return augment_pair(x, m, tf.constant([0, 0], tf.int64), AugmentConfig())

    with pytest.raises(ValueError, match="static image size"):
        f.get_concrete_function()
