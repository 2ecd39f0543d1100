"""Evaluation at the photos' original resolution: per class, per photo, and for receipts, per quad.

`evaluate(predictor, pairs, out_dir)` predicts every photo of a pairs file at its own size,
accumulates one confusion matrix over all pixels (exact dataset-level scores), scores each photo
(IoU, boundary F1) and, for a binary task, the receipt's quadrilateral (quad IoU and corner error
against `corners/<stem>.json` beside the masks when present, else against the quad fitted to the
true mask) and false receipts on photos with no receipt. Writes `per_photo.csv`,
`summary.json` and `worst.png` (the photos with the lowest IoU).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from fcnlib import data, metrics, postprocess, viz
from fcnlib.predict import Predictor, class_map

BF_TOLERANCE = 2


def true_corners(mask_path: Path, mask: np.ndarray):
    """Annotated corners (`<root>/corners/<stem>.json`) or the quad fitted to the true mask."""
    j = mask_path.parent.parent / "corners" / f"{mask_path.stem}.json"
    if j.exists():
        c = json.loads(j.read_text()).get("corners")
        return None if c is None else postprocess.order_corners(np.asarray(c, dtype=float))
    return postprocess.fit_quad(mask.astype(bool)) if mask.any() else None


def score_photo(prob: np.ndarray, mask: np.ndarray, num_classes: int, corners_true,
                found: postprocess.Extraction | None = None) -> dict:
    """Scores of one photo: IoU of the foreground (or mean IoU), BF1, and, when binary, the receipt
    `found` by the predictor (default: `postprocess.extract(prob)`): detected, score, quad."""
    pred = class_map(prob)
    s = metrics.scores(metrics.confusion_matrix(mask, pred, num_classes))
    row = {"iou": float(s["iou"][1]) if num_classes == 2 else float(s["miou"]),
           "miou": float(s["miou"]), "pixel_accuracy": float(s["pixel_accuracy"]),
           "bf1": float(metrics.boundary_f1(mask, pred, tolerance=BF_TOLERANCE, num_classes=num_classes)),
           "has_object": bool(mask.any())}
    if num_classes == 2:
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
    return row, pred


def summarize(rows: list[dict], cm: np.ndarray, class_names) -> dict:
    """Dataset-level figures from the total confusion matrix and the per-photo rows."""
    s = metrics.scores(cm)
    out = {"photos": len(rows),
           "per_class": {name: {"iou": float(s["iou"][i]), "precision": float(s["precision"][i]),
                                "recall": float(s["recall"][i]), "dice": float(s["dice"][i])}
                         for i, name in enumerate(class_names)},
           "miou": float(s["miou"]), "pixel_accuracy": float(s["pixel_accuracy"])}
    objects = [r for r in rows if r["has_object"]]
    if objects:
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


def evaluate(predictor: Predictor, pairs, out_dir: str | Path, mask_values=None,
             worst: int = 8, batch_size: int = 8) -> dict:
    """Evaluate a model on a pairs file; write per_photo.csv, summary.json and worst.png."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pairs = data.read_pairs(pairs) if not isinstance(pairs, list) else pairs
    k = predictor.num_classes
    cm = np.zeros((k, k), dtype=np.int64)
    rows, kept = [], []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        photos = [data.read_image(p) for p, _ in chunk]
        masks = [data.read_mask(m, mask_values=mask_values) for _, m in chunk]
        for (photo_path, mask_path), photo, mask, (small, placement) in zip(
                chunk, photos, masks, predictor.model_outputs(photos, batch_size)):
            if mask.shape != photo.shape[:2]:
                raise data.DataError(f"{mask_path}: mask is {mask.shape[1]}x{mask.shape[0]}, photo "
                                     f"{photo_path} is {photo.shape[1]}x{photo.shape[0]}")
            found = predictor.extract_from(small, placement, photo=photo) if k == 2 else None
            row, pred = score_photo(placement.to_original(small), mask, k,
                                    true_corners(Path(mask_path), mask) if k == 2 else None, found)
            cm += metrics.confusion_matrix(mask, pred, k)
            rows.append({"photo": str(photo_path), **row})
            kept.append((row["iou"], photo, mask, pred, Path(photo_path).stem))
    fields = list(dict.fromkeys(key for r in rows for key in r))
    with open(out / "per_photo.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    summary = summarize(rows, cm, predictor.class_names[:k])
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    if worst and kept:
        kept.sort(key=lambda t: t[0])
        sel = kept[:worst]
        fig = viz.gallery([t[1] for t in sel], [t[2] for t in sel], [t[3] for t in sel],
                          titles=[f"{t[4]} IoU {t[0]:.3f}" for t in sel])
        fig.savefig(out / "worst.png", dpi=80)
    return summary


COMPARE_COLUMNS = [("mean_iou", "mean IoU"), ("share_iou_ge_0_9", "IoU >= 0.9"), ("mean_quad_iou", "quad IoU"),
                   ("median_corner_error", "corner error / diagonal (median)"), ("mean_bf1", "BF1 (2 px)"),
                   ("missed", "receipts missed"), ("false_receipts", "false receipts")]


def _cell(value) -> str:
    """A table cell: floats to 3 decimals, "n/a" where the pairs hold nothing to measure it on."""
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def compare(models: dict[str, str], pairs, out_dir: str | Path, mask_values=None) -> str:
    """Evaluate several models (name -> `.keras` path, `default` or `classical`) on the same pairs.

    Each gets its own folder under `out_dir`; returns the side-by-side table as Markdown and writes
    it to `out_dir/compare.md`."""
    out = Path(out_dir)
    lines = ["| model | " + " | ".join(label for _, label in COMPARE_COLUMNS) + " |",
             "| --- |" + " --- |" * len(COMPARE_COLUMNS)]
    for name, path in models.items():
        folder = "".join(c if c.isalnum() else "-" for c in name)
        s = evaluate(Predictor.load(path), pairs, out / folder, mask_values=mask_values)
        cells = [s.get(key) for key, _ in COMPARE_COLUMNS]
        lines.append(f"| {name} | " + " | ".join(_cell(c) for c in cells) + " |")
    table = "\n".join(lines) + "\n"
    (out / "compare.md").write_text(table)
    return table


def calibrate_min_score(predictor: Predictor, pairs, mask_values=None, batch_size: int = 8) -> dict:
    """The extraction score below which a binary model should answer "no receipt".

    On a labelled set holding photos with and without the object (normally the validation split, never
    the test photos), every photo's extraction score is measured; the threshold maximising balanced
    accuracy (mean of the share of objects kept and the share of empty photos rejected) is chosen, at
    the middle of the widest such gap between two measured scores. Returns {"min_score", "balanced_accuracy",
    "objects", "empty", "missed", "false"}; min_score 0.0 (no rejection) when the set lacks either kind."""
    pairs = data.read_pairs(pairs) if not isinstance(pairs, list) else pairs
    scores, has = [], []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        photos = [data.read_image(p) for p, _ in chunk]
        for (_, mask_path), (small, placement) in zip(chunk, predictor.model_outputs(photos, batch_size)):
            scores.append(predictor.extract_from(small, placement, min_score=0.0).score)
            has.append(bool(data.read_mask(mask_path, mask_values=mask_values).any()))
    scores, has = np.array(scores), np.array(has)
    out = {"objects": int(has.sum()), "empty": int((~has).sum())}
    if has.all() or not has.any():
        return {**out, "min_score": 0.0, "balanced_accuracy": None, "missed": None, "false": None}
    levels = np.unique(np.concatenate([[0.0], scores, [1.0]]))
    lo, hi = levels[:-1], levels[1:]
    cut = (lo + hi) / 2  # one candidate per gap between measured scores
    kept = (scores[has][None, :] >= cut[:, None]).mean(1)
    rejected = (scores[~has][None, :] < cut[:, None]).mean(1)
    ba = (kept + rejected) / 2
    best = np.flatnonzero(np.isclose(ba, ba.max()))
    i = best[np.argmax((hi - lo)[best])]
    t = float(cut[i])
    return {**out, "min_score": round(t, 4), "balanced_accuracy": float(ba[i]),
            "missed": int((scores[has] < t).sum()), "false": int((scores[~has] >= t).sum())}
