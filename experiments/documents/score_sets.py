"""The document model before and after its score change, on the ship-rule sets of the earlier candidates.

Reporting only (the change was decided by `score_rule.py`). The weights did not change, so the masks did
not: only which photos are answered did. Each photo of the seven synthetic sets of `landscape.sh`
(portrait and landscape pages and receipts, receipts of the receipt model's generator, 400 empty scenes
portrait and 400 landscape) is run once through the `document` preset; its mask IoU and both extraction
scores are kept, and each rule is applied: "fit" under min_score 0.6525 (the preset before, `git show
0c192df~1:fcnlib/weights/document_unet.keras`) and "confident" under the preset's min_score now. A photo
with paper that is not answered counts IoU 0.

    python experiments/documents/score_sets.py [--sets data/landscape-rule/sets] [-o experiments/results/shipped_model.md]
"""
from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import numpy as np

SETS = ("pages", "pages_landscape", "receipts", "receipts_landscape", "receipts_old", "empty", "empty_landscape")
BEFORE = "0c192df~1:fcnlib/weights/document_unet.keras"


def _spec_before():
    import tempfile

    from fcnlib.spec import read_spec

    blob = subprocess.run(["git", "show", BEFORE], check=True, capture_output=True).stdout
    with tempfile.NamedTemporaryFile(suffix=".keras") as f:
        f.write(blob)
        f.flush()
        return read_spec(f.name)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="data/landscape-rule/sets")
    ap.add_argument("-o", "--output", default=None)
    args = ap.parse_args(argv)

    from fcnlib import data, fileio, metrics
    from fcnlib.predict import Predictor

    predictor = Predictor.load("document")
    rules = {"fit": _spec_before().min_score, "confident": predictor.min_score}
    t = time.perf_counter()
    rows = []
    for name in SETS:
        pairs = Path(args.sets) / name / "pairs.txt"
        if not pairs.is_file():
            raise SystemExit(f"score_sets: {pairs} is missing: run experiments/documents/landscape.sh first")
        iou, has, scores = [], [], {k: [] for k in rules}
        for photo_path, mask_path in data.read_pairs(pairs):
            (small, placement), = predictor.model_outputs([data.read_image(photo_path)])
            truth = data.read_mask(mask_path) > 0
            for k in rules:
                scores[k].append(predictor.extract_from(small, placement, min_score=0.0, score_method=k).score)
            found = predictor.extract_from(small, placement, min_score=0.0)
            iou.append(metrics.mask_iou(truth, found.mask if found.corners is not None else np.zeros_like(truth)))
            has.append(bool(truth.any()))
        iou, has = np.array(iou), np.array(has)
        cells = []
        for k, limit in rules.items():
            answered = np.array(scores[k]) >= limit
            if has.any():
                cells.append(f"{np.where(answered, iou, 0.0)[has].mean():.3f} / {int((has & ~answered).sum())} / "
                             f"{int((~has & answered).sum())}")
            else:
                cells.append(f"- / - / {int(answered.sum())}")
        rows.append(f"| {name} | {len(has)} ({int(has.sum())} with paper) | " + " | ".join(cells) + " |")
    lines = [f"## The score change on the earlier rule sets (reporting), {time.strftime('%Y-%m-%d')}", "",
             f"`python experiments/documents/score_sets.py` ({time.perf_counter() - t:.0f} s): the same weights, "
             f"answering under \"fit\" >= {rules['fit']} (before) and under \"confident\" >= {rules['confident']} (now), "
             f"on the synthetic sets of `landscape.sh` (`{args.sets}`). Each cell: mean mask IoU over the photos "
             "with paper (one not answered counts 0) / photos with paper not answered / empty photos answered. "
             "Reporting only.", "",
             "| set | photos | fit (before) | confident (now) |", "| --- | --- | --- | --- |", *rows]
    fileio.report_section(lines, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
