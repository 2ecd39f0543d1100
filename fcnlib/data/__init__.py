"""Dataset tools and the tf.data input pipeline (a package: `images`, `pairs`, `quads`, `pipeline`).

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

from fcnlib.data.images import (  # noqa: F401
    DataError,
    ORIENTATION_NAMES,
    ORIENTATION_TAG,
    PHOTO_FORMATS,
    PHOTO_SUFFIXES,
    PIPELINE_PHOTO_FORMATS,
    Pair,
    REROOT_HINT,
    ReducedPhoto,
    SINGLE_CHANNEL_MODES,
    SPLITS,
    TF_PHOTO_FORMATS,
    _deep_mask_problem,
    _mask_mode_problem,
    _missing_hint,
    _open,
    _orientation_of,
    _to_rgb8,
    check_photo_format,
    exif_orientation,
    is_photo,
    looks_jpeg,
    map_mask_values,
    mask_orientation_problem,
    mask_value_table,
    open_image_reduced,
    read_image,
    read_image_reduced,
    read_mask,
    read_mask_raw,
    upright_size,
)
from fcnlib.data.pairs import (  # noqa: F401
    _DRIVE,
    _images_by_stem,
    _listed,
    _listed_absolute,
    _pairs_text,
    _parse_pairs_line,
    _parse_root,
    _relative,
    _resolve_listed,
    _same_mask,
    _unchanged,
    file_digest,
    make_pairs,
    mask_conflicts,
    read_pairs,
    same_photo_groups,
    split_pairs,
    write_pairs,
)
from fcnlib.data.quads import (  # noqa: F401
    import_quads,
    polygon_mask,
    read_corners,
)
from fcnlib.data.pipeline import (  # noqa: F401
    Placement,
    _PairInfo,
    _as_pairs,
    _check_pair,
    _orient_tf,
    _resize_tf,
    check_pairs,
    jpeg_scale,
    make_dataset,
    missing_files_problem,
    oriented_size,
    resize_image,
)
