"""Dataset tools and the tf.data input pipeline.

A dataset root holds ``original/`` (photos) and ``mask/`` (single-channel masks, one integer per class,
same file stem as the photo). A pairs file lists one ``photo<TAB>mask`` pair per line (SegNet's
space-separated lists of absolute paths are read too, see :func:`read_pairs` and its ``root``).

What may be a photo is one rule for the whole library: :data:`PHOTO_SUFFIXES` / :func:`is_photo` for file
names (pairs, folder listings in prediction) and :data:`PHOTO_FORMATS` for the decoded content (JPEG,
MPO phone JPEGs, PNG, BMP, GIF, WEBP, TIFF). Masks are label maps read as stored: a mask carrying an EXIF
orientation tag is refused (see :func:`read_mask_raw`). This module reads
photos and masks the way the rest of fcnlib expects them (upright per EXIF, masks as class ids), reads
and writes pairs files, splits them, imports corner-annotated photos, and builds the ``tf.data`` pipeline
used for training. Every problem with user data raises :class:`DataError` whose message starts with the
file at fault. ``verify`` (a full dataset check) lives in :mod:`fcnlib.verify`, augmentation in
:mod:`fcnlib.augment`.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
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


_DRIVE = re.compile(r"^[A-Za-z]:(?=/)")


def _listed(field: str) -> str:
    """A listed path with Windows separators as ``/`` (on POSIX, where a backslash is no separator)."""
    return field.replace("\\", "/") if os.sep == "/" and "\\" in field else field


def _listed_absolute(field: str) -> str | None:
    """The POSIX-style absolute form of a listed path (``C:/data/x`` -> ``/data/x``), None if relative."""
    if _DRIVE.match(field):
        return field[2:]
    return field if field.startswith("/") or Path(field).is_absolute() else None


def _parse_root(root) -> tuple[str | None, Path]:
    """(old prefix, new folder) for ``"OLD=NEW"``; (None, folder) for a plain folder."""
    text = os.fspath(root)
    if isinstance(text, str) and "=" in text and not Path(text).exists():
        old, new = text.split("=", 1)
        if not old.strip() or not new.strip():
            raise DataError(f"root={text!r}: expected a folder or OLD=NEW (a listed prefix and its new folder)")
        return _listed(old.strip()).rstrip("/") or "/", Path(new.strip()).absolute()
    return None, Path(text).absolute()


def _resolve_listed(fields: list[str], base: Path, root) -> list[Path]:
    """Resolve the listed paths of one pairs file (see :func:`read_pairs` for the rule)."""
    fields = [_listed(f) for f in fields]
    if root is None:
        return [Path(os.path.normpath(base / f)) for f in fields]
    old, new = _parse_root(root)
    out = []
    if old is not None:
        for f in fields:
            rel = None
            if f == old or f.startswith(old.rstrip("/") + "/"):
                rel = f[len(old):].lstrip("/")
            out.append(Path(os.path.normpath(new / rel)) if rel is not None else
                       Path(os.path.normpath(base / f)))
        return out
    absolute = [_listed_absolute(f) for f in fields]
    listed_abs = [a for a in absolute if a is not None]
    common = os.path.commonpath([os.path.dirname(a) for a in listed_abs]) if listed_abs else None
    for f, a in zip(fields, absolute):
        rel = f if a is None else os.path.relpath(a, common)
        out.append(Path(os.path.normpath(new / rel)))
    return out


def read_pairs(pairs_file, root=None) -> list[Pair]:
    """Read a pairs file: one photo and its mask per line.

    A line is ``photo<TAB>mask`` (what :func:`write_pairs` writes; paths may contain spaces) or, without
    a TAB, two whitespace-separated paths (SegNet's ``train.txt``). Blank lines and ``#`` comments are
    skipped; Windows backslashes become ``/``. Malformed lines raise DataError("file:line: ...").

    Where the listed paths point:

    - ``root=None``: relative paths resolve against the pairs file's folder, absolute ones are kept.
    - ``root=DIR`` (re-rooting a list written on another machine): relative paths resolve against DIR;
      absolute ones move from the deepest folder holding all of them to DIR. SegNet's
      ``/SegNet/CamVid/train/0001TP_006690.png`` and ``/SegNet/CamVid/trainannot/0001TP_006690.png``
      share ``/SegNet/CamVid``, so ``root="../shared/data/camvid"`` gives
      ``../shared/data/camvid/train/0001TP_006690.png`` and ``.../trainannot/0001TP_006690.png``.
    - ``root="OLD=NEW"``: listed paths under the folder OLD get the folder NEW instead (exact, for
      lists whose files are not all under one data folder); other paths resolve as with ``root=None``.

    A relative DIR or NEW is relative to the current directory. Files are not opened here: a missing
    one is reported, with its path and a re-rooting hint, where it is read (``verify``, the pipeline).

    Example:

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "train.txt"
    >>> _ = f.write_text("/SegNet/CamVid/train/a.png /SegNet/CamVid/trainannot/a.png\\n")
    >>> [p.as_posix() for p in read_pairs(f, root="/data/camvid")[0]]
    ['/data/camvid/train/a.png', '/data/camvid/trainannot/a.png']
    """
    pairs_file = Path(pairs_file)
    if pairs_file.is_dir():
        listed = pairs_file / "pairs.txt"
        hint = (f"give {listed}" if listed.is_file() else
                f"write one with `fcn pairs {pairs_file}` (a dataset root holding original/ and mask/)")
        raise DataError(pairs_file, f"is a folder, not a pairs file: {hint}")
    if not pairs_file.is_file():
        raise DataError(pairs_file, "pairs file not found")
    base = pairs_file.absolute().parent
    try:
        text = pairs_file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(pairs_file, f"pairs file is not UTF-8 text ({e})") from None
    fields: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields += _parse_pairs_line(line, f"{pairs_file}:{number}")
    if not fields:
        raise DataError(pairs_file, "pairs file holds no pairs (only blank lines or comments)")
    paths = _resolve_listed(fields, base, root)
    return list(zip(paths[0::2], paths[1::2]))


def _relative(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(Path(path).absolute(), base)).as_posix()
    except ValueError:  # another drive on Windows
        return Path(path).absolute().as_posix()


def _pairs_text(pairs: Iterable[tuple], pairs_file: Path) -> str:
    base = pairs_file.absolute().parent
    lines = ["# photo<TAB>mask, relative to this file's folder"]
    for photo, mask in pairs:
        for p in (photo, mask):
            if any(c in str(p) for c in "\t\n\r"):
                raise DataError(p, "path contains a TAB or a line break; it cannot go in a pairs file")
        lines.append(f"{_relative(photo, base)}\t{_relative(mask, base)}")
    return "\n".join(lines) + "\n"


def _unchanged(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def write_pairs(pairs: Iterable[tuple], pairs_file, overwrite: bool = True) -> Path:
    """Write pairs as ``photo<TAB>mask`` lines, paths relative to the pairs file's folder.

    The file is written whole or not at all. With ``overwrite=False`` an existing file with other
    contents is a DataError (the CLI's ``--force`` sets ``overwrite``); rewriting the same text is fine.
    """
    from fcnlib.fileio import atomic_write_text

    pairs_file = Path(pairs_file)
    text = _pairs_text(pairs, pairs_file)
    if pairs_file.exists() and not overwrite and not _unchanged(pairs_file, text):
        raise DataError(pairs_file, "already exists; not overwritten (pass --force to replace it)")
    pairs_file.absolute().parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(pairs_file, text)
    return pairs_file


def _images_by_stem(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and is_photo(p) and not p.name.startswith("."):  # ._* are macOS metadata
            if p.stem in found:
                raise DataError(p, f"two files with stem {p.stem!r} in {folder} ({found[p.stem].name}); "
                                   "stems must be unique")
            found[p.stem] = p
    return found


def make_pairs(root) -> tuple[list[Pair], list[Path], list[Path]]:
    """Match ``root/original/*`` with ``root/mask/*`` by file stem.

    Both folders are listed by :func:`is_photo` (hidden files aside). Returns (pairs,
    photos_without_mask, masks_without_photo), each sorted.
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


def file_digest(path) -> str | None:
    """SHA-1 of a file's bytes, or None when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha1").hexdigest() if hasattr(hashlib, "file_digest") \
                else hashlib.sha1(f.read()).hexdigest()
    except OSError:
        return None


def same_photo_groups(pairs: Sequence[tuple]) -> list[list[int]]:
    """Indexes of ``pairs`` grouped by photo: one group per photo however it is listed.

    Two entries are the same photo when their paths resolve to one file (the same path twice, a
    symlink, a hard link) or their bytes are identical (a copy). Groups are sorted by their first
    photo path, entries in list order.
    """
    parent = list(range(len(pairs)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[object, int] = {}
    for i, (photo, _) in enumerate(pairs):
        keys = [("path", os.path.realpath(photo))]
        digest = file_digest(photo)
        if digest is not None:
            keys.append(("sha1", digest))
        for key in keys:
            if key in first:
                parent[find(i)] = find(first[key])
            else:
                first[key] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(pairs)):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values(), key=lambda g: min(str(pairs[i][0]) for i in g))


def _same_mask(a, b) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    da, db = file_digest(a), file_digest(b)
    if da is not None and da == db:
        return True
    try:
        return np.array_equal(read_mask_raw(a), read_mask_raw(b))
    except DataError:
        return False


def mask_conflicts(pairs: Sequence[tuple], groups: Sequence[Sequence[int]] | None = None) -> list[DataError]:
    """One DataError per photo that is listed (itself, a symlink or a copy) with masks that differ.

    Masks differ when neither their file nor their bytes nor their decoded values are the same.
    """
    groups = same_photo_groups(pairs) if groups is None else groups
    errors = []
    for group in groups:
        ref = pairs[group[0]]
        for i in group[1:]:
            photo, mask = pairs[i]
            if not _same_mask(ref[1], mask):
                same = "listed" if Path(photo) == Path(ref[0]) else f"the same photo as {ref[0]} (listed"
                same += " twice" if Path(photo) == Path(ref[0]) else "; identical bytes or a link)"
                errors.append(DataError(photo, f"{same} with two different masks, {ref[1]} and {mask}: "
                                               "one photo needs one mask"))
                break
    return errors


def split_pairs(pairs_file, val: float = 0.15, test: float = 0.15, seed: int = 0,
                force: bool = False) -> dict[str, Path]:
    """Split a pairs file into ``train.txt``, ``val.txt`` and ``test.txt`` written beside it.

    Deterministic for a seed. Every entry of one photo goes to the same split: the same path listed
    twice, a symlink to it, a byte-identical copy (:func:`same_photo_groups`; a photo that cannot be
    read is grouped by its path, `fcn verify` reports it); one photo listed with two
    different masks is a DataError. Nothing is lost: an existing split file with other contents is
    overwritten only with ``force`` (the same split again is fine), and a split that comes out empty (e.g. ``test=0``) is not written and its existing file
    is left as it is (a DataError when that file lists a photo of the new splits). Returns the files
    written, by split name.

    Example:

    >>> files = split_pairs("data/synth/pairs.txt", val=0.15, test=0.15, seed=0)  # doctest: +SKIP
    """
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError(f"val={val} and test={test} must be >= 0 and sum to less than 1")
    pairs_file = Path(pairs_file)
    pairs = read_pairs(pairs_file)
    targets = {name: pairs_file.parent / f"{name}.txt" for name in SPLITS}
    for target in targets.values():
        if target.absolute() == pairs_file.absolute():
            raise DataError(pairs_file, f"pairs file is named {target.name}; the split would overwrite it")
    groups = same_photo_groups(pairs)
    conflicts = mask_conflicts(pairs, groups)
    if conflicts:
        more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
        raise DataError(conflicts[0].path, conflicts[0].problem + more)
    n = len(groups)
    order = np.random.default_rng(seed).permutation(n)
    n_test, n_val = int(round(test * n)), int(round(val * n))
    if n_test + n_val >= n:
        raise DataError(pairs_file, f"{n} photos are too few for val={val}, test={test}")
    chosen = {"test": order[:n_test], "val": order[n_test:n_test + n_val], "train": order[n_test + n_val:]}
    members = {name: [pairs[j] for i in sorted(chosen[name]) for j in groups[i]] for name in SPLITS}
    written = [name for name in SPLITS if members[name]]
    existing = [targets[name] for name in written if targets[name].exists()
                and not _unchanged(targets[name], _pairs_text(members[name], targets[name]))]
    if existing and not force:
        also = f" (as do {', '.join(p.name for p in existing[1:])})" if len(existing) > 1 else ""
        raise DataError(existing[0], f"already exists{also}; a split never overwrites split files "
                                     "unless --force (force=True)")
    identity: dict[str, int] = {}
    for k, group in enumerate(groups):
        for j in group:
            identity[os.path.realpath(pairs[j][0])] = k
            identity[file_digest(pairs[j][0]) or ""] = k
    identity.pop("", None)
    for name in SPLITS:
        if name in written or not targets[name].exists():
            continue
        try:
            kept = read_pairs(targets[name])
        except DataError:
            kept = []
        for photo, _ in kept:
            k = identity.get(os.path.realpath(photo), identity.get(file_digest(photo) or ""))
            if k is not None:
                raise DataError(targets[name], f"exists and is left as it is (this split writes no {name} "
                                               f"split), but it lists {photo}, which this split puts in "
                                               "another split; move the file away or split with "
                                               f"--{name} > 0")
    return {name: write_pairs(members[name], targets[name]) for name in written}


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

    All zero for None. Vectorized numpy: skimage.draw.polygon is much slower at photo sizes.
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


def import_quads(images_dir, corners_dir, out_root, negatives_dir=None, force: bool = False) -> Path:
    """Turn corner-annotated photos into ``out_root/original``, ``out_root/mask`` and ``pairs.txt``.

    Each photo in ``images_dir`` needs ``corners_dir/<stem>.txt`` or ``.json`` (see :func:`read_corners`);
    masks are the filled quadrilateral (1) on background (0), at the upright photo's size. Photos in
    ``negatives_dir`` get all-zero masks. Photos are copied unchanged; the corners are kept as
    ``out_root/corners/<stem>.json`` (clockwise from top-left, or null), the layout `fcn synth` writes
    and `fcn evaluate` reads for quad IoU and corner error. Returns the pairs file.

    Every annotation is read before anything is written; a file of ``out_root`` that would be written
    (pairs.txt, a mask, a corners file, a photo copy) and already exists is a DataError unless ``force``.
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
    corners_of = {photo: read_corners(ann) if ann is not None else None for photo, ann in jobs}
    if not force:
        targets = [out_root / "pairs.txt"] + [
            t for photo, _ in jobs for t in (out_root / "original" / photo.name,
                                             out_root / "mask" / f"{photo.stem}.png",
                                             out_root / "corners" / f"{photo.stem}.json")]
        existing = [t for t in targets if t.exists()]
        if existing:
            raise DataError(existing[0], f"already exists ({len(existing)} of the files this import writes "
                                         "do); not overwritten: import into a new folder or pass --force")
    (out_root / "original").mkdir(parents=True, exist_ok=True)
    (out_root / "mask").mkdir(parents=True, exist_ok=True)
    (out_root / "corners").mkdir(parents=True, exist_ok=True)
    pairs = []
    for photo, ann in jobs:
        im = _open(photo, "photo", load=False)
        check_photo_format(im, photo)
        width, height = upright_size(im.size, _orientation_of(im))
        corners = corners_of[photo]
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
                 ignore_index: int | None = None, root=None):
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
    height, width = int(image_size[0]), int(image_size[1])
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

    def load(photo, mask, photo_orientation, mask_orientation, via_pil, scale, photo_via_pil):
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

    columns = (
        [i.photo for i in infos], [i.mask for i in infos],
        np.array([i.photo_orientation for i in infos], np.int32),
        np.array([i.mask_orientation for i in infos], np.int32),
        np.array([i.mask_via_pil for i in infos]),
        np.array([int(np.log2(jpeg_scale(i, height, width))) if not i.photo_via_pil else 0
                  for i in infos], np.int32),
        np.array([i.photo_via_pil for i in infos]),
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
