"""Full dataset check: read every pair and report each problem as "path: message".

``verify`` decodes every photo and mask (unlike the pipeline's cheap header check) and finds what would
silently spoil training: missing, unreadable or truncated files, photo formats outside the one photo
rule (:data:`fcnlib.data.PHOTO_FORMATS`), photo/mask size mismatches (also the classic one where the
mask was drawn on the photo's raw pixels and the photo carries an EXIF rotation), masks with an EXIF
orientation tag, multi-channel, JPEG or 16-bit masks, 0/255 visual masks, values outside the classes
(with a hint that fits the class count), 255 borders that look like void, one photo listed (itself, a
link or a copy) with two different masks. It counts pixels per class, void (``ignore_index``) left
out, and computes median-frequency class weights (SegNet's balancing) for per-pixel sample weights,
with a warning for extreme ones. Training runs it on every split before the first step.

Example:

>>> report = verify("data/synth/train.txt", num_classes=1)  # doctest: +SKIP
>>> print(report.format()); report.ok, report.class_weights  # doctest: +SKIP
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fcnlib.data import (DataError, _open, _orientation_of, check_photo_format, looks_jpeg, mask_conflicts,
                         mask_value_table, missing_files_problem, read_mask_raw, read_pairs,
                         same_photo_groups, upright_size)

EXTREME_WEIGHT = 50.0
"""A median-frequency weight above this (a class 50 times rarer than the median class) is warned about."""


@dataclass
class VerifyReport:
    """Result of :func:`verify`.

    problems: (path, message) that would break or spoil training; warnings: (path, message) that may
    spoil it (extreme class weights); notes: (path, message) to know about. class_pixels: pixels per
    class (void excluded); class_frequency: SegNet's freq_c (pixels of c / non-void pixels of the
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
    warnings: list[tuple[str, str]] = field(default_factory=list)
    ignore_index: int | None = None
    void_pixels: int = 0
    class_names: list[str] | None = None

    @property
    def ok(self) -> bool:
        """True when nothing would break training (warnings and notes aside)."""
        return not self.problems

    def format(self) -> str:
        """Human-readable report: problems, warnings, notes, class balance, verdict."""
        lines = [f"{self.pairs} pairs checked"]
        for title, items in (("problems", self.problems), ("warnings", self.warnings), ("notes", self.notes)):
            if items:
                lines.append(f"{len(items)} {title}:")
                lines += [f"  {path}: {message}" for path, message in items]
        if self.class_pixels:
            total = (sum(self.class_pixels) + self.void_pixels) or 1
            names = self.class_names if self.class_names and len(self.class_names) == self.num_classes else None
            width = max([len(n) for n in names] + [4]) if names else 0
            head = f"{'name':<{width}}  " if names else ""
            lines.append(f"class  {head}pixels       share    images  median-freq weight")
            for c, pixels in enumerate(self.class_pixels):
                name = f"{names[c]:<{width}}  " if names else ""
                lines.append(f"{c:>5}  {name}{pixels:>11}  {pixels / total:7.2%}  {self.class_images[c]:>6}  "
                             f"{self.class_weights[c]:.4f}")
            if self.ignore_index is not None:
                name = f"{'void':<{width}}  " if names else ""
                lines.append(f"{self.ignore_index:>5}  {name}{self.void_pixels:>11}  "
                             f"{self.void_pixels / total:7.2%}  (void: not counted, weight 0)")
        lines.append("OK: ready for training" if self.ok else
                     f"NOT OK: {len(self.problems)} problems would break training")
        return "\n".join(lines)


@dataclass
class _Mask:
    path: Path
    counts: np.ndarray  # pixels per raw value 0..255


def _shown(values) -> str:
    values = [int(v) for v in values]
    return ", ".join(str(v) for v in values[:10]) + (" ..." if len(values) > 10 else "")


def _values_hint(values: np.ndarray, labels: int, ignore_index) -> str:
    """A hint that fits the class count for values outside 0..labels-1."""
    inside = values[values < labels]
    if ignore_index is None and 255 in values and len(values[(values >= labels) & (values != 255)]) == 0:
        if labels == 2 and set(values.tolist()) <= {0, 255}:
            return "; a 0/255 visual mask? pass mask_values=(0, 255) (--mask-values 0,255)"
        return ("; 255 looks like void/borders (as in Pascal VOC): pass ignore_index=255 (--ignore-index 255) "
                "to leave it out of training and scoring")
    if len(values) <= labels and len(inside) < len(values):
        listed = ",".join(str(int(v)) for v in values)
        return (f"; if these {len(values)} values are the classes, map them with mask_values=({listed}) "
                f"(--mask-values {listed}), else check num_classes")
    return f"; {len(values)} distinct values for {labels} classes: check num_classes (--num-classes)"


def _check_values(mask: _Mask, labels: int | None, mask_values, lut, ignore_index,
                  report: VerifyReport) -> np.ndarray | None:
    """Per-class pixel counts (length 256, void left in place) or None after reporting a problem."""
    counts = mask.counts
    values = np.flatnonzero(counts)
    if lut is not None:
        bad = values[lut[values] < 0]
        if len(bad):
            hint = "; values all over 0..255 look JPEG-compressed or antialiased" if looks_jpeg(values) else ""
            listed = tuple(int(v) for v in mask_values)
            void = "" if ignore_index is None else f" nor the void value {ignore_index}"
            report.problems.append((str(mask.path), f"mask values {_shown(bad)} ({len(bad)} distinct) are not "
                                                     f"in mask_values={listed}{void}{hint}"))
            return None
        mapped = np.zeros(256, np.int64)
        np.add.at(mapped, lut[values], counts[values])
        return mapped
    classes = values[values != ignore_index] if ignore_index is not None else values
    if labels is None:
        if set(classes.tolist()) <= {0, 255} and 255 in classes:
            return counts  # decided for the whole dataset in verify (0/255 pictures or void borders)
        if looks_jpeg(classes):
            report.problems.append((str(mask.path), f"mask has {len(classes)} distinct values over "
                                                     f"{classes.min()}..{classes.max()}: looks JPEG-compressed "
                                                     "or antialiased; class ids must be exact integers"))
            return None
        return counts
    if not len(classes) or classes.max() < labels:
        return counts
    if looks_jpeg(classes):
        report.problems.append((str(mask.path), f"mask has {len(classes)} distinct values over "
                                                 f"{classes.min()}..{classes.max()}: looks JPEG-compressed or "
                                                 "antialiased; class ids must be exact integers"))
        return None
    if labels == 2 and set(classes.tolist()) <= {0, 255}:
        report.problems.append((str(mask.path), "looks like a 0/255 visual mask; pass mask_values=(0, 255) "
                                                 "(--mask-values 0,255)"))
        return None
    bad = classes[classes >= labels]
    report.problems.append((str(mask.path), f"mask values {_shown(bad)} are outside the classes 0..{labels - 1}"
                                             f"{_values_hint(classes, labels, ignore_index)}"))
    return None


def _read_pair(photo: Path, mask: Path) -> tuple[_Mask | None, VerifyReport]:
    """Decode one pair: the mask's value histogram (or None) and a report of its problems and notes."""
    report = VerifyReport()
    return _read_pair_into(photo, mask, report), report


def _read_pair_into(photo: Path, mask: Path, report: VerifyReport) -> _Mask | None:
    size = None
    try:
        im = _open(photo, "photo")
        check_photo_format(im, photo)
        orientation = _orientation_of(im)
        size = upright_size(im.size, orientation)
        if orientation != 1:
            report.notes.append((str(photo), f"EXIF orientation {orientation}: pixels are read upright "
                                             f"({size[0]}x{size[1]}); masks must match the upright photo"))
    except DataError as e:
        report.problems.append((e.path, e.problem))
    try:
        raw = read_mask_raw(mask)
    except DataError as e:
        report.problems.append((e.path, e.problem))
        return None
    if size is None:
        return None
    msize = (raw.shape[1], raw.shape[0])
    if msize != size:
        msg = f"mask is {msize[0]}x{msize[1]} but its photo {photo.name} is {size[0]}x{size[1]} (upright)"
        if msize == im.size and size != im.size:
            msg += (f"; the mask matches the photo's raw pixels before its EXIF orientation {orientation}: "
                    "draw masks on the upright photo")
        report.problems.append((str(mask), msg))
        return None
    return _Mask(mask, np.bincount(raw.ravel(), minlength=256).astype(np.int64))


def _dataset_info(dataset, pairs_file, report: VerifyReport):
    from fcnlib.labels import DatasetInfo

    try:
        if dataset is not None:
            return dataset if isinstance(dataset, DatasetInfo) else DatasetInfo.load(dataset)
        return DatasetInfo.beside(pairs_file) if pairs_file is not None else None
    except (ValueError, FileNotFoundError) as e:
        report.problems.append((str(dataset or Path(pairs_file).parent / "dataset.yaml"), str(e)))
        return None


def verify(pairs_file_or_list, num_classes: int | None = None, mask_values=None, ignore_index: int | None = None,
           *, root=None, dataset=None) -> VerifyReport:
    """Read every pair and report problems, warnings, notes, per-class pixel counts and class weights.

    ``pairs_file_or_list``: a pairs file (re-rooted by ``root``, see :func:`fcnlib.data.read_pairs`) or a
    list of (photo, mask). ``num_classes``: model output channels (1 = binary: labels 0 and 1); values
    must be below ``num_labels(num_classes)``. When None (and no dataset description), the classes are
    inferred as 0..max value, and masks must still look like class ids: no 0/255 visual masks, no JPEG
    noise, and a value 255 beside small class values is reported as probable void (pass
    ``ignore_index=255``). ``mask_values``: raw values mapped to classes (void passes through).
    ``ignore_index``: the void value, left out of the counts, frequencies and weights. ``dataset``: a
    :class:`fcnlib.labels.DatasetInfo` or its YAML file for class names (and the class count and void
    value when not given); by default the ``dataset.yaml`` beside the pairs file, when there is one.

    Example:

    >>> report = verify("camvid/train.txt", ignore_index=11, root="../shared/data/camvid")  # doctest: +SKIP
    >>> report.ok, len(report.class_weights)  # doctest: +SKIP
    (True, 11)
    """
    from fcnlib.labels import check_ignore_index, num_labels

    report = VerifyReport()
    pairs_file = None
    if isinstance(pairs_file_or_list, (str, Path)):
        pairs_file = Path(pairs_file_or_list)
        try:
            pairs = read_pairs(pairs_file, root=root)
        except DataError as e:
            report.problems.append((e.path, e.problem))
            return report
    else:
        pairs = [(Path(p), Path(m)) for p, m in pairs_file_or_list]
    info = _dataset_info(dataset, pairs_file, report)
    if info is not None:
        report.class_names = list(info.class_names)
        if ignore_index is None:
            ignore_index = info.ignore_index
    if num_classes is not None:
        labels = num_labels(num_classes)
    elif mask_values is not None:
        labels = len(mask_values)
    elif info is not None:
        labels = len(info.class_names)
    else:
        labels = None
    if info is not None and labels != len(info.class_names):
        report.problems.append((str(dataset or pairs_file.parent / "dataset.yaml"),
                                f"names {len(info.class_names)} classes, but the masks are checked for {labels}"))
        report.class_names = None
    if ignore_index is not None:
        check_ignore_index(ignore_index, 1 if labels is None or labels <= 2 else labels)
    try:
        lut = mask_value_table(mask_values, ignore_index) if mask_values is not None else None
    except DataError as e:
        report.problems.append(("mask_values", e.problem))
        return report
    report.pairs = len(pairs)
    report.ignore_index = ignore_index
    missing = missing_files_problem(pairs, pairs_file)
    if missing:
        report.problems.append((str(pairs_file or pairs[0][0]), missing))
        return report

    groups = same_photo_groups(pairs)
    for group in groups:
        for i in group[1:]:
            photo, first = pairs[i][0], pairs[group[0]][0]
            how = "listed more than once in the pairs" if Path(photo) == Path(first) else \
                f"the same photo as {first} (identical bytes or a link): kept in one split by `fcn split`"
            report.notes.append((str(photo), how))
    report.problems += [(e.path, e.problem) for e in mask_conflicts(pairs, groups)]

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:  # PIL decodes without the GIL
        results = list(pool.map(lambda pair: _read_pair(Path(pair[0]), Path(pair[1])), pairs))
    masks = []
    for m, part in results:
        report.problems += part.problems
        report.notes += part.notes
        if m is not None:
            masks.append(m)
    # Void borders (255 beside small class values) or 0/255 pictures, when the classes are not known
    if labels is None and ignore_index is None:
        with_255 = [m for m in masks if m.counts[255]]
        mixed = [m for m in with_255 if m.counts[1:255].any()]
        if mixed:
            others = np.flatnonzero(sum(m.counts for m in masks)[:255])
            report.problems.append(("dataset", f"value 255 in {len(with_255)} masks beside class values "
                                               f"{_shown(others)} (e.g. {mixed[0].path}): it looks like "
                                               "void/borders (as in Pascal VOC), not a class 255 of 256; pass "
                                               "ignore_index=255 (--ignore-index 255) to leave it out, or say "
                                               "what the values mean with --num-classes / --mask-values. "
                                               "Counted below as void."))
            ignore_index = report.ignore_index = 255
        else:
            for m in with_255:
                if set(np.flatnonzero(m.counts).tolist()) <= {0, 255}:
                    report.problems.append((str(m.path), "looks like a 0/255 visual mask; pass "
                                                         "mask_values=(0, 255) (--mask-values 0,255)"))
            masks = [m for m in masks if not m.counts[255]]
    histograms = [h for h in (_check_values(m, labels, mask_values, lut, ignore_index, report)
                                          for m in masks) if h is not None]

    pixels = np.zeros(256, np.int64)
    images_with = np.zeros(256, np.int64)
    image_pixels_with = np.zeros(256, np.int64)
    for h in histograms:
        h = h.copy()
        if ignore_index is not None:
            report.void_pixels += int(h[ignore_index])
            h[ignore_index] = 0
        present = h > 0
        pixels += h
        images_with += present
        image_pixels_with += present * int(h.sum())
    if labels is not None:
        k = labels
    else:
        k = int(np.flatnonzero(pixels).max()) + 1 if pixels.any() else 0
        if k:
            report.notes.append(("dataset", f"classes inferred from the masks: 0..{k - 1} (give num_classes "
                                            "to check the values against the model)"))
    freq = np.where(image_pixels_with[:k] > 0, pixels[:k] / np.maximum(image_pixels_with[:k], 1), 0.0)
    seen_freq = freq[freq > 0]
    weights = np.where(freq > 0, np.median(seen_freq) / np.where(freq > 0, freq, 1), 0.0) if len(seen_freq) else freq
    names = report.class_names if report.class_names and len(report.class_names) == k else None
    for c in range(k):
        label = f"class {c}" + (f" ({names[c]})" if names else "")
        if images_with[c] == 0 and report.pairs:
            report.notes.append(("dataset", f"{label} occurs in no mask"))
        if weights[c] > EXTREME_WEIGHT:
            report.warnings.append(("dataset", f"{label} gets median-frequency weight {weights[c]:,.1f} from "
                                               f"{pixels[c]} pixels in {images_with[c]} images: so extreme a "
                                               "weight makes training unstable; label more of it, merge it "
                                               "with another class, or give class_weights of your own"))
    report.num_classes = k
    report.class_pixels = [int(v) for v in pixels[:k]]
    report.class_images = [int(v) for v in images_with[:k]]
    report.class_frequency = [float(v) for v in freq]
    report.class_weights = [float(v) for v in weights]
    return report


def check_split_files(pairs, num_classes: int | None, mask_values=None, ignore_index: int | None = None,
                      *, root=None) -> VerifyReport:
    """:func:`verify` one split and raise DataError naming the first file at fault when it is not OK.

    For training, before the first step: a truncated photo, a 16-bit or tagged mask, values outside the
    classes stop the run with the file and the problem instead of a TensorFlow traceback mid-epoch.
    Returns the report (class weights, warnings) when the split is fine.

    Example:

    >>> check_split_files("data/synth/test.txt", num_classes=1)  # doctest: +SKIP
    """
    report = verify(pairs, num_classes=num_classes, mask_values=mask_values, ignore_index=ignore_index, root=root)
    if not report.ok:
        path, problem = report.problems[0]
        more = (f" (and {len(report.problems) - 1} more problems; `fcn verify` lists them all)"
                if len(report.problems) > 1 else "")
        raise DataError(path, problem + more)
    return report
