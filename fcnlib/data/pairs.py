"""Pairs files: reading (tab-separated or SegNet's space-separated lists, re-rooted), writing without
overwriting, matching folders by stem, splitting with copies and links kept together."""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from fcnlib.data.images import SPLITS, DataError, Pair, is_photo, read_mask_raw


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
