"""What a saved segmenter says about itself, readable without Keras or TensorFlow.

A `fcnlib.segmenter.Segmenter` saved as `.keras` keeps, in the `config.json` of that zip file, how
photos are prepared for its network (`Preprocessor`: input size, resize policy, normalisation) and
what its outputs mean (class names, palette, ignore index, number of output channels, the binary
"no object" threshold `min_score`). `read_spec` reads them with `zipfile` and `json` alone, so a
command that runs the network through its TFLite copy starts without importing TensorFlow.

The resizing here reproduces the training pipeline's (`fcnlib.data.resize_image`, TensorFlow's
antialiased bilinear resize) with PIL on float32 planes, so inference needs no TensorFlow either.

Example:

>>> pre = Preprocessor(image_size=(96, 64))
>>> import numpy as np
>>> batch, placements = pre([np.zeros((800, 600, 3), np.uint8)])
>>> batch.shape, placements[0].original
((1, 96, 64, 3), (800, 600))
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from fcnlib.data import Placement, oriented_size

RESIZE_POLICIES = ("stretch", "pad")
# How an extraction's score (the "is the object there" evidence compared with `min_score`) is computed
# from the model's map (`fcnlib.postprocess.extract`): "fit", the mean probability inside the fitted
# quad times the IoU between the quad and the region; "confident", the share of the quad's pixels where
# the probability exceeds `fcnlib.postprocess.CONFIDENT_PROBABILITY`. Files that name none used "fit".
SCORE_METHODS = ("fit", "confident")


def check_score_method(name) -> None:
    """A clear error for a score method that is not one of SCORE_METHODS."""
    if name not in SCORE_METHODS:
        raise ValueError(f"score method {name!r}: expected one of {SCORE_METHODS}")


SEGMENTER_CLASS = "Segmenter"
SEGMENTER_PACKAGE = "fcnlib"


def _float_plane(plane: np.ndarray) -> Image.Image:
    """A (h, w) array as a PIL float ("F") image of its values as float32; uint8 is widened by PIL
    (exact), which spares a float copy of the photo."""
    if plane.dtype == np.uint8:
        return Image.fromarray(np.ascontiguousarray(plane)).convert("F")
    return Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32), "F")


def _resize_planes(x: np.ndarray, size: tuple[int, int], resample) -> np.ndarray:
    """Resize an (h, w, C) array, taken as float32, to `size` (H, W): float32, channel by channel in
    PIL's float mode."""
    h, w = int(size[0]), int(size[1])
    out = np.empty((h, w, x.shape[-1]), np.float32)
    for c in range(x.shape[-1]):
        out[..., c] = _float_plane(x[..., c]).resize((w, h), resample)
    return out


def _bilinear_axis(x: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Linear interpolation of `x` to `size` samples along `axis`, pixel centres aligned and no
    antialiasing: TensorFlow's `tf.image.resize(..., "bilinear")` (half-pixel centres), one axis."""
    n = x.shape[axis]
    pos = np.maximum((np.arange(size) + 0.5) * (n / size) - 0.5, 0.0)
    lower = np.floor(pos).astype(np.int64)
    upper = np.minimum(lower + 1, n - 1)
    lower = np.minimum(lower, n - 1)
    t = (pos - lower).astype(np.float32)
    shape = [1] * x.ndim
    shape[axis] = size
    t = t.reshape(shape)
    a, b = np.take(x, lower, axis=axis), np.take(x, upper, axis=axis)
    return a + (b - a) * t


@dataclass(frozen=True)
class Preprocessor:
    """How a photo becomes a network input, and how an output maps back onto the photo.

    `image_size` (H, W) is the network's input size; `resize` is "stretch" (ignore the aspect ratio)
    or "pad" (keep it, pad with zeros, photo centred), as in training. Pixel values 0..255 become
    `pixel * scale + offset` (the default gives [0, 1], what fcnlib's networks are trained on;
    encoders with their own normalisation carry it inside the network). With `match_orientation`, a
    photo framed the other way than `image_size` (landscape for a portrait input) goes in at the input
    size turned, (W, H), so that the network sees it as unsqueezed as the others (`input_size`).

    Example:

    >>> Preprocessor((192, 144)).get_config()["image_size"]
    [192, 144]
    >>> Preprocessor((192, 144), match_orientation=True).input_size((600, 800))
    (144, 192)
    """

    image_size: tuple[int, int] = (256, 256)
    resize: str = "stretch"
    scale: float = 1 / 255
    offset: float = 0.0
    match_orientation: bool = False

    def __post_init__(self):
        size = tuple(int(v) for v in self.image_size)
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"image_size must be two positive integers (H, W), got {self.image_size!r}")
        object.__setattr__(self, "image_size", size)
        if self.resize not in RESIZE_POLICIES:
            raise ValueError(f"resize policy {self.resize!r}: expected one of {RESIZE_POLICIES}")
        if not isinstance(self.match_orientation, bool):
            raise ValueError(f"match_orientation must be True or False, got {self.match_orientation!r}")

    def input_size(self, photo_size) -> tuple[int, int]:
        """The network input size (H, W) for a photo of `photo_size` (h, w): `image_size`, turned when
        `match_orientation` is set and the photo is framed the other way (a square one never is)."""
        return oriented_size(self.image_size, photo_size) if self.match_orientation else self.image_size

    def prepare(self, photo: np.ndarray) -> tuple[np.ndarray, Placement]:
        """One photo (uint8 (h, w, 3), or float already in 0..255 / model scale) as a float32 network
        input of `input_size(photo.shape)`, with its `Placement` in that input."""
        arr = np.asarray(photo)
        x = arr[..., None] if arr.ndim == 2 else arr  # made float32 plane by plane, in `_resize_planes`
        h, w = x.shape[:2]
        height, width = self.input_size((h, w))
        if self.resize == "stretch":
            top, left, nh, nw = 0, 0, height, width
        else:
            s = min(height / h, width / w)
            nh = int(np.clip(np.round(h * s), 1, height))
            nw = int(np.clip(np.round(w * s), 1, width))
            top, left = (height - nh) // 2, (width - nw) // 2
        resized = _resize_planes(x, (nh, nw), Image.Resampling.BILINEAR)
        if arr.dtype == np.uint8:
            resized = np.clip(resized, 0, 255) * np.float32(self.scale) + np.float32(self.offset)
        out = np.zeros((height, width, x.shape[-1]), np.float32)
        out[top:top + nh, left:left + nw] = resized
        out = out[..., 0] if arr.ndim == 2 else out
        return out, Placement((h, w), (height, width), top, left, nh, nw)

    def __call__(self, photos) -> tuple[np.ndarray, list[Placement]]:
        """A batch (B, H, W, C) float32 of photos and the `Placement` of each. With `match_orientation`
        the photos must share one input size (`fcnlib.predict.Predictor` groups them)."""
        prepared = [self.prepare(p) for p in photos]
        sizes = sorted({x.shape[:2] for x, _ in prepared})
        if len(sizes) > 1:
            raise ValueError(f"photos framed both ways make inputs of sizes {sizes}: prepare them in groups "
                             "of one input size (`input_size`)")
        return np.stack([x for x, _ in prepared]), [p for _, p in prepared]

    @staticmethod
    def to_original(arr: np.ndarray, placement: Placement) -> np.ndarray:
        """A model-size float map (H, W[, K]) cropped of padding and resized (bilinear) to the photo."""
        arr = np.asarray(arr, dtype=np.float32)
        crop = arr[placement.top:placement.top + placement.height, placement.left:placement.left + placement.width]
        flat = crop.reshape(crop.shape[:2] + (-1,))
        h, w = placement.original
        out = _bilinear_axis(_bilinear_axis(flat, h, 0), w, 1)
        return out.reshape(tuple(placement.original) + arr.shape[2:])

    def get_config(self) -> dict:
        return {"image_size": list(self.image_size), "resize": self.resize,
                "scale": float(self.scale), "offset": float(self.offset),
                "match_orientation": self.match_orientation}

    @classmethod
    def from_config(cls, config: dict) -> "Preprocessor":
        return cls(**config)


@dataclass(frozen=True)
class SegmenterSpec:
    """Everything a `Segmenter` holds besides its network: a `Preprocessor`, the class names and their
    colours, the ignore index, the number of output channels (`fcnlib.labels`: 1 = binary sigmoid) and,
    for a binary model, `min_score`, the extraction score under which it answers "no object" (None:
    not calibrated, no such answer), and `score_method`, how that score is computed (`SCORE_METHODS`): a
    threshold is calibrated for one score method and means nothing for another."""

    preprocessor: Preprocessor = field(default_factory=Preprocessor)
    num_classes: int = 1
    class_names: tuple[str, ...] | None = None
    palette: tuple[tuple[int, int, int], ...] | None = None
    ignore_index: int | None = None
    min_score: float | None = None
    score_method: str = "fit"

    def __post_init__(self):
        from fcnlib.labels import check_ignore_index, num_labels

        labels = num_labels(self.num_classes)
        names = self.class_names
        if names is None:
            names = ("background", "object") if labels == 2 else tuple(f"class {i}" for i in range(labels))
        if len(names) < labels:
            raise ValueError(f"{len(names)} class names {list(names)} for {labels} classes")
        object.__setattr__(self, "class_names", tuple(str(n) for n in names))
        if self.palette is not None:
            palette = tuple(tuple(int(c) for c in rgb) for rgb in self.palette)
            if len(palette) < labels or any(len(c) != 3 or not all(0 <= v <= 255 for v in c) for c in palette):
                raise ValueError(f"palette must give an (R, G, B) colour 0..255 for each of {labels} classes, "
                                 f"got {self.palette!r}")
            object.__setattr__(self, "palette", palette)
        check_ignore_index(self.ignore_index, self.num_classes)
        if self.min_score is not None:
            if not 0.0 <= float(self.min_score) <= 1.0:
                raise ValueError(f"min_score must be in [0, 1], got {self.min_score!r}")
            object.__setattr__(self, "min_score", float(self.min_score))
        check_score_method(self.score_method)

    def get_config(self) -> dict:
        return {"preprocessor": self.preprocessor.get_config(), "num_classes": int(self.num_classes),
                "class_names": list(self.class_names),
                "palette": None if self.palette is None else [list(c) for c in self.palette],
                "ignore_index": self.ignore_index, "min_score": self.min_score,
                "score_method": self.score_method}

    @classmethod
    def from_config(cls, config: dict) -> "SegmenterSpec":
        config = dict(config)
        pre = config.pop("preprocessor", None) or {}
        known = {"num_classes", "class_names", "palette", "ignore_index", "min_score", "score_method"}
        return cls(Preprocessor.from_config(pre) if isinstance(pre, dict) else pre,
                   **{k: v for k, v in config.items() if k in known})


def is_segmenter_config(config: dict) -> bool:
    """True when a `.keras` file's top-level config describes a `fcnlib` Segmenter."""
    return (config.get("class_name") == SEGMENTER_CLASS
            and config.get("registered_name") in (f"{SEGMENTER_PACKAGE}>{SEGMENTER_CLASS}", None)
            and str(config.get("module", "")).startswith(SEGMENTER_PACKAGE))


def read_keras_config(path: str | Path) -> dict:
    """The top-level `config.json` of a `.keras` file (a zip), without Keras."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as z:
            return json.loads(z.read("config.json"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: model file not found") from None
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable .keras model file ({e})") from None


def read_spec(path: str | Path) -> SegmenterSpec | None:
    """The `SegmenterSpec` saved in a `.keras` file, or None when the file holds a bare network (a
    model saved by an older fcnlib, whose description may sit in a `.json` sidecar).

    Example:

    >>> spec = read_spec(fcnlib.presets.get("receipt").path)  # doctest: +SKIP
    >>> spec.preprocessor.image_size, spec.class_names  # doctest: +SKIP
    ((192, 144), ('background', 'receipt'))
    """
    config = read_keras_config(path)
    if not is_segmenter_config(config):
        return None
    return SegmenterSpec.from_config(config["config"])
