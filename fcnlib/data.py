"""Dataset tools and the tf.data input pipeline.

A dataset root holds ``original/`` (photos) and ``mask/`` (single-channel masks, one integer per class,
same file stem as the photo). A pairs file lists one ``photo<TAB>mask`` pair per line. This module reads
photos and masks the way the rest of fcnlib expects them (upright per EXIF, masks as class ids), reads
and writes pairs files, splits them, imports corner-annotated photos, and builds the ``tf.data`` pipeline
used for training. Every problem with user data raises :class:`DataError` whose message starts with the
file at fault. ``verify`` (a full dataset check) lives in :mod:`fcnlib.verify`, augmentation in
:mod:`fcnlib.augment`.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
PIPELINE_PHOTO_FORMATS = ("JPEG", "PNG", "BMP", "GIF")
SINGLE_CHANNEL_MODES = ("L", "P", "1", "I", "I;16", "I;16B", "I;16L")
ORIENTATION_TAG = 0x0112
SPLITS = ("train", "val", "test")

Pair = tuple[Path, Path]


class DataError(ValueError):
    """A problem with user data; the message starts with the file at fault.

    ``DataError(path, problem)`` gives ``"path: problem"`` and keeps ``.path`` and ``.problem``;
    ``DataError(message)`` is accepted too (``.path`` is then None).
    """

    def __init__(self, path, problem: str | None = None):
        if problem is None:
            self.path, self.problem = None, str(path)
            super().__init__(str(path))
        else:
            self.path, self.problem = str(path), problem
            super().__init__(f"{path}: {problem}")


# --------------------------------------------------------------------------------------------------
# Reading photos and masks


def _open(path, what: str, load: bool = True) -> Image.Image:
    """Open an image with PIL (fully decoded when ``load``), turning every failure into DataError."""
    p = Path(path)
    if not p.exists():
        raise DataError(p, f"{what} file not found")
    if not p.is_file():
        raise DataError(p, f"{what} path is not a file")
    try:
        im = Image.open(p)
        if load:
            im.load()
    except UnidentifiedImageError:
        raise DataError(p, f"cannot read {what}: not an image file or an unknown format") from None
    except OSError as e:
        if "truncated" in str(e).lower():
            raise DataError(p, f"{what} file is truncated (incomplete download or copy?)") from None
        raise DataError(p, f"cannot read {what}: {e}") from None
    except Exception as e:  # PIL raises SyntaxError, ValueError, struct.error ... on corrupt files
        raise DataError(p, f"cannot read {what}: corrupt file ({type(e).__name__}: {e})") from None
    return im


def _orientation_of(im: Image.Image) -> int:
    try:
        value = int(im.getexif().get(ORIENTATION_TAG, 1))
    except Exception:
        return 1
    return value if 1 <= value <= 8 else 1


def exif_orientation(path) -> int:
    """EXIF orientation tag of an image file (1..8; 1 = pixels already upright, also when absent)."""
    return _orientation_of(_open(path, "image", load=False))


def upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """(width, height) of an image of raw ``size`` once its EXIF ``orientation`` is applied."""
    w, h = size
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def read_image(path) -> np.ndarray:
    """Read a photo as uint8 (H, W, 3) RGB, upright per EXIF; gray, palette and RGBA become RGB."""
    im = ImageOps.exif_transpose(_open(path, "photo"))
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.array(im, dtype=np.uint8)


def _mask_mode_problem(im: Image.Image) -> str | None:
    """Why this (loaded or header-only) image cannot be a mask, or None."""
    if im.format == "JPEG":
        return ("mask is a JPEG: lossy compression changes class values along edges; "
                "save masks as PNG")
    if im.mode not in SINGLE_CHANNEL_MODES:
        bands = len(im.getbands())
        return (f"mask has {bands} channels (mode {im.mode}); expected a single-channel image "
                "(one integer class id per pixel, e.g. PNG mode L)")
    return None


def looks_jpeg(values: Iterable[int]) -> bool:
    """True when a mask's distinct values look like JPEG/antialiasing noise rather than class ids."""
    values = np.asarray(sorted(set(int(v) for v in values)))
    return len(values) > 16 and values.max() > 128


def map_mask_values(mask: np.ndarray, mask_values: Sequence[int], path="mask") -> np.ndarray:
    """Map raw mask values to class ids: ``mask_values[i]`` becomes class ``i``.

    Raises DataError naming ``path`` and the offending values when a value is not in ``mask_values``.
    """
    lut = mask_value_table(mask_values)
    mapped = lut[mask.astype(np.int64)]
    if (mapped < 0).any():
        bad = np.unique(mask[mapped < 0])
        shown = ", ".join(str(int(v)) for v in bad[:10]) + (" ..." if len(bad) > 10 else "")
        hint = ("; values all over 0..255 look JPEG-compressed or antialiased"
                if looks_jpeg(np.unique(mask)) else "")
        raise DataError(path, f"mask values {shown} ({len(bad)} distinct) are not in "
                              f"mask_values={tuple(int(v) for v in mask_values)}{hint}")
    return mapped.astype(np.uint8)


def mask_value_table(mask_values: Sequence[int]) -> np.ndarray:
    """256-entry int32 lookup table raw value -> class id, -1 for values not listed."""
    values = [int(v) for v in mask_values]
    if not values or len(set(values)) != len(values) or min(values) < 0 or max(values) > 255:
        raise DataError(f"mask_values={tuple(mask_values)}: expected distinct integers in 0..255")
    lut = np.full(256, -1, np.int32)
    lut[values] = np.arange(len(values), dtype=np.int32)
    return lut


def read_mask_raw(path) -> np.ndarray:
    """Read a mask's raw values as uint8 (H, W), upright per EXIF; DataError for JPEG or multi-channel."""
    im = _open(path, "mask")
    problem = _mask_mode_problem(im)
    if problem and im.mode in ("RGB", "RGBA", "LA") and im.format != "JPEG":
        arr = np.asarray(im)
        if im.mode == "RGB" and (arr[..., 0] == arr[..., 1]).all() and (arr[..., 0] == arr[..., 2]).all():
            problem += "; its 3 channels are equal, so save it as grayscale (mode L)"
    if problem:
        raise DataError(path, problem)
    im = ImageOps.exif_transpose(im)
    arr = np.asarray(im)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if arr.dtype != np.uint8:
        if arr.min() < 0 or arr.max() > 255:
            raise DataError(path, f"mask values range {arr.min()}..{arr.max()}; class ids must be 0..255")
        arr = arr.astype(np.uint8)
    return arr


def read_mask(path, mask_values: Sequence[int] | None = None) -> np.ndarray:
    """Read a mask as uint8 (H, W) class ids, upright per EXIF.

    Masks must be single-channel (PNG mode L, P (palette index = class), 1 or I) and not JPEG.
    ``mask_values=(0, 255)`` maps 0 -> class 0 and 255 -> class 1 (value ``mask_values[i]`` -> class i);
    any other value is a DataError naming the file and the values.
    """
    arr = read_mask_raw(path)
    return arr if mask_values is None else map_mask_values(arr, mask_values, path)


# --------------------------------------------------------------------------------------------------
# Pairs files


def _parse_pairs_line(line: str, where: str) -> tuple[str, str]:
    if "\t" in line:
        fields = [f.strip() for f in line.split("\t") if f.strip()]
        if len(fields) != 2:
            raise DataError(where, f"expected 'photo<TAB>mask', found {len(fields)} TAB-separated "
                                   f"fields: {line!r}")
        return fields[0], fields[1]
    tokens = line.split()
    if len(tokens) != 2:
        raise DataError(where, f"cannot split {line!r} into photo and mask ({len(tokens)} "
                               "whitespace-separated parts); separate them with a TAB "
                               "(paths may contain spaces)")
    return tokens[0], tokens[1]


def read_pairs(pairs_file) -> list[Pair]:
    """Read a pairs file: one ``photo<TAB>mask`` per line; relative paths resolve against its folder.

    Lines without a TAB are split on whitespace when that gives exactly two paths. Blank lines and
    ``#`` comments are skipped. Malformed lines raise DataError("file:line: ...").
    """
    pairs_file = Path(pairs_file)
    if not pairs_file.is_file():
        raise DataError(pairs_file, "pairs file not found")
    base = pairs_file.absolute().parent
    try:
        text = pairs_file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(pairs_file, f"pairs file is not UTF-8 text ({e})") from None
    pairs = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        photo, mask = _parse_pairs_line(line, f"{pairs_file}:{number}")
        pairs.append((Path(os.path.normpath(base / photo)), Path(os.path.normpath(base / mask))))
    if not pairs:
        raise DataError(pairs_file, "pairs file holds no pairs (only blank lines or comments)")
    return pairs


def _relative(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(Path(path).absolute(), base)).as_posix()
    except ValueError:  # another drive on Windows
        return Path(path).absolute().as_posix()


def write_pairs(pairs: Iterable[tuple], pairs_file) -> Path:
    """Write pairs as ``photo<TAB>mask`` lines, paths relative to the pairs file's folder."""
    pairs_file = Path(pairs_file)
    base = pairs_file.absolute().parent
    base.mkdir(parents=True, exist_ok=True)
    lines = ["# photo<TAB>mask, relative to this file's folder"]
    for photo, mask in pairs:
        for p in (photo, mask):
            if any(c in str(p) for c in "\t\n\r"):
                raise DataError(p, "path contains a TAB or a line break; it cannot go in a pairs file")
        lines.append(f"{_relative(photo, base)}\t{_relative(mask, base)}")
    pairs_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return pairs_file


def _images_by_stem(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
            if p.stem in found:
                raise DataError(p, f"two files with stem {p.stem!r} in {folder} ({found[p.stem].name}); "
                                   "stems must be unique")
            found[p.stem] = p
    return found


def make_pairs(root) -> tuple[list[Pair], list[Path], list[Path]]:
    """Match ``root/original/*`` with ``root/mask/*`` by file stem.

    Returns (pairs, photos_without_mask, masks_without_photo), each sorted.
    """
    root = Path(root)
    folders = {name: root / name for name in ("original", "mask")}
    for name, folder in folders.items():
        if not folder.is_dir():
            raise DataError(folder, "folder not found: a dataset root holds original/ and mask/")
    photos = _images_by_stem(folders["original"])
    masks = _images_by_stem(folders["mask"])
    pairs = [(photos[s], masks[s]) for s in sorted(photos) if s in masks]
    return (pairs, [photos[s] for s in sorted(photos) if s not in masks],
            [masks[s] for s in sorted(masks) if s not in photos])


def split_pairs(pairs_file, val: float = 0.15, test: float = 0.15, seed: int = 0) -> dict[str, Path]:
    """Split a pairs file into train/val/test pairs files written beside it.

    Deterministic for a seed; every line of one photo goes to the same split. Splits that come out
    empty (e.g. ``test=0``) are not written (a stale file of that name is removed) nor returned.
    """
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError(f"val={val} and test={test} must be >= 0 and sum to less than 1")
    pairs_file = Path(pairs_file)
    pairs = read_pairs(pairs_file)
    groups: dict[Path, list[Pair]] = {}
    for pair in pairs:
        groups.setdefault(pair[0], []).append(pair)
    photos = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(photos))
    n = len(photos)
    n_test, n_val = int(round(test * n)), int(round(val * n))
    if n_test + n_val >= n:
        raise DataError(pairs_file, f"{n} photos are too few for val={val}, test={test}")
    chosen = {"test": order[:n_test], "val": order[n_test:n_test + n_val], "train": order[n_test + n_val:]}
    out = {}
    for name in SPLITS:
        target = pairs_file.parent / f"{name}.txt"
        if target.absolute() == pairs_file.absolute():
            raise DataError(pairs_file, f"pairs file is named {target.name}; the split would overwrite it")
        members = [pair for i in sorted(chosen[name]) for pair in groups[photos[i]]]
        if members:
            out[name] = write_pairs(members, target)
        elif target.exists():
            target.unlink()
    return out


# --------------------------------------------------------------------------------------------------
# Importing corner-annotated photos


def read_corners(path) -> np.ndarray | None:
    """Read a corner annotation as a (4, 2) float outline in drawing order, or None for "no object".

    ``.txt``: ``x1,y1,x2,y2,x3,y3,x4,y4`` in the order top-left, top-right, bottom-left, bottom-right
    (the ../shared/data/receipts format), reordered here to the outline TL, TR, BR, BL.
    ``.json``: ``{"corners": [[x, y] x 4] or null}`` in outline order (TL, TR, BR, BL).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise DataError(path, f"cannot read corners: {e}") from None
    if path.suffix.lower() == ".json":
        try:
            corners = json.loads(text)["corners"]
        except (ValueError, KeyError, TypeError) as e:
            raise DataError(path, f'expected JSON {{"corners": [[x, y] x 4] or null}} ({e})') from None
        if corners is None:
            return None
        arr = np.asarray(corners, dtype=float) if isinstance(corners, list) else np.zeros(0)
        if arr.shape != (4, 2):
            raise DataError(path, f"expected 4 [x, y] corners, found shape {arr.shape}")
        return arr
    tokens = text.replace(",", " ").split()
    try:
        values = [float(t) for t in tokens]
    except ValueError:
        raise DataError(path, f"expected eight numbers x1,y1,...,x4,y4, found {text.strip()!r}") from None
    if len(values) != 8:
        raise DataError(path, f"expected eight numbers x1,y1,...,x4,y4, found {len(values)}")
    tl, tr, bl, br = np.asarray(values).reshape(4, 2)
    return np.stack([tl, tr, br, bl])


def polygon_mask(corners: np.ndarray | None, height: int, width: int) -> np.ndarray:
    """uint8 (H, W) mask {0, 1}: pixels whose centre lies inside the polygon (even-odd rule).

    All zero for None. Vectorized numpy (skimage.draw.polygon took 0.1 s per 600x800 mask here).
    """
    mask = np.zeros((height, width), bool)
    if corners is not None:
        pts = np.asarray(corners, float)
        y = np.arange(height, dtype=float)[:, None]
        x = np.arange(width, dtype=float)[None, :]
        for (x1, y1), (x2, y2) in zip(pts, np.roll(pts, -1, axis=0)):
            if y1 == y2:
                continue
            crosses = (y1 > y) != (y2 > y)
            x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            mask ^= crosses & (x < x_cross)
    return mask.astype(np.uint8)


def import_quads(images_dir, corners_dir, out_root, negatives_dir=None) -> Path:
    """Turn corner-annotated photos into ``out_root/original``, ``out_root/mask`` and ``pairs.txt``.

    Each photo in ``images_dir`` needs ``corners_dir/<stem>.txt`` or ``.json`` (see :func:`read_corners`);
    masks are the filled quadrilateral (1) on background (0), at the upright photo's size. Photos in
    ``negatives_dir`` get all-zero masks. Photos are copied unchanged; the corners are kept as
    ``out_root/corners/<stem>.json`` (clockwise from top-left, or null), the layout `fcn synth` writes
    and `fcn evaluate` reads for quad IoU and corner error. Returns the pairs file.
    """
    images_dir, corners_dir, out_root = Path(images_dir), Path(corners_dir), Path(out_root)
    for folder in (images_dir, corners_dir) + ((Path(negatives_dir),) if negatives_dir else ()):
        if not folder.is_dir():
            raise DataError(folder, "folder not found")
    jobs: list[tuple[Path, Path | None]] = []
    for photo in _images_by_stem(images_dir).values():
        ann = [corners_dir / f"{photo.stem}{s}" for s in (".txt", ".json")]
        ann = [a for a in ann if a.is_file()]
        if not ann:
            raise DataError(photo, f"no corners file {photo.stem}.txt or {photo.stem}.json in {corners_dir}")
        jobs.append((photo, ann[0]))
    if negatives_dir:
        jobs += [(p, None) for p in _images_by_stem(Path(negatives_dir)).values()]
    stems = {}
    for photo, _ in jobs:
        if photo.stem in stems:
            raise DataError(photo, f"same stem as {stems[photo.stem]}; stems must be unique")
        stems[photo.stem] = photo
    (out_root / "original").mkdir(parents=True, exist_ok=True)
    (out_root / "mask").mkdir(parents=True, exist_ok=True)
    (out_root / "corners").mkdir(parents=True, exist_ok=True)
    pairs = []
    for photo, ann in jobs:
        im = _open(photo, "photo", load=False)
        width, height = upright_size(im.size, _orientation_of(im))
        corners = read_corners(ann) if ann is not None else None
        mask_path = out_root / "mask" / f"{photo.stem}.png"
        Image.fromarray(polygon_mask(corners, height, width)).save(mask_path)
        (out_root / "corners" / f"{photo.stem}.json").write_text(
            json.dumps({"corners": None if corners is None else np.asarray(corners).tolist()}))
        photo_out = out_root / "original" / photo.name
        shutil.copyfile(photo, photo_out)
        pairs.append((photo_out, mask_path))
    return write_pairs(pairs, out_root / "pairs.txt")


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
    photo_orientation: int
    mask_orientation: int
    mask_via_pil: bool
    photo_size: tuple[int, int] = (0, 0)  # upright (width, height)
    photo_is_jpeg: bool = False


def _check_pair(photo: Path, mask: Path) -> _PairInfo:
    """Cheap header check of one pair (no pixel decoding); DataError naming the file otherwise."""
    pim = _open(photo, "photo", load=False)
    if pim.format not in PIPELINE_PHOTO_FORMATS:
        raise DataError(photo, f"photo format {pim.format} is not read by the pipeline; use JPEG, PNG or BMP")
    mim = _open(mask, "mask", load=False)
    problem = _mask_mode_problem(mim)
    if problem:
        raise DataError(mask, problem)
    po, mo = _orientation_of(pim), _orientation_of(mim)
    psize, msize = upright_size(pim.size, po), upright_size(mim.size, mo)
    if psize != msize:
        hint = (f"; it matches the photo's raw pixels before its EXIF orientation {po}: draw masks on "
                "the upright photo" if msize == pim.size else "")
        raise DataError(mask, f"mask is {msize[0]}x{msize[1]} but its photo {photo.name} is "
                              f"{psize[0]}x{psize[1]} (upright){hint}")
    via_pil = not (mim.format == "PNG" and mim.mode == "L")
    return _PairInfo(str(photo), str(mask), po, mo, via_pil, psize, pim.format == "JPEG")


def check_pairs(pairs: Sequence[tuple]) -> list[_PairInfo]:
    """Header check of every pair (exists, readable, single-channel mask, sizes equal after EXIF).

    Raises DataError for the first pair at fault, saying how many more there are.
    """
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


def _as_pairs(pairs) -> list[tuple]:
    if isinstance(pairs, (str, os.PathLike)):
        return read_pairs(pairs)
    pairs = list(pairs)
    if not pairs:
        raise DataError("no pairs given to make_dataset")
    return pairs


def make_dataset(pairs, image_size, batch_size: int, *, augment=None, shuffle: bool = False,
                 cache: bool | str = False, repeat: bool = False, mask_values=None, seed: int = 0,
                 resize: str = "stretch", class_weights=None, num_classes: int | None = None):
    """Build the tf.data pipeline of (image, mask[, sample_weight]) batches.

    ``pairs``: list of (photo, mask) or a pairs file. Yields images float32 (B, H, W, 3) in [0, 1],
    masks int32 (B, H, W, 1) class ids and, when ``class_weights`` (one weight per class) is given,
    per-pixel sample weights float32 (B, H, W, 1). Photos are read upright (EXIF), masks are resized
    by nearest neighbour. ``augment``: None/False, True (defaults), a dict or an AugmentConfig;
    one random draw per example, reproducible for a ``seed``. ``mask_values``: raw values mapped to
    classes 0..K-1 (e.g. (0, 255)). ``num_classes``: when given, a mask value >= max(num_classes, 2)
    stops iteration with an error naming the file. Every pair's headers are checked first
    (DataError naming the file); pixel values are checked in the graph.
    """
    import tensorflow as tf

    from fcnlib.augment import AugmentConfig, augment_pair

    pairs = _as_pairs(pairs)
    infos = check_pairs(pairs)
    config = AugmentConfig.coerce(augment)
    height, width = int(image_size[0]), int(image_size[1])
    lut = tf.constant(mask_value_table(mask_values)) if mask_values is not None else None
    limit = max(int(num_classes), 2) if num_classes is not None else None
    weights = tf.constant(np.asarray(class_weights, np.float32)) if class_weights is not None else None

    def read_mask_pil(path):
        return read_mask_raw(path.decode())[..., None]

    def load(photo, mask, photo_orientation, mask_orientation, via_pil, scale):
        raw = tf.io.read_file(photo)
        image = tf.switch_case(scale, [  # index: log2 of the JPEG reduction (see jpeg_scale)
            lambda: tf.io.decode_image(raw, channels=3, expand_animations=False),
            *[lambda r=r: tf.io.decode_jpeg(raw, channels=3, ratio=r) for r in (2, 4, 8)]])
        image = _orient_tf(image, photo_orientation)

        def pil():
            m = tf.numpy_function(read_mask_pil, [mask], tf.uint8, stateful=False)
            return tf.ensure_shape(m, [None, None, 1])

        def native():
            return _orient_tf(tf.io.decode_png(tf.io.read_file(mask), channels=1), mask_orientation)

        m = tf.cond(via_pil, pil, native)
        reduced = (tf.shape(m)[:2] + 2 ** scale - 1) // 2 ** scale  # a reduced JPEG decode rounds up
        checks = [tf.debugging.Assert(tf.reduce_all(tf.shape(image)[:2] == reduced),
                                      [mask, ": mask size differs from its photo"])]
        if lut is not None:
            m = tf.gather(lut, tf.cast(m, tf.int32))
            checks.append(tf.debugging.Assert(tf.reduce_min(m) >= 0, [
                mask, f": mask has values not in mask_values={tuple(mask_values)}"]))
        if limit is not None:
            checks.append(tf.debugging.Assert(tf.reduce_max(tf.cast(m, tf.int32)) < limit, [
                mask, f": mask has values >= {limit}, outside the classes (0/255 mask? "
                      "pass mask_values=(0, 255))"]))
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
            image, m = augment_pair(image, m, example_seed, config)
        m = tf.cast(m, tf.int32)
        if weights is None:
            return image, m
        return image, m, tf.gather(weights, m)

    columns = (
        [i.photo for i in infos], [i.mask for i in infos],
        np.array([i.photo_orientation for i in infos], np.int32),
        np.array([i.mask_orientation for i in infos], np.int32),
        np.array([i.mask_via_pil for i in infos]),
        np.array([int(np.log2(jpeg_scale(i, height, width))) for i in infos], np.int32),
    )
    ds = tf.data.Dataset.from_tensor_slices(columns)
    autotune = tf.data.AUTOTUNE
    if cache:
        ds = ds.map(load, num_parallel_calls=autotune, deterministic=True)
        ds = ds.cache(cache if isinstance(cache, str) else "")
        if shuffle:
            ds = ds.shuffle(min(len(infos), 2048), seed=seed, reshuffle_each_iteration=True)
    else:
        if shuffle:
            ds = ds.shuffle(len(infos), seed=seed, reshuffle_each_iteration=True)
        ds = ds.map(load, num_parallel_calls=autotune, deterministic=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.enumerate().map(finish, num_parallel_calls=autotune, deterministic=True)
    return ds.batch(batch_size).prefetch(autotune)


def bench_pipeline(image_dir, n_batches: int = 20, batch_size: int = 8, size: int = 256,
                   augment=True) -> dict:
    """Photos/s of the input pipeline alone (decode, EXIF, resize, augment, batch).

    ``image_dir``: a pairs file, a dataset root (original/ + mask/), or a folder of photos (then
    all-zero masks are written to a temporary folder so the mask path is exercised too).
    """
    image_dir = Path(image_dir)
    with tempfile.TemporaryDirectory() as tmp:
        if image_dir.is_file():
            pairs = read_pairs(image_dir)
        elif (image_dir / "original").is_dir():
            pairs = make_pairs(image_dir)[0]
        else:
            photos = list(_images_by_stem(image_dir).values())
            if not photos:
                raise DataError(image_dir, "no photos (.jpg, .jpeg, .png, .bmp) in this folder")
            pairs = []
            for photo in photos:
                im = _open(photo, "photo", load=False)
                w, h = upright_size(im.size, _orientation_of(im))
                mask = Path(tmp) / f"{photo.stem}.png"
                Image.fromarray(np.zeros((h, w), np.uint8)).save(mask)
                pairs.append((photo, mask))
        ds = make_dataset(pairs, (size, size), batch_size, augment=augment, shuffle=True, repeat=True)
        it = iter(ds)
        for _ in range(2):  # warm up: tracing, thread pools, file cache
            next(it)
        start = time.perf_counter()
        for _ in range(n_batches):
            next(it)
        seconds = time.perf_counter() - start
        del it, ds  # stop prefetching before the temporary masks go away
    return {"photos_per_s": n_batches * batch_size / seconds, "seconds": seconds, "batches": n_batches,
            "batch_size": batch_size, "size": size, "files": len(pairs), "augment": bool(augment)}


# --------------------------------------------------------------------------------------------------
# Reduced-resolution photo reading (phone photos: decode only the pixels a step needs)


@dataclass(frozen=True)
class ReducedPhoto:
    """A photo decoded at a reduced resolution, upright per EXIF.

    ``image``: the decoded photo (a PIL RGB image in `open_image_reduced`, a uint8 (h, w, 3) array in
    `read_image_reduced`); ``size``: (H, W) of the full-resolution upright photo; ``scale``: full-photo
    pixels per reduced pixel (1, 2, 4 or 8). Reduced pixel ``i`` covers full pixels ``[i*scale,
    (i+1)*scale)``, so a pixel-centre coordinate ``x`` maps to ``(x + 0.5) * scale - 0.5`` in the full photo
    (`to_full`).
    """

    image: object
    size: tuple[int, int]
    scale: int

    def to_full(self, xy) -> np.ndarray:
        """(x, y) pixel-centre coordinates in the reduced image -> in the full-resolution photo."""
        return (np.asarray(xy, dtype=np.float64) + 0.5) * self.scale - 0.5

    def to_reduced(self, xy) -> np.ndarray:
        """(x, y) pixel-centre coordinates in the full-resolution photo -> in the reduced image."""
        return (np.asarray(xy, dtype=np.float64) + 0.5) / self.scale - 0.5


def open_image_reduced(path, long_side: int | None = None) -> ReducedPhoto:
    """Open a photo as a PIL RGB image, upright per EXIF, at the smallest of 1/1, 1/2, 1/4 and 1/8 of
    its resolution whose long side is still >= ``long_side`` (None: full resolution).

    JPEGs are reduced inside libjpeg while decoding (PIL's ``Image.draft``: a 12 MP photo decodes at 1/4
    several times faster than at full size and takes 1/16 of the memory); other formats are decoded,
    then box-reduced by the same integer factor. Errors are `DataError` naming the file.

    Example:
    >>> photo = open_image_reduced("IMG_0001.jpg", long_side=1000)  # doctest: +SKIP
    >>> photo.image.size, photo.size, photo.scale  # doctest: +SKIP
    ((750, 1000), (4000, 3000), 4)
    """
    im = _open(path, "photo", load=False)
    w, h = im.size
    scale = 1
    if long_side is not None and long_side > 0:
        while scale < 8 and max(w, h) / (scale * 2) >= long_side:
            scale *= 2
    if scale > 1 and im.format == "JPEG":
        im.draft("RGB", (-(-w // scale), -(-h // scale)))
        got = im.size[0]
        scale = max(1, int(round(w / got))) if got else 1
    try:
        im.load()
    except Exception:  # the same file, the same errors as `read_image`
        im = _open(path, "photo")
    reduce_after = im.size == (w, h) and scale > 1  # not reduced while decoding
    orientation = _orientation_of(im)
    im = ImageOps.exif_transpose(im)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
    if im.mode != "RGB":
        im = im.convert("RGB")
    if reduce_after:  # box-reduce: the same pixel grid as libjpeg's scaled decoding
        im = im.reduce(scale)
    full_w, full_h = upright_size((w, h), orientation)
    return ReducedPhoto(im, (full_h, full_w), scale)


def read_image_reduced(path, long_side: int | None = None) -> ReducedPhoto:
    """`open_image_reduced` with the image as a uint8 (h, w, 3) RGB array (`read_image` at a reduced
    resolution).

    Example:
    >>> photo = read_image_reduced("IMG_0001.jpg", long_side=500)  # doctest: +SKIP
    >>> photo.image.shape, photo.scale  # doctest: +SKIP
    ((500, 375, 3), 8)
    """
    photo = open_image_reduced(path, long_side)
    return ReducedPhoto(np.asarray(photo.image, dtype=np.uint8), photo.size, photo.scale)
