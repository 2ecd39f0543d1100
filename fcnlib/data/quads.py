"""Importing corner-annotated photos: four corners per photo become a mask (`polygon_mask`)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from fcnlib.data.images import DataError, _open, _orientation_of, check_photo_format, upright_size
from fcnlib.data.pairs import _images_by_stem, write_pairs


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
