"""Data augmentation for segmentation: one random draw per example, applied to photo and mask together.

Geometry (flips, 90 degree turns, small rotation, scale, perspective, random crop) is composed into ONE
projective transform per example and applied to the photo (bilinear) and to the mask (nearest
neighbour, padding = class 0) with the same matrix, so they cannot drift apart. Photometric changes
(brightness, contrast, saturation, hue, noise, blur, JPEG quality) touch the photo only. All draws use
stateless random ops seeded by (dataset seed, element index): the same seed gives the same batches.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from fcnlib.geometry import homography_tf


@dataclass
class AugmentConfig:
    """Augmentation settings; a probability of 0 or a neutral range turns an effect off.

    flip / vflip: probability of a left-right / top-bottom flip. rot90: probability of a random
    quarter turn (90, 180 or 270 degrees). rotate: max rotation in degrees (uniform +-rotate).
    scale: (min, max) zoom factor. perspective: max corner shift as a fraction of the image size.
    crop: smallest side fraction of a random crop (1.0 = no crop), resized back to full size.
    brightness: max added delta. contrast, saturation: (min, max) factors. hue: max hue shift (0..0.5).
    noise: max std of Gaussian noise. blur: probability of a Gaussian blur of sigma up to blur_sigma.
    jpeg: probability of re-encoding at a quality drawn from jpeg_quality (min, max).
    """

    flip: float = 0.5
    vflip: float = 0.0
    rot90: float = 0.0
    rotate: float = 10.0
    scale: tuple[float, float] = (0.9, 1.15)
    perspective: float = 0.05
    crop: float = 0.85
    brightness: float = 0.15
    contrast: tuple[float, float] = (0.8, 1.2)
    saturation: tuple[float, float] = (0.8, 1.2)
    hue: float = 0.03
    noise: float = 0.02
    blur: float = 0.2
    blur_sigma: float = 1.5
    jpeg: float = 0.2
    jpeg_quality: tuple[int, int] = (40, 95)

    def __post_init__(self):
        for name in ("flip", "vflip", "rot90", "blur", "jpeg"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"augment {name}={getattr(self, name)}: a probability must be in [0, 1]")
        if not 0 < self.crop <= 1:
            raise ValueError(f"augment crop={self.crop}: expected a side fraction in (0, 1]")
        for name in ("scale", "contrast", "saturation", "jpeg_quality"):
            low, high = getattr(self, name)
            if low > high or low <= 0:
                raise ValueError(f"augment {name}={getattr(self, name)}: expected 0 < min <= max")
            setattr(self, name, (low, high))
        if not 0 <= self.hue <= 0.5:
            raise ValueError(f"augment hue={self.hue}: expected 0..0.5")

    @classmethod
    def coerce(cls, value) -> "AugmentConfig | None":
        """None/False -> None, True -> defaults, dict -> AugmentConfig(**dict), AugmentConfig as is."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            known = {f.name for f in dataclasses.fields(cls)}
            unknown = sorted(set(value) - known)
            if unknown:
                raise ValueError(f"unknown augment options {unknown}; known: {sorted(known)}")
            return cls(**value)
        raise TypeError(f"augment must be None, a bool, a dict or an AugmentConfig, not {type(value).__name__}")

    @classmethod
    def none(cls) -> "AugmentConfig":
        """A config that changes nothing (start from it to turn on single effects)."""
        return cls(flip=0, vflip=0, rot90=0, rotate=0, scale=(1, 1), perspective=0, crop=1,
                   brightness=0, contrast=(1, 1), saturation=(1, 1), hue=0, noise=0, blur=0, jpeg=0)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _uniform(seed, low, high, dtype=None):
    import tensorflow as tf

    return tf.random.stateless_uniform([], seed, low, high, dtype=dtype or tf.float32)


def _geometry(seed, height: int, width: int, c: AugmentConfig):
    """One random projective transform (8 params, output -> input pixel coordinates)."""
    import tensorflow as tf

    s = tf.random.experimental.stateless_split(seed, 9)
    w, h = float(width), float(height)
    centre = tf.constant([(w - 1) / 2, (h - 1) / 2])
    corners = tf.constant([[0.0, 0.0], [w - 1, 0.0], [w - 1, h - 1], [0.0, h - 1]])
    d = corners - centre
    flip_x = tf.where(_uniform(s[0], 0.0, 1.0) < c.flip, -1.0, 1.0)
    flip_y = tf.where(_uniform(s[1], 0.0, 1.0) < c.vflip, -1.0, 1.0)
    d = d * tf.stack([flip_x, flip_y])
    turns = tf.where(_uniform(s[2], 0.0, 1.0) < c.rot90,
                     tf.cast(_uniform(s[3], 1, 4, tf.int32), tf.float32), 0.0)
    angle = turns * (math.pi / 2) + _uniform(s[4], -c.rotate, c.rotate + 1e-9) * (math.pi / 180)
    zoom = tf.exp(_uniform(s[5], math.log(c.scale[0]), math.log(c.scale[1]) + 1e-9))
    frac = _uniform(s[6], c.crop, 1.0 + 1e-9) if c.crop < 1 else tf.constant(1.0)
    cos, sin = tf.cos(angle), tf.sin(angle)
    # output offset d comes from input offset R(-angle) d * frac / zoom around the crop centre
    rot = tf.stack([tf.stack([cos, sin]), tf.stack([-sin, cos])])
    src = tf.linalg.matmul(d, rot) * (frac / zoom)
    shift = _uniform_vec(s[7], 2) * (1.0 - frac) / 2 * tf.constant([w, h])
    jitter = _uniform_vec(s[8], 8) * c.perspective * tf.constant([w, h] * 4)
    src = src + centre + shift + tf.reshape(jitter, [4, 2])
    return homography_tf(corners, src)


def _uniform_vec(seed, n):
    import tensorflow as tf

    return tf.random.stateless_uniform([n], seed, -1.0, 1.0)


def _blur(image, sigma):
    """Separable Gaussian blur as a weighted sum of shifted copies (much faster than depthwise conv)."""
    import tensorflow as tf

    radius = 4
    k = tf.exp(-0.5 * (tf.range(-radius, radius + 1, dtype=tf.float32) / sigma) ** 2)
    k = k / tf.reduce_sum(k)
    height, width = image.shape[0], image.shape[1]
    out = tf.pad(image, [[radius, radius], [radius, radius], [0, 0]], mode="SYMMETRIC")
    out = tf.add_n([k[i] * out[:, i:i + width] for i in range(2 * radius + 1)])
    return tf.add_n([k[i] * out[i:i + height] for i in range(2 * radius + 1)])


def _photometric(image, seed, c: AugmentConfig):
    import tensorflow as tf

    s = tf.random.experimental.stateless_split(seed, 9)
    if c.brightness > 0:
        image = tf.image.stateless_random_brightness(image, c.brightness, s[0])
    if c.contrast != (1, 1):
        image = tf.image.stateless_random_contrast(image, c.contrast[0], c.contrast[1], s[1])
    if c.saturation != (1, 1):
        image = tf.image.stateless_random_saturation(image, c.saturation[0], c.saturation[1], s[2])
    if c.hue > 0:
        image = tf.image.stateless_random_hue(image, c.hue, s[3])
    image = tf.clip_by_value(image, 0.0, 1.0)
    if c.blur > 0:
        sigma = _uniform(s[4], 0.3, max(c.blur_sigma, 0.3) + 1e-6)
        image = tf.cond(_uniform(s[5], 0.0, 1.0) < c.blur, lambda: _blur(image, sigma), lambda: image)
    if c.noise > 0:
        std = _uniform(s[6], 0.0, c.noise)
        image = image + std * tf.random.stateless_normal(tf.shape(image), s[6])
        image = tf.clip_by_value(image, 0.0, 1.0)
    if c.jpeg > 0:
        low, high = int(c.jpeg_quality[0]), int(c.jpeg_quality[1])
        shape = tf.shape(image)

        def recompress():
            out = tf.image.stateless_random_jpeg_quality(image, low, max(high, low + 1), s[8])
            return tf.reshape(out, shape)

        image = tf.cond(_uniform(s[7], 0.0, 1.0) < c.jpeg, recompress, lambda: image)
    return image


def augment_pair(image, mask, seed, config: AugmentConfig):
    """Augment one example: image float32 (H, W, 3) in [0, 1], mask integer (H, W, 1), seed int (2,).

    The same geometric transform moves photo (bilinear) and mask (nearest, fill 0); photometric
    effects change the photo only. Returns (image float32 in [0, 1], mask of the input dtype).
    """
    import tensorflow as tf

    c = config
    height, width = image.shape[0], image.shape[1]
    if height is None or width is None:
        raise ValueError("augment_pair needs a static image size (resize first)")
    geo_seed, photo_seed = tf.unstack(tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 2))
    geometric = (c.flip > 0 or c.vflip > 0 or c.rot90 > 0 or c.rotate > 0 or c.scale != (1, 1)
                 or c.perspective > 0 or c.crop < 1)
    if geometric:
        transform = _geometry(geo_seed, height, width, c)[None]
        size = tf.constant([height, width], tf.int32)

        def warp(x, interpolation):
            return tf.raw_ops.ImageProjectiveTransformV3(
                images=x[None], transforms=transform, output_shape=size, fill_value=0.0,
                interpolation=interpolation, fill_mode="CONSTANT")[0]

        image = warp(image, "BILINEAR")
        mask = tf.cast(warp(tf.cast(mask, tf.float32), "NEAREST"), mask.dtype)
    image = _photometric(image, photo_seed, c)
    return tf.ensure_shape(image, [height, width, 3]), tf.ensure_shape(mask, [height, width, 1])


def augment_examples(image: np.ndarray, mask: np.ndarray, config=True, n: int = 4, seed: int = 0):
    """Numpy preview: ``n`` augmented versions of one (image, mask) pair, e.g. for a notebook figure.

    image uint8 (H, W, 3) or float in [0, 1]; mask (H, W). Returns a list of (image float32, mask uint8).
    """
    import tensorflow as tf

    config = AugmentConfig.coerce(config) or AugmentConfig.none()
    x = np.asarray(image, np.float32) / (255.0 if np.asarray(image).dtype == np.uint8 else 1.0)
    m = np.asarray(mask, np.uint8)[..., None]
    out = []
    for i in range(n):
        a, b = augment_pair(tf.constant(x), tf.constant(m), tf.constant([seed, i], tf.int64), config)
        out.append((a.numpy(), b.numpy()[..., 0]))
    return out
