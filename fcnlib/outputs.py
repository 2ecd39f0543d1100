"""The files `fcn predict` and `fcn extract` write: pictures, receipts, corners, and an index.

`fcnlib.predict` is the inference API (arrays in, arrays out); this module turns its answers into
files for the command line. It imports numpy, PIL and scikit-image only (no TensorFlow), so a
predictor that runs without TensorFlow keeps `fcn extract` quick to start.

What it guarantees, because photos come from phones and several folders at once:

- every photo of a run gets its own output names (`output_names`): the file stem when it is unique
  in the run, else the stem with its parent folders (`a_IMG_0001`), else with its suffix
  (`IMG_0001_png`), else a counter; `<predict|extract>_index.csv` maps each photo to its files;
- a photo that cannot be read (a macOS `._x.jpg`, a folder named `x.jpg`, a truncated JPEG) is
  reported in its record and in the index, and the others go on;
- files of this module's naming left by an earlier run for the same photo never contradict the new
  ones (a `_receipt.png` beside a JSON that now says no receipt is removed);
- a binary model calibrated with a `min_score` that says "no object" on a photo gets an empty mask
  from `predict_files` too, the answer `extract_files` gives.

Example:

>>> import numpy as np, tempfile, pathlib
>>> from PIL import Image
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> for sub in ("a", "b"):
...     (folder / sub).mkdir()
...     Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / sub / "IMG_0001.jpg")
>>> [output_names(expand_inputs([str(folder / s)]))[0] for s in ("a", "b")]
['IMG_0001', 'IMG_0001']
>>> output_names(expand_inputs([str(folder / "a"), str(folder / "b")]))
['a_IMG_0001', 'b_IMG_0001']
"""
from __future__ import annotations

import csv
import glob
import io
import json
import os
import tempfile
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from fcnlib import data
from fcnlib.fileio import atomic_write_bytes, atomic_write_text

PREDICT_KINDS = ("prob", "mask", "color", "overlay")
PREDICT_INDEX = "predict_index.csv"
EXTRACT_INDEX = "extract_index.csv"


def expand_inputs(items: Iterable[str | Path]) -> list[Path]:
    """Photos named directly, folders (their photos, sorted) and glob patterns, each photo once.

    A folder or a pattern contributes the entries whose name is a photo's (`fcnlib.data.is_photo`, the rule `fcn pairs`, `fcn verify` and training share); a file
    named directly is always kept (if it cannot be read, the run reports it). A missing file, a folder
    without photos or a pattern that matches none raises FileNotFoundError before any work.

    Example:

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("b.jpg", "a.png", "notes.txt"):
    ...     (folder / name).touch()
    >>> [p.name for p in expand_inputs([str(folder), str(folder / "a.png")])]
    ['a.png', 'b.jpg']
    """
    paths: list[Path] = []
    for item in map(str, items):
        p = Path(item)
        if p.is_dir():
            listed = sorted(q for q in p.iterdir() if data.is_photo(q))
            if not listed:
                raise FileNotFoundError(f"{item}: no photo in this folder")
            paths += listed
        elif any(c in item for c in "*?[") and not p.exists():
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True) if data.is_photo(m))
            if not matches:
                raise FileNotFoundError(f"{item}: no photo matches this pattern")
            paths += matches
        elif p.exists():
            paths.append(p)
        else:
            raise FileNotFoundError(f"{item}: photo not found")
    seen, unique = set(), []
    for p in paths:  # a photo given twice (a folder and a pattern over it) is processed once
        key = os.path.normcase(os.path.abspath(p))
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def _key(name: str) -> str:
    """Names that differ only in case are the same file on macOS and Windows."""
    return name.casefold()


def output_names(photos: list[str | Path]) -> list[str]:
    """A distinct output name per photo, deterministic for a given list.

    The stem where no other photo of the list shares it (case-insensitively); photos sharing a stem
    take the fewest parent folder names that tell them apart (`a_IMG_0001`, `b_IMG_0001`), with the
    suffix too where the folders cannot (`IMG_0001_jpg`, `IMG_0001_png`); any name still taken gets
    `-2`, `-3`, ... in list order.

    Example:

    >>> output_names(["a/IMG_1.jpg", "b/IMG_1.jpg", "c/IMG_1.png", "x/other.jpg"])
    ['a_IMG_1', 'b_IMG_1', 'c_IMG_1', 'other']
    >>> output_names(["c/IMG_1.png", "c/IMG_1.jpg"])
    ['IMG_1_png', 'IMG_1_jpg']
    """
    paths = [Path(os.path.abspath(p)) for p in photos]
    names = [p.stem for p in paths]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(paths):
        groups[_key(p.stem)].append(i)
    for members in groups.values():
        if len(members) < 2:
            continue
        depth = max(len(paths[i].parent.parts) for i in members)
        options = [(k, suffix) for k in range(depth + 1) for suffix in (False, True)][1:]
        for k, suffix in options:
            cand = []
            for i in members:
                p = paths[i]
                parents = [part for part in p.parent.parts if part.strip("/\\")]
                parts = parents[max(0, len(parents) - k):] if k else []
                tail = [p.suffix.lstrip(".").lower()] if suffix and p.suffix else []
                cand.append("_".join([*parts, p.stem, *tail]).replace(":", ""))
            if len({_key(c) for c in cand}) == len(cand):
                break
        for i, c in zip(members, cand):
            names[i] = c
    taken: set[str] = set()
    out = []
    for name in names:  # last resort, and names that met another photo's plain stem
        final, n = name, 1
        while _key(final) in taken:
            n += 1
            final = f"{name}-{n}"
        taken.add(_key(final))
        out.append(final)
    return out


def check_output_dir(path: str | Path) -> Path:
    """Create the output folder if needed and make sure files can be written in it, before any work.

    Raises `data.DataError` naming the folder when it is a file, lies under a file, or is not
    writable (a read-only disk, no permission).

    Example:

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> check_output_dir(folder) == folder and folder.is_dir()
    True
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise data.DataError(out, "the output must be a folder, and this is a file")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise data.DataError(out, f"cannot create the output folder ({e.strerror or e})") from None
    try:
        with tempfile.NamedTemporaryFile(dir=out, prefix=".fcn-write-check-"):
            pass
    except OSError as e:
        raise data.DataError(out, f"cannot write in the output folder ({e.strerror or e})") from None
    return out


@contextmanager
def output_dir(path: str | Path):
    """`check_output_dir` for the whole of a command: the folders it had to create are removed again
    when the command fails before writing anything into them, so a failed run leaves no empty folder.

    Example:

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "out" / "run"
    >>> try:
    ...     with output_dir(folder):
    ...         raise ValueError("the model could not be loaded")
    ... except ValueError:
    ...     pass
    >>> folder.parent.exists()
    False
    """
    out = Path(path)
    created = []
    p = out.absolute()
    while not p.exists():
        created.append(p)
        p = p.parent
    check_output_dir(out)
    try:
        yield out
    except BaseException:
        for folder in created:  # deepest first; a folder that holds anything stays
            try:
                folder.rmdir()
            except OSError:
                break
        raise


@contextmanager
def output_file(path: str | Path):
    """`output_dir` for the folder of one output file, which must not be a folder itself."""
    p = Path(path)
    if p.is_dir():
        raise data.DataError(p, "the output must be a file, and this is a folder")
    with output_dir(p.parent):
        yield p


def _png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def _save_png(path: Path, image: np.ndarray) -> None:
    """Write a PNG whole or not at all (temp file and rename)."""
    atomic_write_bytes(path, _png_bytes(image))


def _read_chunk(paths: list[Path]) -> tuple[list[tuple[int, np.ndarray]], dict[int, str]]:
    """Read the photos of one batch; unreadable ones become error messages instead of aborting."""
    ok, failed = [], {}
    for i, p in enumerate(paths):
        try:
            ok.append((i, data.read_image(p)))
        except (data.DataError, OSError) as e:
            failed[i] = str(e) if str(p) in str(e) else f"{p}: {e}"
    return ok, failed


def _remove_ours(out: Path, name: str, kinds: Iterable[str]) -> None:
    """Remove this module's outputs `<name>_<kind>.png` left for this photo by an earlier run."""
    for kind in kinds:
        (out / f"{name}_{kind}.png").unlink(missing_ok=True)


def _write_index(path: Path, rows: list[dict], fields: list[str]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def segment(predictor, images: list[np.ndarray], batch_size: int = 8) -> list[tuple[np.ndarray, np.ndarray, bool | None]]:
    """(probabilities, class mask, found) per photo, at the photo's size.

    `predictor.segment` gives them where the predictor has it (its mask is empty where it answers
    "no object"); a predictor with only `model_outputs` and `extract_from` gets the same rule here:
    a binary model calibrated with a `min_score` whose extraction finds no object gets an empty mask,
    so `predict_files` and `extract_files` give one answer. `found` is None for other models."""
    if hasattr(predictor, "segment"):
        return [(p.prob, p.mask, p.found) for p in predictor.segment(images, batch_size=batch_size)]
    from fcnlib.predict import class_map

    out = []
    for small, placement in predictor.model_outputs(images, batch_size):
        prob = placement.to_original(small)
        mask = class_map(prob)
        found = None
        if predictor.num_classes == 2 and getattr(predictor, "min_score", None):
            found = predictor.extract_from(small, placement).corners is not None
            if not found:
                mask = np.zeros_like(mask)
        out.append((prob, mask, found))
    return out


def predict_files(predictor, photos: list[str | Path], out_dir: str | Path, batch_size: int = 8,
                  on_record: Callable[[dict], None] | None = None) -> list[dict]:
    """Write `<name>_prob.png`, `_mask.png`, `_color.png`, `_overlay.png` for each photo.

    `<name>` comes from `output_names`. The probability picture is the model's own output; the mask,
    colour and overlay pictures are empty where the predictor says "no object" (`segment`).
    Returns one record per photo, in order: {"photo", "name", "prob", "mask", "color", "overlay",
    "found"} or {"photo", "name", "error"} for a photo that could not be read, each also passed to
    `on_record` as soon as it is done. `predict_index.csv` in `out_dir` lists them all.

    Example (with a model from `fcnlib.predict.Predictor.load`):

        records = predict_files(predictor, expand_inputs(["photos/"]), "out/")
        failed = [r for r in records if "error" in r]
    """
    from fcnlib import viz

    out = check_output_dir(out_dir)
    paths = [Path(p) for p in photos]
    names = output_names(paths)
    palette = predictor.palette if hasattr(predictor, "palette") else viz.palette(predictor.num_classes)
    records = []
    for start in range(0, len(paths), batch_size):
        chunk, chunk_names = paths[start:start + batch_size], names[start:start + batch_size]
        ok, failed = _read_chunk(chunk)
        images = dict(ok)
        answers = iter(segment(predictor, [image for _, image in ok], batch_size) if ok else [])
        for i, (path, name) in enumerate(zip(chunk, chunk_names)):
            record = {"photo": str(path), "name": name}
            if i in failed:
                _remove_ours(out, name, PREDICT_KINDS)
                record["error"] = failed[i]
            else:
                prob, mask, found = next(answers)
                pictures = {"prob": viz.prob_to_gray(prob), "mask": mask, "color": viz.colorize(mask, palette),
                            "overlay": viz.overlay(images[i], mask, palette=palette)}
                for kind in PREDICT_KINDS:
                    _save_png(out / f"{name}_{kind}.png", pictures[kind])
                    record[kind] = f"{name}_{kind}.png"
                record["found"] = found
            records.append(record)
            if on_record is not None:
                on_record(record)
    _write_index(out / PREDICT_INDEX, records, ["photo", "name", *PREDICT_KINDS, "found", "error"])
    return records


def extract_files(predictor, photos: list[str | Path], out_dir: str | Path, threshold: float = 0.5,
                  batch_size: int = 8, on_record: Callable[[dict], None] | None = None) -> list[dict]:
    """Write `<name>.json` (photo, corners or null, score) and `<name>_receipt.png` when found.

    Photos stream one at a time through `postprocess.extract_file` (a reduced decode for the network and
    the corner refinement, the receipt warped from the photo): memory does not grow with their number;
    `batch_size` is kept for the callers that pass it.

    `<name>` comes from `output_names`. A `<name>_receipt.png` of an earlier run is removed when this
    run finds no receipt on that photo (or cannot read it), so the folder never holds a receipt the
    JSON beside it denies. Returns one record per photo, in order: {"photo", "name", "corners",
    "score", "json", "receipt"}, with "error" for a photo that could not be read; each is also passed
    to `on_record` as soon as it is done. `extract_index.csv` in `out_dir` lists them all.

    Example (with a model from `fcnlib.predict.Predictor.load`):

        records = extract_files(predictor, ["a/IMG_0001.jpg", "b/IMG_0001.jpg"], "out/")
        [r["json"] for r in records]   # ['a_IMG_0001.json', 'b_IMG_0001.json']
    """
    from fcnlib import postprocess

    out = check_output_dir(out_dir)
    paths = [Path(p) for p in photos]
    names = output_names(paths)
    records = []
    for path, name in zip(paths, names):  # one photo at a time: memory does not grow with the folder
        receipt = out / f"{name}_receipt.png"
        try:
            found, flat = postprocess.extract_file(predictor, path, threshold=threshold)
        except (data.DataError, OSError) as e:
            receipt.unlink(missing_ok=True)
            (out / f"{name}.json").unlink(missing_ok=True)
            record = {"photo": str(path), "name": name, "corners": None, "score": None, "json": None,
                      "receipt": None, "error": str(e) if str(path) in str(e) else f"{path}: {e}"}
        else:
            record = {"photo": str(path), "name": name,
                      "corners": None if found.corners is None else np.round(found.corners, 1).tolist(),
                      "score": round(float(found.score), 4), "json": f"{name}.json", "receipt": None}
            if flat is not None:
                _save_png(receipt, flat)
                record["receipt"] = receipt.name
            else:
                receipt.unlink(missing_ok=True)  # before the JSON: never a receipt it denies
            atomic_write_text(out / f"{name}.json", json.dumps(
                {k: record[k] for k in ("photo", "corners", "score")}, indent=2))
        records.append(record)
        if on_record is not None:
            on_record(record)
    _write_index(out / EXTRACT_INDEX, records, ["photo", "name", "json", "receipt", "score", "error"])
    return records
