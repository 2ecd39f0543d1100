"""Resizing (shared by the pipeline and by prediction) and the tf.data input pipeline (`make_dataset`).

TensorFlow is imported inside the functions that need it, so `fcnlib.data` loads without it."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from fcnlib.data.images import (REROOT_HINT, TF_PHOTO_FORMATS, DataError, _mask_mode_problem, _open, _orientation_of,
                                check_photo_format, mask_orientation_problem, mask_value_table, read_image,
                                read_mask_raw, upright_size)
from fcnlib.data.pairs import read_pairs


# --------------------------------------------------------------------------------------------------
# Resizing (shared by the pipeline and by prediction)


@dataclass(frozen=True)
class Placement:
    """Where an original photo of ``original`` (h, w) sits in a model input of ``size`` (H, W).

    The photo was resized to (``height``, ``width``) and placed at (``top``, ``left``); the rest is padding.
    """

    original: tuple[int, int]
    size: tuple[int, int]
    top: int
    left: int
    height: int
    width: int

    def to_original(self, arr: np.ndarray) -> np.ndarray:
        """Map a model-size (H, W, ...) array back onto the original photo: crop padding, resize.

        Floats (probabilities) resize bilinearly, integers and booleans (class ids) by nearest neighbour.
        """
        import tensorflow as tf

        arr = np.asarray(arr)
        crop = arr[self.top:self.top + self.height, self.left:self.left + self.width]
        flat = crop.reshape(crop.shape[:2] + (-1,))
        if np.issubdtype(arr.dtype, np.floating):
            out = tf.image.resize(flat, self.original, "bilinear").numpy().astype(arr.dtype)
        else:
            out = tf.image.resize(flat.astype(np.int32), self.original, "nearest").numpy().astype(arr.dtype)
        return out.reshape(tuple(self.original) + arr.shape[2:])


def oriented_size(image_size, photo_size) -> tuple[int, int]:
    """The input size (H, W) for a photo of `photo_size` (h, w) when inputs follow the photo's framing:
    `image_size`, turned to (W, H) when the photo is framed the other way (landscape for a portrait size;
    a square photo or size never is). Shared by the training pipeline and `fcnlib.spec.Preprocessor`."""
    height, width = (int(v) for v in image_size)
    h, w = (int(v) for v in photo_size[:2])
    if h != w and height != width and (h > w) != (height > width):
        return width, height
    return height, width


def _resize_tf(image, size, policy: str, method: str):
    """Resize a (h, w, C) tensor to ``size`` by ``policy``; returns (resized, (top, left, nh, nw))."""
    import tensorflow as tf

    if policy not in ("stretch", "pad"):
        raise ValueError(f"resize policy {policy!r}: expected 'stretch' or 'pad'")
    height, width = int(size[0]), int(size[1])
    if policy == "stretch":
        out = tf.image.resize(image, (height, width), method=method, antialias=method == "bilinear")
        zero = tf.constant(0)
        return out, (zero, zero, tf.constant(height), tf.constant(width))
    shape = tf.cast(tf.shape(image)[:2], tf.float64)
    scale = tf.minimum(height / shape[0], width / shape[1])
    nh = tf.clip_by_value(tf.cast(tf.round(shape[0] * scale), tf.int32), 1, height)
    nw = tf.clip_by_value(tf.cast(tf.round(shape[1] * scale), tf.int32), 1, width)
    top, left = (height - nh) // 2, (width - nw) // 2
    out = tf.image.resize(image, tf.stack([nh, nw]), method=method, antialias=method == "bilinear")
    out = tf.image.pad_to_bounding_box(out, top, left, height, width)
    return out, (top, left, nh, nw)


def resize_image(img: np.ndarray, size: tuple[int, int], policy: str = "stretch"):
    """Resize a photo exactly as the pipeline does; returns (float32 (H, W, C), Placement).

    uint8 input is scaled to [0, 1] (model-ready); float input keeps its scale. ``policy`` "stretch"
    ignores the aspect ratio, "pad" keeps it and pads with zeros (photo centred).
    """
    arr = np.asarray(img)
    scale = 1 / 255 if arr.dtype == np.uint8 else 1.0
    x = arr.astype(np.float32)
    x = x[..., None] if x.ndim == 2 else x
    out, (top, left, nh, nw) = _resize_tf(x, size, policy, "bilinear")
    out = out.numpy()
    out = np.clip(out, 0, 255) * scale if arr.dtype == np.uint8 else out
    out = out[..., 0] if arr.ndim == 2 else out
    return out.astype(np.float32), Placement(tuple(arr.shape[:2]), (int(size[0]), int(size[1])),
                                             int(top), int(left), int(nh), int(nw))


# --------------------------------------------------------------------------------------------------
# The tf.data pipeline


@dataclass(frozen=True)
class _PairInfo:
    photo: str
    mask: str
    photo_orientation: int  # 1 when the photo is read through PIL (read_image turns it upright)
    mask_orientation: int  # always 1: masks with an orientation tag are refused
    mask_via_pil: bool
    photo_size: tuple[int, int] = (0, 0)  # upright (width, height)
    photo_is_jpeg: bool = False
    photo_via_pil: bool = False  # formats TensorFlow does not decode (TIFF)


def _check_pair(photo: Path, mask: Path) -> _PairInfo:
    """Cheap header check of one pair (no pixel decoding); DataError naming the file otherwise."""
    pim = _open(photo, "photo", load=False)
    check_photo_format(pim, photo)
    mim = _open(mask, "mask", load=False)
    problem = _mask_mode_problem(mim) or mask_orientation_problem(_orientation_of(mim))
    if problem:
        raise DataError(mask, problem)
    po, mo = _orientation_of(pim), 1
    psize, msize = upright_size(pim.size, po), mim.size
    if psize != msize:
        hint = (f"; it matches the photo's raw pixels before its EXIF orientation {po}: draw masks on "
                "the upright photo" if msize == pim.size else "")
        raise DataError(mask, f"mask is {msize[0]}x{msize[1]} but its photo {photo.name} is "
                              f"{psize[0]}x{psize[1]} (upright){hint}")
    via_pil = not (mim.format == "PNG" and mim.mode == "L")
    photo_via_pil = pim.format not in TF_PHOTO_FORMATS
    return _PairInfo(str(photo), str(mask), 1 if photo_via_pil else po, mo, via_pil, psize,
                     pim.format in ("JPEG", "MPO"), photo_via_pil)


def missing_files_problem(pairs: Sequence[tuple], pairs_file=None) -> str | None:
    """A re-rooting hint when none of the listed photos exists (a pairs file of another machine).

    When re-rooting onto the pairs file's own folder would find the first pair, the hint says so.
    """
    if not pairs or any(Path(photo).exists() for photo, _ in pairs):
        return None
    hint = REROOT_HINT
    if pairs_file is not None:
        folders = [os.path.dirname(os.path.abspath(p)) for pair in pairs for p in pair]
        common = os.path.commonpath(folders)
        guess = Path(pairs_file).absolute().parent
        if all((guess / os.path.relpath(os.path.abspath(p), common)).exists() for p in pairs[0]):
            hint = (f"they are found under the pairs file's folder: re-root with root={str(guess)!r} "
                    f"(`--root {guess}`, config data.root); see read_pairs")
    return f"none of the {len(pairs)} listed photos exists (first: {pairs[0][0]}); {hint}"


def check_pairs(pairs: Sequence[tuple]) -> list[_PairInfo]:
    """Header check of every pair (exists, readable, single-channel mask, sizes equal after EXIF).

    Raises DataError for the first pair at fault, saying how many more there are.
    """
    problem = missing_files_problem(pairs)
    if problem:
        raise DataError(pairs[0][0], problem)
    infos, errors = [], []
    for photo, mask in pairs:
        try:
            infos.append(_check_pair(Path(photo), Path(mask)))
        except DataError as e:
            errors.append(e)
    if errors:
        more = f" (and {len(errors) - 1} more problems; `fcn verify` lists them all)" if len(errors) > 1 else ""
        raise DataError(errors[0].path, errors[0].problem + more)
    return infos


def jpeg_scale(info: _PairInfo, height: int, width: int) -> int:
    """The largest JPEG decode reduction (1, 2, 4 or 8; libjpeg scales in the DCT, far cheaper than
    decoding in full and resizing) that still leaves at least the model's ``height`` x ``width``."""
    w, h = info.photo_size
    if not info.photo_is_jpeg:
        return 1
    return max(r for r in (1, 2, 4, 8) if r == 1 or (-(-w // r) >= width and -(-h // r) >= height))


def _orient_tf(image, orientation):
    """Apply an EXIF orientation (1..8) to a (h, w, C) tensor, like PIL's ImageOps.exif_transpose."""
    import tensorflow as tf

    image = tf.convert_to_tensor(image)

    def transpose():
        return tf.transpose(image, [1, 0, 2])

    branches = [
        lambda: image,
        lambda: tf.reverse(image, [1]),
        lambda: tf.image.rot90(image, 2),
        lambda: tf.reverse(image, [0]),
        transpose,
        lambda: tf.image.rot90(image, 3),
        lambda: tf.image.rot90(transpose(), 2),
        lambda: tf.image.rot90(image, 1),
    ]
    return tf.switch_case(tf.convert_to_tensor(orientation, tf.int32) - 1, branches)


def _as_pairs(pairs, root=None) -> list[tuple]:
    if isinstance(pairs, (str, os.PathLike)):
        return read_pairs(pairs, root=root)
    pairs = list(pairs)
    if not pairs:
        raise DataError("no pairs given to make_dataset")
    return pairs


def make_dataset(pairs, image_size, batch_size: int, *, augment=None, shuffle: bool = False,
                 cache: bool | str = False, repeat: bool = False, mask_values=None, seed: int = 0,
                 resize: str = "stretch", class_weights=None, num_classes: int | None = None,
                 ignore_index: int | None = None, root=None, match_orientation: bool = False):
    """Build the tf.data pipeline of (image, mask[, sample_weight]) batches.

    ``pairs``: list of (photo, mask) or a pairs file (re-rooted by ``root``, see :func:`read_pairs`).
    Yields images float32 (B, H, W, 3) in [0, 1], masks int32 (B, H, W, 1) class ids and, when
    ``class_weights`` (one weight per class) is given, per-pixel sample weights float32 (B, H, W, 1).
    Photos are read upright (EXIF), masks as stored, resized by nearest neighbour. ``augment``:
    None/False, True (defaults), a dict or an AugmentConfig; one random draw per example,
    reproducible for a ``seed``. ``mask_values``: raw values mapped to classes 0..K-1 (e.g. (0, 255)).
    ``ignore_index``: the void value (e.g. CamVid's 11), kept as is in the masks (also where
    augmentation moves the photo off the frame) with sample weight 0. ``num_classes``: when given, a
    mask value >= num_labels(num_classes) other than ``ignore_index`` stops iteration with an error
    naming the file. Every pair's headers are checked first (DataError naming the file); pixel values
    are checked in the graph, so run :func:`fcnlib.verify.verify` first for errors before training.
    ``match_orientation``: photos framed the other way than ``image_size`` (landscape for a portrait size)
    are resized to it turned, (W, H), as `fcnlib.spec.Preprocessor(match_orientation=True)` prepares them;
    each batch holds one size (drawn from the two groups in proportion when ``repeat``, else one group
    after the other).

    Example:

    >>> ds = make_dataset("data/synth/train.txt", (192, 144), 8, augment=True)  # doctest: +SKIP
    """
    import tensorflow as tf

    from fcnlib.augment import AugmentConfig, augment_pair

    from fcnlib.labels import num_labels

    if ignore_index is not None and not (isinstance(ignore_index, int) and 0 <= ignore_index <= 255):
        raise ValueError(f"ignore_index must be an integer 0..255 or None, got {ignore_index!r}")
    if class_weights is not None and ignore_index is not None and ignore_index < len(class_weights):
        raise ValueError(f"ignore_index {ignore_index} is one of the {len(class_weights)} weighted classes")
    pairs_file = pairs if isinstance(pairs, (str, os.PathLike)) else None
    pairs = _as_pairs(pairs, root)
    problem = missing_files_problem(pairs, pairs_file)
    if problem:
        raise DataError(pairs_file or pairs[0][0], problem)
    infos = check_pairs(pairs)
    config = AugmentConfig.coerce(augment)
    lut = tf.constant(mask_value_table(mask_values, ignore_index)) if mask_values is not None else None
    if num_classes is not None:
        limit = num_labels(num_classes)
    elif mask_values is not None:
        limit = len(mask_values)
    elif class_weights is not None:
        limit = len(class_weights)
    else:
        limit = None
    if limit is not None and ignore_index is not None and ignore_index < limit:
        raise ValueError(f"ignore_index {ignore_index} is one of the class labels 0..{limit - 1}; "
                         "void needs a value of its own")
    weights = None
    if class_weights is not None:
        table = np.zeros(256, np.float32)  # the void value (and only it, see the checks) weighs 0
        table[:len(class_weights)] = np.asarray(class_weights, np.float32)
        weights = tf.constant(table)
    if limit is None:
        value_hint = ""
    elif limit == 2:
        value_hint = " (0/255 mask? pass mask_values=(0, 255))"
    else:
        value_hint = " (255 borders? pass ignore_index=255; other values? pass mask_values)"

    def read_mask_pil(path):
        return read_mask_raw(path.decode())[..., None]

    def read_photo_pil(path):
        return read_image(path.decode())

    def load(photo, mask, photo_orientation, mask_orientation, via_pil, scale, photo_via_pil, height, width):
        def native_photo():
            raw = tf.io.read_file(photo)
            image = tf.switch_case(scale, [  # index: log2 of the JPEG reduction (see jpeg_scale)
                lambda: tf.io.decode_image(raw, channels=3, expand_animations=False),
                *[lambda r=r: tf.io.decode_jpeg(raw, channels=3, ratio=r) for r in (2, 4, 8)]])
            return _orient_tf(image, photo_orientation)

        def pil_photo():
            return tf.ensure_shape(tf.numpy_function(read_photo_pil, [photo], tf.uint8, stateful=False),
                                   [None, None, 3])

        image = tf.cond(photo_via_pil, pil_photo, native_photo)

        def pil():
            m = tf.numpy_function(read_mask_pil, [mask], tf.uint8, stateful=False)
            return tf.ensure_shape(m, [None, None, 1])

        def native():
            return tf.io.decode_png(tf.io.read_file(mask), channels=1)

        m = tf.cond(via_pil, pil, native)
        reduced = (tf.shape(m)[:2] + 2 ** scale - 1) // 2 ** scale  # a reduced JPEG decode rounds up
        checks = [tf.debugging.Assert(tf.reduce_all(tf.shape(image)[:2] == reduced),
                                      [mask, ": mask size differs from its photo"])]
        if lut is not None:
            m = tf.gather(lut, tf.cast(m, tf.int32))
            checks.append(tf.debugging.Assert(tf.reduce_min(m) >= 0, [
                mask, f": mask has values not in mask_values={tuple(mask_values)}"]))
        if limit is not None:
            labels = tf.cast(m, tf.int32)
            if ignore_index is not None:
                labels = tf.where(labels == ignore_index, 0, labels)
            void = "" if ignore_index is None else f" other than the void value {ignore_index}"
            checks.append(tf.debugging.Assert(tf.reduce_max(labels) < limit, [
                mask, f": mask has values >= {limit}{void}, outside the classes 0..{limit - 1}{value_hint}"]))
        with tf.control_dependencies(checks):
            m = tf.cast(m, tf.uint8)
        image, _ = _resize_tf(image, (height, width), resize, "bilinear")
        image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
        m, _ = _resize_tf(m, (height, width), resize, "nearest")
        return tf.ensure_shape(image, [height, width, 3]), tf.ensure_shape(m, [height, width, 1])

    def finish(index, element):
        image, m = element
        image = tf.cast(image, tf.float32) / 255.0
        if config is not None:
            example_seed = tf.stack([tf.constant(seed, tf.int64), tf.cast(index, tf.int64)])
            if ignore_index is None:
                image, m = augment_pair(image, m, example_seed, config)
            else:  # shift labels by one so that the warp's fill (0) can be told apart and made void
                image, m = augment_pair(image, tf.cast(m, tf.int32) + 1, example_seed, config)
                m = tf.where(m == 0, ignore_index, m - 1)
        m = tf.cast(m, tf.int32)
        if weights is None:
            return image, m
        return image, m, tf.gather(weights, m)

    def batches(subset: list, height: int, width: int, cache_suffix: str = ""):
        columns = (
            [i.photo for i in subset], [i.mask for i in subset],
            np.array([i.photo_orientation for i in subset], np.int32),
            np.array([i.mask_orientation for i in subset], np.int32),
            np.array([i.mask_via_pil for i in subset]),
            np.array([int(np.log2(jpeg_scale(i, height, width))) if not i.photo_via_pil else 0
                      for i in subset], np.int32),
            np.array([i.photo_via_pil for i in subset]),
        )
        read = functools.partial(load, height=height, width=width)
        ds = tf.data.Dataset.from_tensor_slices(columns)
        autotune = tf.data.AUTOTUNE
        if cache:
            ds = ds.map(read, num_parallel_calls=autotune, deterministic=True)
            ds = ds.cache(cache + cache_suffix if isinstance(cache, str) else "")
            if shuffle:
                ds = ds.shuffle(min(len(subset), 2048), seed=seed, reshuffle_each_iteration=True)
        else:
            if shuffle:
                ds = ds.shuffle(len(subset), seed=seed, reshuffle_each_iteration=True)
            ds = ds.map(read, num_parallel_calls=autotune, deterministic=True)
        if repeat:
            ds = ds.repeat()
        ds = ds.enumerate().map(finish, num_parallel_calls=autotune, deterministic=True)
        return ds.batch(batch_size)

    height, width = int(image_size[0]), int(image_size[1])
    if not match_orientation:
        return batches(infos, height, width).prefetch(tf.data.AUTOTUNE)
    sizes = [oriented_size((height, width), (h, w)) for w, h in (i.photo_size for i in infos)]  # photo_size: (w, h)
    parts = [(batches(subset, *size, "" if size == (height, width) else "-turned"), len(subset))
             for size in ((height, width), (width, height))
             if (subset := [i for i, s in zip(infos, sizes) if s == size])]
    if len(parts) == 1:
        ds = parts[0][0]
    elif repeat:
        ds = tf.data.Dataset.sample_from_datasets([d for d, _ in parts], weights=[float(n) for _, n in parts],
                                                 seed=seed)
    else:
        ds = parts[0][0].concatenate(parts[1][0])
    return ds.prefetch(tf.data.AUTOTUNE)
