"""Evaluation at the photos' original resolution: per class, per photo, and for receipts, per quad.

`evaluate(predictor, pairs, out_dir)` predicts every photo of a pairs file at its own size and
accumulates one confusion matrix over all pixels (exact dataset-level scores), void pixels
(`ignore_index`) left out. It reports what the CamVid literature reports: global (pixel) accuracy,
class-average accuracy, mean IoU and boundary F1, per class (with the class names of the dataset
description) and overall. For a binary task it also scores the receipt's quadrilateral (quad IoU and
corner error against `corners/<stem>.json` beside the masks when present, else against the quad
fitted to the true mask) and counts false receipts on photos with no receipt.

Writes into `out_dir`:
- `metrics.json`: the overall figures, per-class figures, the confusion matrix (rows true, columns
  predicted, void left out) and the files that could not be scored; `summary.json` holds the same
  (its older name);
- `per_class.csv` and `per_class.md`: one row per class (pixels, IoU, accuracy = recall, precision,
  Dice, BF1), the Markdown file headed by the overall figures;
- `confusion.png`: the row-normalised confusion matrix with the class names;
- `per_photo.csv` and `worst.png` (the photos with the lowest IoU, void in its own colour).

Boundary F1 per class is the mean over the photos where the class is in the truth or the prediction
(so a photo without a class is not a perfect score for it), a photo's BF1 the mean over its classes,
the overall BF1 the mean over photos (MATLAB's `evaluateSemanticSegmentation` convention).

Example:

```python
from fcnlib.evaluate import evaluate
from fcnlib.predict import Predictor

summary = evaluate(Predictor.load("runs/camvid/best.keras"), "camvid/val.txt", "eval/camvid")
print(summary["miou"], summary["class_accuracy"], summary["per_class"]["car"]["iou"])
```
"""
from __future__ import annotations

import csv
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from fcnlib import data, metrics, postprocess, viz
from fcnlib.fileio import atomic_write_text
from fcnlib.labels import DatasetInfo, check_ignore_index, num_labels
from fcnlib.predict import Predictor, class_map
from fcnlib.spec import check_score_method

BF_TOLERANCE = 2


def true_corners(mask_path: Path, mask: np.ndarray):
    """Annotated corners (`<root>/corners/<stem>.json`) or the quad fitted to the true mask (class 1)."""
    j = mask_path.parent.parent / "corners" / f"{mask_path.stem}.json"
    if j.exists():
        c = json.loads(j.read_text()).get("corners")
        return None if c is None else postprocess.order_corners(np.asarray(c, dtype=float))
    obj = mask == 1
    return postprocess.fit_quad(obj) if obj.any() else None


def score_photo(prob: np.ndarray, mask: np.ndarray, num_classes: int, corners_true,
                found: postprocess.Extraction | None = None, ignore_index: int | None = None):
    """Scores of one photo and its predicted class map.

    Row: `iou` (of class 1 when binary, else the photo's mean IoU), `miou`, `pixel_accuracy`,
    `class_accuracy`, `bf1` (binary: of class 1; else the mean over the photo's classes),
    `has_object` (a kept pixel of a class other than 0), and, when binary, the receipt `found` by
    the predictor (default: `postprocess.extract(prob)`): detected, score, quad IoU, corner error.
    `num_classes`: model output channels (1 or 2: binary). Returns (row, pred, cm, bf_per_class)."""
    n = num_labels(num_classes)
    binary = n == 2
    pred = class_map(prob)
    cm = metrics.confusion_matrix(mask, pred, n, ignore_index=ignore_index)
    s = metrics.scores(cm)
    bf = metrics.boundary_f1_per_class(mask, pred, BF_TOLERANCE, n, ignore_index=ignore_index)[0]
    kept = np.ones(mask.shape, bool) if ignore_index is None else mask != ignore_index
    row = {"iou": float(s["iou"][1]) if binary else float(s["miou"]),
           "miou": float(s["miou"]), "pixel_accuracy": float(s["pixel_accuracy"]),
           "class_accuracy": float(s["class_accuracy"]),
           "bf1": (float(metrics.boundary_f1(mask, pred, BF_TOLERANCE, n, 1, ignore_index=ignore_index)) if binary
                   else float(np.nanmean(bf)) if np.isfinite(bf).any() else float("nan")),
           "has_object": bool((kept & (mask > 0)).any())}
    if binary:
        found = postprocess.extract(prob) if found is None else found
        row["detected"] = found.corners is not None
        row["score"] = float(found.score)
        if corners_true is not None:
            diag = float(np.hypot(*mask.shape))
            if found.corners is None:
                row["quad_iou"], row["corner_error"] = 0.0, float("nan")
            else:
                row["quad_iou"] = float(metrics.quad_iou(found.corners, corners_true, mask.shape))
                row["corner_error"] = float(metrics.corner_error(found.corners, corners_true, diag).max)
    return row, pred, cm, bf


def summarize(rows: list[dict], cm: np.ndarray, class_names, bf_per_class=None) -> dict:
    """Dataset-level figures from the total confusion matrix, the per-photo rows and the (photos, n)
    boundary F1 of each photo and class (NaN where a photo has neither truth nor prediction of it)."""
    s = metrics.scores(cm)
    n = len(cm)
    bf = np.full((0, n), np.nan) if bf_per_class is None or not len(bf_per_class) else np.asarray(bf_per_class)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: classes never seen
        class_bf = np.nanmean(bf, axis=0) if len(bf) else np.full(n, np.nan)
        photo_bf = np.nanmean(bf, axis=1) if len(bf) else np.zeros(0)

    def number(v):
        return None if v is None or not np.isfinite(v) else float(v)

    out = {"photos": len(rows),
           "pixels": int(cm.sum()),
           "global_accuracy": float(s["pixel_accuracy"]),
           "class_accuracy": float(s["class_accuracy"]),
           "miou": float(s["miou"]),
           "bf1": number(np.nanmean(photo_bf)) if np.isfinite(photo_bf).any() else None,
           "pixel_accuracy": float(s["pixel_accuracy"]),
           "per_class": {name: {"pixels": int(cm[i].sum()), "iou": float(s["iou"][i]),
                                "accuracy": float(s["recall"][i]), "precision": float(s["precision"][i]),
                                "dice": float(s["dice"][i]), "bf1": number(class_bf[i])}
                         for i, name in enumerate(class_names)}}
    objects = [r for r in rows if r["has_object"]]
    if objects and n == 2:
        ious = np.array([r["iou"] for r in objects])
        out.update(mean_iou=float(ious.mean()), share_iou_ge_0_9=float((ious >= 0.9).mean()),
                   mean_bf1=float(np.mean([r["bf1"] for r in objects])))
        quads = [r for r in objects if "quad_iou" in r]
        if quads:
            errs = np.array([r["corner_error"] for r in quads])
            out.update(mean_quad_iou=float(np.mean([r["quad_iou"] for r in quads])),
                       median_corner_error=float(np.nanmedian(errs)) if np.isfinite(errs).any() else None,
                       missed=int(sum(not r["detected"] for r in quads)))
    empty = [r for r in rows if not r["has_object"] and "detected" in r]
    if empty:
        out["false_receipts"] = f"{sum(r['detected'] for r in empty)} of {len(empty)}"
    return out


def resolve_dataset(dataset, pairs) -> DatasetInfo | None:
    """The dataset description: `dataset` (a DatasetInfo or a YAML path), else the `dataset.yaml`
    beside a pairs file, else None."""
    if isinstance(dataset, DatasetInfo):
        return dataset
    if dataset is not None:
        return DatasetInfo.load(dataset)
    if isinstance(pairs, (str, Path)):
        return DatasetInfo.beside(pairs)
    return None


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def per_class_markdown(summary: dict) -> str:
    """The per-class table as Markdown, headed by the overall figures."""
    void = summary.get("ignore_index")
    lines = [f"Photos: {summary['photos']}, pixels scored: {summary['pixels']}"
             + (f" (void value {void} left out: {summary['void_pixels']} pixels)" if void is not None else ""),
             "",
             "| global accuracy | class-average accuracy | mean IoU | BF1 |",
             "| --- | --- | --- | --- |",
             "| " + " | ".join(_fmt(summary[k]) for k in ("global_accuracy", "class_accuracy", "miou", "bf1")) + " |",
             "",
             "| id | class | pixels | IoU | accuracy | precision | Dice | BF1 |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for i, (name, c) in enumerate(summary["per_class"].items()):
        lines.append(f"| {i} | {name} | {c['pixels']} | " + " | ".join(
            _fmt(c[k]) for k in ("iou", "accuracy", "precision", "dice", "bf1")) + " |")
    return "\n".join(lines) + "\n"


def _predictions(predictor, photos, batch_size: int, binary: bool):
    """(probabilities at each photo's size, the receipt found or None) per photo: the one place that
    calls the predictor."""
    if not binary:
        return [(prob, None) for prob in predictor.predict(photos, batch_size)]
    return [(placement.to_original(small), predictor.extract_from(small, placement, photo=photo))
            for photo, (small, placement) in zip(photos, predictor.model_outputs(photos, batch_size))]


def evaluate(predictor: Predictor, pairs, out_dir: str | Path, mask_values=None, worst: int = 8,
             batch_size: int = 8, ignore_index: int | None = None, dataset=None) -> dict:
    """Evaluate a model on a pairs file (or a list of (photo, mask) pairs); write the files listed in
    the module docstring into `out_dir`; return the summary (`metrics.json`).

    `dataset`: a DatasetInfo or a `dataset.yaml` path for class names, colours and the void value;
    default the `dataset.yaml` beside the pairs file, else the model's class names. `ignore_index`:
    the void mask value, default the dataset description's. A photo that cannot be read or scored
    is skipped and listed under "skipped" (with the file and the problem); the rest are scored."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: output must be a folder, but it is a file")
    pairs_list = data.read_pairs(pairs) if not isinstance(pairs, list) else pairs
    info = resolve_dataset(dataset, pairs)
    n = num_labels(predictor.num_classes)
    if info is not None and len(info.class_names) != n:
        raise ValueError(f"the dataset description has {len(info.class_names)} classes but the model "
                         f"predicts {n} ({predictor.num_classes} output channel(s))")
    if ignore_index is None and info is not None:
        ignore_index = info.ignore_index
    ignore_index = check_ignore_index(ignore_index, n)
    names = list(info.class_names) if info is not None else list(predictor.class_names[:n])
    names += [f"class {i}" for i in range(len(names), n)]
    binary = n == 2
    out.mkdir(parents=True, exist_ok=True)

    cm = np.zeros((n, n), dtype=np.int64)
    rows, bfs, kept, skipped, void_pixels = [], [], [], [], 0
    for start in range(0, len(pairs_list), batch_size):
        chunk, photos, masks = [], [], []
        for photo_path, mask_path in pairs_list[start:start + batch_size]:
            try:
                photo = data.read_image(photo_path)
                mask = data.read_mask(mask_path, mask_values=mask_values)
                if mask.shape != photo.shape[:2]:
                    raise data.DataError(mask_path, f"mask is {mask.shape[1]}x{mask.shape[0]}, photo "
                                                    f"{photo_path} is {photo.shape[1]}x{photo.shape[0]}")
            except (data.DataError, OSError, ValueError) as e:
                skipped.append({"photo": str(photo_path), "mask": str(mask_path), "problem": str(e)})
                continue
            chunk.append((photo_path, mask_path))
            photos.append(photo)
            masks.append(mask)
        if not photos:
            continue
        for (photo_path, mask_path), photo, mask, (prob, found) in zip(
                chunk, photos, masks, _predictions(predictor, photos, batch_size, binary)):
            try:
                row, pred, photo_cm, bf = score_photo(
                    prob, mask, n, true_corners(Path(mask_path), mask) if binary else None, found, ignore_index)
            except ValueError as e:  # class ids outside the model's classes
                skipped.append({"photo": str(photo_path), "mask": str(mask_path), "problem": f"{mask_path}: {e}"})
                continue
            cm += photo_cm
            bfs.append(bf)
            if ignore_index is not None:
                void_pixels += int((mask == ignore_index).sum())
            rows.append({"photo": str(photo_path), **row})
            if worst:
                kept.append((row["iou"], photo, mask, pred, Path(photo_path).stem))
                kept.sort(key=lambda t: t[0])
                del kept[worst:]
    if not rows:
        raise ValueError(f"no photo of {pairs if isinstance(pairs, (str, Path)) else 'the pairs'} could be "
                         f"scored: " + "; ".join(s["problem"] for s in skipped[:3]))

    fields = list(dict.fromkeys(key for r in rows for key in r))
    with open(out / "per_photo.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    summary = summarize(rows, cm, names, bfs)
    summary.update(classes=names, ignore_index=ignore_index, void_pixels=void_pixels,
                   confusion_matrix=cm.tolist(), skipped=skipped)
    text = json.dumps(summary, indent=2)
    atomic_write_text(out / "metrics.json", text)
    atomic_write_text(out / "summary.json", text)
    with open(out / "per_class.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "class", "pixels", "iou", "accuracy", "precision", "dice", "bf1"])
        for i, (name, c) in enumerate(summary["per_class"].items()):
            w.writerow([i, name, c["pixels"]] + ["" if c[k] is None else f"{c[k]:.6f}"
                                                  for k in ("iou", "accuracy", "precision", "dice", "bf1")])
    atomic_write_text(out / "per_class.md", per_class_markdown(summary))
    viz.plot_confusion(cm, names, title="confusion matrix (% of each true class)").savefig(out / "confusion.png", dpi=90)
    if kept:
        palette = None if info is None or info.colors is None else np.array(info.colors, np.uint8)
        fig = viz.gallery([t[1] for t in kept], [t[2] for t in kept], [t[3] for t in kept],
                          titles=[f"{t[4]} {'IoU' if binary else 'mIoU'} {t[0]:.3f}" for t in kept],
                          palette=palette, ignore_index=ignore_index, background=not binary,
                          ignore_color=info.ignore_color if info is not None else viz.DEFAULT_IGNORE_COLOR)
        fig.savefig(out / "worst.png", dpi=80)
    for s in skipped:
        print(f"evaluate: skipped {s['problem']}", file=sys.stderr)
    return summary


COMPARE_COLUMNS = [("mean_iou", "mean IoU"), ("share_iou_ge_0_9", "IoU >= 0.9"), ("mean_quad_iou", "quad IoU"),
                   ("median_corner_error", "corner error / diagonal (median)"), ("mean_bf1", "BF1 (2 px)"),
                   ("missed", "receipts missed"), ("false_receipts", "false receipts")]
MULTICLASS_COLUMNS = [("global_accuracy", "global accuracy"), ("class_accuracy", "class-average accuracy"),
                      ("miou", "mean IoU"), ("bf1", "BF1 (2 px)")]


def _cell(value) -> str:
    """A table cell: floats to 3 decimals, "n/a" where the pairs hold nothing to measure it on."""
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def compare(models: dict[str, str], pairs, out_dir: str | Path, mask_values=None, ignore_index: int | None = None,
            dataset=None) -> str:
    """Evaluate several models (name -> `.keras` path, `default` or `classical`) on the same pairs.

    Each gets its own folder under `out_dir`; returns the side-by-side table as Markdown and writes
    it to `out_dir/compare.md`. Binary models get the receipt columns, multi-class models those of
    the CamVid literature (global and class-average accuracy, mean IoU, BF1)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: output must be a folder, but it is a file")
    summaries = {}
    for name, path in models.items():
        folder = "".join(c if c.isalnum() else "-" for c in name)
        summaries[name] = evaluate(Predictor.load(path), pairs, out / folder, mask_values=mask_values,
                                   ignore_index=ignore_index, dataset=dataset)
    binary = all(len(s["classes"]) == 2 for s in summaries.values())
    columns = COMPARE_COLUMNS if binary else MULTICLASS_COLUMNS
    lines = ["| model | " + " | ".join(label for _, label in columns) + " |",
             "| --- |" + " --- |" * len(columns)]
    for name, s in summaries.items():
        lines.append(f"| {name} | " + " | ".join(_cell(s.get(key)) for key, _ in columns) + " |")
    table = "\n".join(lines) + "\n"
    atomic_write_text(out / "compare.md", table)
    return table


def _check_max_false_rate(max_false_rate) -> None:
    if max_false_rate is not None and not 0.0 <= max_false_rate <= 1.0:
        raise ValueError(f"max_false_rate must be a share in [0, 1], got {max_false_rate}")


def choose_min_score(scores, has, max_false_rate: float | None = None) -> dict:
    """The threshold `calibrate_min_score` picks from measured extraction scores (`scores`, one per photo)
    and whether each photo holds the object (`has`, booleans).

    One candidate cut lies in the middle of each gap between measured scores (and 0 and 1). Without
    `max_false_rate` the cut maximising balanced accuracy (mean of the share of objects kept and the share
    of empty photos rejected) wins, the widest gap among equals. With it (a share in [0, 1]) only cuts at
    which at most that share of empty photos scores at or above the cut may win; of those, the one keeping
    the most objects, then the best balanced accuracy, then the widest gap. Should no cut meet the cap
    (empty photos scoring 1.0), the one with the fewest false answers wins and "cap_met" is False.
    Returns {"min_score", "balanced_accuracy", "objects", "empty", "missed", "false"} and, with a cap,
    "max_false_rate" and "cap_met"; min_score None when the set lacks either kind."""
    _check_max_false_rate(max_false_rate)
    scores, has = np.asarray(scores, float), np.asarray(has, bool)
    if scores.shape != has.shape or scores.ndim != 1:
        raise ValueError(f"scores and has must be two 1-D arrays of one length, got {scores.shape} and {has.shape}")
    out = {"objects": int(has.sum()), "empty": int((~has).sum())}
    cap = {} if max_false_rate is None else {"max_false_rate": float(max_false_rate)}
    if has.all() or not has.any():
        return {**out, "min_score": None, "balanced_accuracy": None, "missed": None, "false": None, **cap}
    levels = np.unique(np.concatenate([[0.0], scores, [1.0]]))
    lo, hi = levels[:-1], levels[1:]
    cut = (lo + hi) / 2  # one candidate per gap between measured scores
    kept = (scores[has][None, :] >= cut[:, None]).mean(1)
    rejected = (scores[~has][None, :] < cut[:, None]).mean(1)
    ba = (kept + rejected) / 2
    if max_false_rate is None:
        best = np.flatnonzero(np.isclose(ba, ba.max()))
    else:
        allowed = (1.0 - rejected) <= max_false_rate + 1e-12
        cap["cap_met"] = bool(allowed.any())
        if not allowed.any():  # the fewest false answers, then as below
            allowed = np.isclose(rejected, rejected.max())
        best = np.flatnonzero(allowed & np.isclose(kept, kept[allowed].max()))
        best = best[np.isclose(ba[best], ba[best].max())]
    i = best[np.argmax((hi - lo)[best])]
    t = float(cut[i])
    return {**out, "min_score": round(t, 4), "balanced_accuracy": float(ba[i]),
            "missed": int((scores[has] < t).sum()), "false": int((scores[~has] >= t).sum()), **cap}


def calibrate_min_score(predictor: Predictor, pairs, mask_values=None, batch_size: int = 8,
                        max_false_rate: float | None = None, score_method: str | None = None) -> dict:
    """The extraction score below which a binary model should answer "no receipt".

    On a labelled set holding photos with and without the object (normally the validation split, never
    the test photos), every photo's extraction score is measured and `choose_min_score` picks the
    threshold: the best balanced accuracy, or with `max_false_rate` the cut keeping the most objects
    while at most that share of the empty photos scores at or above it. Returns {"min_score",
    "balanced_accuracy", "objects", "empty", "missed", "false"} (with a cap also "max_false_rate" and
    "cap_met"); min_score None when the set lacks either kind (no threshold can be chosen then: callers
    must keep the one they have). `score_method`: the score method to calibrate (`fcnlib.spec.SCORE_METHODS`;
    default the model's own); the threshold is valid for that method only."""
    _check_max_false_rate(max_false_rate)  # before the work, not after it (extraction_scores checks the method)
    scores, has = extraction_scores(predictor, pairs, mask_values, batch_size, score_method=score_method)
    return choose_min_score(scores, has, max_false_rate)


def extraction_scores(predictor: Predictor, pairs, mask_values=None, batch_size: int = 8,
                      score_method: str | None = None) -> tuple[list, list]:
    """(extraction score, whether the mask holds the object) of every pair, as `calibrate_min_score`
    measures them: the score with no threshold (`extract_from(..., min_score=0.0)`), by the score
    method `score_method` (default the model's own)."""
    if score_method is not None:
        check_score_method(score_method)
    pairs = data.read_pairs(pairs) if not isinstance(pairs, list) else pairs
    scores, has = [], []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        photos = [data.read_image(p) for p, _ in chunk]
        for (_, mask_path), (small, placement) in zip(chunk, predictor.model_outputs(photos, batch_size)):
            scores.append(predictor.extract_from(small, placement, min_score=0.0, score_method=score_method).score)
            has.append(bool(data.read_mask(mask_path, mask_values=mask_values).any()))
    return scores, has
