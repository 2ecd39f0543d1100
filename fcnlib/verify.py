"""Full dataset check: read every pair and report each problem as "path: message".

``verify`` decodes every photo and mask (unlike the pipeline's cheap header check) and finds what would
silently spoil training: missing, unreadable or truncated files, photo/mask size mismatches (also the
classic one where the mask was drawn on the photo's raw pixels and the photo carries an EXIF rotation),
multi-channel or JPEG masks, 0/255 visual masks, values outside the classes. It also counts pixels per
class and computes median-frequency class weights (SegNet's balancing) for per-pixel sample weights.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fcnlib.data import (DataError, _open, _orientation_of, looks_jpeg, map_mask_values, read_image,
                         read_mask_raw, read_pairs, upright_size)


@dataclass
class VerifyReport:
    """Result of :func:`verify`.

    problems: (path, message) that would break or spoil training; notes: (path, message) to know about.
    class_pixels: pixels per class; class_frequency: SegNet's freq_c (pixels of c / pixels of the
    images where c occurs); class_weights: median(freq) / freq_c (0 for a class never seen).
    """

    pairs: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    class_pixels: list[int] = field(default_factory=list)
    class_images: list[int] = field(default_factory=list)
    class_frequency: list[float] = field(default_factory=list)
    class_weights: list[float] = field(default_factory=list)
    num_classes: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing would break training."""
        return not self.problems

    def format(self) -> str:
        """Human-readable report: problems, notes, class balance, verdict."""
        lines = [f"{self.pairs} pairs checked"]
        if self.problems:
            lines.append(f"{len(self.problems)} problems:")
            lines += [f"  {path}: {message}" for path, message in self.problems]
        if self.notes:
            lines.append(f"{len(self.notes)} notes:")
            lines += [f"  {path}: {message}" for path, message in self.notes]
        if self.class_pixels:
            total = sum(self.class_pixels) or 1
            lines.append("class  pixels       share    images  median-freq weight")
            for c, pixels in enumerate(self.class_pixels):
                lines.append(f"{c:>5}  {pixels:>11}  {pixels / total:7.2%}  {self.class_images[c]:>6}  "
                             f"{self.class_weights[c]:.4f}")
        lines.append("OK: ready for training" if self.ok else
                     f"NOT OK: {len(self.problems)} problems would break training")
        return "\n".join(lines)


def _check_values(mask_path, raw: np.ndarray, num_classes, mask_values):
    """Class-id mask for ``raw`` or DataError naming what is wrong with its values."""
    values = np.flatnonzero(np.bincount(raw.ravel(), minlength=256))
    if mask_values is not None:
        return map_mask_values(raw, mask_values, mask_path)
    limit = None if num_classes is None else max(int(num_classes), 2)
    if set(values.tolist()) <= {0, 255} and 255 in values and (limit is None or limit <= 255):
        raise DataError(mask_path, "looks like a 0/255 visual mask; pass mask_values=(0, 255)")
    if looks_jpeg(values) and (limit is None or values.max() >= limit):
        raise DataError(mask_path, f"mask has {len(values)} distinct values over {values.min()}..{values.max()}: "
                                   "looks JPEG-compressed or antialiased; class ids must be exact integers")
    if limit is not None and values.max() >= limit:
        bad = values[values >= limit]
        shown = ", ".join(str(int(v)) for v in bad[:10]) + (" ..." if len(bad) > 10 else "")
        raise DataError(mask_path, f"mask values {shown} are outside the classes 0..{limit - 1}")
    return raw


def _check_pair(photo: Path, mask: Path, num_classes, mask_values, report: VerifyReport):
    """Check one pair, appending to ``report``; returns the class-id mask or None."""
    try:
        raw_photo = _open(photo, "photo", load=False)
        orientation = _orientation_of(raw_photo)
        image = read_image(photo)
    except DataError as e:
        report.problems.append((e.path, e.problem))
        image, orientation = None, 1
    try:
        classes = _check_values(mask, read_mask_raw(mask), num_classes, mask_values)
    except DataError as e:
        report.problems.append((e.path, e.problem))
        classes = None
    if image is not None and orientation != 1:
        report.notes.append((str(photo), f"EXIF orientation {orientation}: pixels are read upright "
                                         f"({image.shape[1]}x{image.shape[0]}); masks must match the upright photo"))
    if image is not None and classes is not None and image.shape[:2] != classes.shape:
        raw_size = raw_photo.size
        msg = (f"mask is {classes.shape[1]}x{classes.shape[0]} but its photo {photo.name} is "
               f"{image.shape[1]}x{image.shape[0]} (upright)")
        if (classes.shape[1], classes.shape[0]) == raw_size and upright_size(raw_size, orientation) != raw_size:
            msg += (f"; the mask matches the photo's raw pixels before its EXIF orientation {orientation}: "
                    "draw masks on the upright photo")
        report.problems.append((str(mask), msg))
        return None
    return classes if image is not None else None


def verify(pairs_file_or_list, num_classes: int | None = None, mask_values=None) -> VerifyReport:
    """Read every pair and report problems, notes, per-class pixel counts and class weights.

    ``pairs_file_or_list``: a pairs file or a list of (photo, mask). ``num_classes``: values must be
    below it (1 means binary with a sigmoid: classes 0 and 1); when None, masks must still look like
    class ids (no 0/255 visual masks, no JPEG noise). ``mask_values``: raw values mapped to classes.
    """
    report = VerifyReport()
    if isinstance(pairs_file_or_list, (str, Path)):
        try:
            pairs = read_pairs(pairs_file_or_list)
        except DataError as e:
            report.problems.append((e.path, e.problem))
            return report
    else:
        pairs = [(Path(p), Path(m)) for p, m in pairs_file_or_list]
    report.pairs = len(pairs)
    seen: dict[Path, int] = {}
    pixels = np.zeros(256, np.int64)
    images_with = np.zeros(256, np.int64)
    image_pixels_with = np.zeros(256, np.int64)
    for photo, mask in pairs:
        photo, mask = Path(photo), Path(mask)
        if photo in seen:
            report.notes.append((str(photo), "listed more than once in the pairs"))
        seen[photo] = 1
        classes = _check_pair(photo, mask, num_classes, mask_values, report)
        if classes is None:
            continue
        counts = np.bincount(classes.ravel(), minlength=256)
        present = counts > 0
        pixels += counts
        images_with += present
        image_pixels_with += present * classes.size
    if num_classes is not None:
        k = max(int(num_classes), 2)
    elif mask_values is not None:
        k = len(mask_values)
    else:
        k = int(np.flatnonzero(pixels).max()) + 1 if pixels.any() else 0
    freq = np.where(image_pixels_with[:k] > 0, pixels[:k] / np.maximum(image_pixels_with[:k], 1), 0.0)
    seen_freq = freq[freq > 0]
    weights = np.where(freq > 0, np.median(seen_freq) / np.where(freq > 0, freq, 1), 0.0) if len(seen_freq) else freq
    for c in range(k):
        if images_with[c] == 0 and report.pairs:
            report.notes.append(("dataset", f"class {c} occurs in no mask"))
    report.num_classes = k
    report.class_pixels = [int(v) for v in pixels[:k]]
    report.class_images = [int(v) for v in images_with[:k]]
    report.class_frequency = [float(v) for v in freq]
    report.class_weights = [float(v) for v in weights]
    return report
