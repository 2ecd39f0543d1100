"""Reading photos and masks as fcnlib expects them: upright per EXIF, masks as class ids; the one photo rule;
reduced-resolution decoding for phone photos. No TensorFlow here."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError


PHOTO_SUFFIXES = (".jpg", ".jpeg", ".mpo", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
"""File name suffixes (lower case) of photos, for every listing of photos in fcnlib (see :func:`is_photo`)."""
PHOTO_FORMATS = ("JPEG", "MPO", "PNG", "BMP", "GIF", "WEBP", "TIFF")
"""PIL formats a photo may have: read by :func:`read_image`, `fcn verify` and the training pipeline alike."""
TF_PHOTO_FORMATS = ("JPEG", "MPO", "PNG", "BMP", "GIF", "WEBP")  # decoded in the graph; others through PIL
PIPELINE_PHOTO_FORMATS = PHOTO_FORMATS  # older name
SINGLE_CHANNEL_MODES = ("L", "P", "1", "I", "I;16", "I;16B", "I;16L")
ORIENTATION_TAG = 0x0112
SPLITS = ("train", "val", "test")

Pair = tuple[Path, Path]


def is_photo(path) -> bool:
    """True when ``path`` has a photo file name (suffix in :data:`PHOTO_SUFFIXES`, any case).

    The one rule for listing photos (``fcn pairs``, prediction on a folder, benchmarks); what the file
    holds is checked when it is opened (:data:`PHOTO_FORMATS`).

    Example:

    >>> is_photo("IMG_0001.JPG"), is_photo("scan.tiff"), is_photo("notes.txt")
    (True, True, False)
    """
    return Path(path).suffix.lower() in PHOTO_SUFFIXES


def check_photo_format(im: Image.Image, path) -> None:
    """DataError naming ``path`` when an opened image is not in one of the :data:`PHOTO_FORMATS`."""
    if im.format not in PHOTO_FORMATS:
        raise DataError(path, f"photo format {im.format} is not supported; photos may be "
                              f"{', '.join(PHOTO_FORMATS)}")


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
        raise DataError(p, f"{what} file not found{_missing_hint(p)}")
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


REROOT_HINT = ("if the pairs file lists paths of another machine, re-root them: read_pairs(..., root=DIR), "
               "`fcn verify --root DIR`, config data.root (see read_pairs)")


def _missing_hint(p: Path) -> str:
    """Why a listed file may be missing: Windows separators, or paths of another machine."""
    if "\\" in str(p) and os.sep == "/":
        return "; the path has Windows backslashes: write paths with / (read_pairs converts them)"
    if p.is_absolute() and not p.parent.exists():
        return f"; its folder {p.parent} does not exist either: {REROOT_HINT}"
    return ""


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


def _to_rgb8(im: Image.Image) -> np.ndarray:
    """uint8 (H, W, 3) RGB of a decoded image of any mode.

    Gray deeper than 8 bits (16-bit PNG or TIFF: modes I;16*, I) keeps its high byte, value >> 8, as
    TensorFlow's ``decode_image`` does in the training pipeline, instead of PIL's clipping (white).
    """
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        arr = np.asarray(im)
        arr = np.clip(np.nan_to_num(arr.astype(np.float64)), 0, 65535).astype(np.uint32) >> 8
        return np.repeat(arr.astype(np.uint8)[..., None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.array(im, dtype=np.uint8)


def read_image(path) -> np.ndarray:
    """Read a photo as uint8 (H, W, 3) RGB, upright per EXIF; gray, palette and RGBA become RGB.

    16-bit photos are scaled to 8 bits (value >> 8) exactly as the training pipeline decodes them.
    Formats outside :data:`PHOTO_FORMATS` are a DataError naming the file.

    Example:

    >>> import tempfile, numpy as np
    >>> from PIL import Image
    >>> path = tempfile.mkdtemp() + "/gray16.png"
    >>> Image.fromarray(np.full((2, 3), 256 * 200, np.uint16)).save(path)
    >>> read_image(path)[0, 0].tolist()
    [200, 200, 200]
    """
    im = _open(path, "photo")
    check_photo_format(im, path)
    return _to_rgb8(ImageOps.exif_transpose(im))


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


def map_mask_values(mask: np.ndarray, mask_values: Sequence[int], path="mask",
                    ignore_index: int | None = None) -> np.ndarray:
    """Map raw mask values to class ids: ``mask_values[i]`` becomes class ``i``; ``ignore_index`` stays.

    Raises DataError naming ``path`` and the offending values when a value is not in ``mask_values``.
    """
    lut = mask_value_table(mask_values, ignore_index)
    mapped = lut[mask.astype(np.int64)]
    if (mapped < 0).any():
        bad = np.unique(mask[mapped < 0])
        shown = ", ".join(str(int(v)) for v in bad[:10]) + (" ..." if len(bad) > 10 else "")
        hint = ("; values all over 0..255 look JPEG-compressed or antialiased"
                if looks_jpeg(np.unique(mask)) else "")
        raise DataError(path, f"mask values {shown} ({len(bad)} distinct) are not in "
                              f"mask_values={tuple(int(v) for v in mask_values)}{hint}")
    return mapped.astype(np.uint8)


def mask_value_table(mask_values: Sequence[int], ignore_index: int | None = None) -> np.ndarray:
    """256-entry int32 lookup table raw value -> class id, -1 for values not listed.

    ``ignore_index`` (the void value, a raw mask value that is not one of ``mask_values``) maps to itself.
    """
    values = [int(v) for v in mask_values]
    if not values or len(set(values)) != len(values) or min(values) < 0 or max(values) > 255:
        raise DataError(f"mask_values={tuple(mask_values)}: expected distinct integers in 0..255")
    lut = np.full(256, -1, np.int32)
    lut[values] = np.arange(len(values), dtype=np.int32)
    if ignore_index is not None:
        if ignore_index in values:
            raise DataError(f"ignore_index={ignore_index} is also one of mask_values={tuple(values)}")
        if ignore_index < len(values):
            raise DataError(f"ignore_index={ignore_index} is one of the class ids 0..{len(values) - 1} "
                            f"that mask_values={tuple(values)} map to; void needs a value of its own")
        lut[int(ignore_index)] = int(ignore_index)
    return lut


ORIENTATION_NAMES = {2: "mirrored", 3: "turned 180 degrees", 4: "flipped upside down",
                     5: "mirrored and turned", 6: "turned 90 degrees", 7: "mirrored and turned",
                     8: "turned 270 degrees"}


def mask_orientation_problem(orientation: int) -> str | None:
    """Why a mask with this EXIF orientation tag is refused, or None for an untagged/upright one.

    The rule: masks are label maps, read as stored, never turned. A tag on a mask is ambiguous (an
    editor may have copied the photo's tag onto pixels drawn upright, or saved raw pixels with it):
    applying it can turn the labels 180 degrees against the photo without any size change, ignoring it
    can do the same the other way, so fcnlib refuses the mask instead of guessing.
    """
    if orientation == 1:
        return None
    return (f"mask carries EXIF orientation {orientation} ({ORIENTATION_NAMES.get(orientation, '?')}); "
            "masks are label maps read as stored, and a tag on one is ambiguous (often the photo's tag "
            "copied by an editor), so it is refused rather than guessed. If the mask lines up with the "
            "upright photo, re-save it without the tag (PIL: Image.open(p).save(p)); if it lines up with "
            "the photo's raw pixels, save it upright (PIL: ImageOps.exif_transpose(Image.open(p)).save(p))")


def _deep_mask_problem(arr: np.ndarray) -> str:
    values = np.unique(arr)
    if set(values.tolist()) <= {0, 65535}:
        return ("16-bit mask with values 0/65535 (a black/white picture, not class ids): save it as an "
                "8-bit PNG holding class ids, e.g. 0 and 1")
    return (f"mask values range {arr.min()}..{arr.max()} (a {arr.dtype.itemsize * 8}-bit mask); class ids "
            "must be 0..255: save masks as 8-bit PNG")


def read_mask_raw(path) -> np.ndarray:
    """Read a mask's raw values as uint8 (H, W) as stored.

    DataError naming the file for a JPEG or multi-channel mask, a mask with an EXIF orientation tag
    (see :func:`mask_orientation_problem`) and 16-bit values above 255 (e.g. a 0/65535 picture).
    """
    im = _open(path, "mask")
    problem = _mask_mode_problem(im)
    if problem and im.mode in ("RGB", "RGBA", "LA") and im.format != "JPEG":
        arr = np.asarray(im)
        if im.mode == "RGB" and (arr[..., 0] == arr[..., 1]).all() and (arr[..., 0] == arr[..., 2]).all():
            problem += "; its 3 channels are equal, so save it as grayscale (mode L)"
    if problem:
        raise DataError(path, problem)
    problem = mask_orientation_problem(_orientation_of(im))
    if problem:
        raise DataError(path, problem)
    arr = np.asarray(im)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if arr.dtype != np.uint8:
        if arr.min() < 0 or arr.max() > 255:
            raise DataError(path, _deep_mask_problem(arr))
        arr = arr.astype(np.uint8)
    return arr


def read_mask(path, mask_values: Sequence[int] | None = None, ignore_index: int | None = None) -> np.ndarray:
    """Read a mask as uint8 (H, W) class ids, as stored (a mask with an EXIF orientation tag is refused).

    Masks must be single-channel (PNG mode L, P (palette index = class), 1 or I) and not JPEG.
    ``mask_values=(0, 255)`` maps 0 -> class 0 and 255 -> class 1 (value ``mask_values[i]`` -> class i);
    ``ignore_index`` (void) passes through unmapped; any other value is a DataError naming the file and
    the values.
    """
    arr = read_mask_raw(path)
    return arr if mask_values is None else map_mask_values(arr, mask_values, path, ignore_index)


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
    ImageOps.exif_transpose(im, in_place=True)  # in place: no copy of an upright photo
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
