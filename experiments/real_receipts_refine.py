"""Shipped models on the shared real receipts with and without corner refinement, measured once each.

The refinement's settings were chosen on synthetic photos only (`experiments/tune_refine.py`); this
script only reports. It imports `../shared/data/receipts` (corners -> masks) into `data/real`, scores
each preset named (default: the one `fcnlib.load_pretrained()` gives) with `refine` off and on through
`fcnlib.evaluate.evaluate` (the figures of `fcn compare`), and appends a section to
`experiments/results/real_receipts.md`.

    python experiments/real_receipts_refine.py [PRESET ...]
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    from fcnlib import data, evaluate, fileio, presets
    from fcnlib.predict import Predictor

    names = (sys.argv[1:] if argv is None else argv) or [presets.DEFAULT_PRESET]
    receipts = Path(os.environ.get("RECEIPTS", "../shared/data/receipts"))
    root = Path("data/real")
    if not (root / "pairs.txt").exists():
        data.import_quads(receipts / "images", receipts / "corners", root, negatives_dir=receipts / "negatives")
    pairs = data.read_pairs(root / "pairs.txt")
    rows = []
    for name, refine in [(n, r) for n in names for r in (False, True)]:
        predictor = Predictor.load(name)
        predictor.refine = refine
        out = Path(f"data/real-eval/{name}-" + ("refine" if refine else "coarse"))
        t = time.perf_counter()
        s = evaluate.evaluate(predictor, pairs, out, worst=0)
        import csv

        with open(out / "per_photo.csv") as f:
            errs = np.array([float(r["corner_error"]) for r in csv.DictReader(f) if r.get("corner_error") not in (None, "")])
        rows.append((f"`{name}`, " + ("refined on the photo" if refine else "coarse (192x144 map, before refinement)"), s,
                     float(np.nanmedian(errs)), float(np.nanmean(errs)), float(np.nanpercentile(errs, 90)),
                     float(np.mean(errs <= 0.005)), time.perf_counter() - t))
        print(rows[-1][0], s.get("mean_quad_iou"), rows[-1][2], flush=True)
    lines = ["", f"## Corners refined on the photo (issue 12 §2), {time.strftime('%Y-%m-%d')}", "",
             f"Measured once by `python experiments/real_receipts_refine.py {' '.join(names)}` (all "
             f"{len(pairs)} photos of ../shared/data/receipts; each preset with `refine` off and on; the refinement's "
             "settings were chosen on synthetic photos only, `experiments/results/refine_tuning.md`). Corner error: "
             "per photo the worst of its four corners, share of the diagonal.", "",
             "| preset | quad IoU | corner error median | mean | 90th percentile | receipts within 0.5% | mean IoU (mask) | receipts missed | false receipts |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for label, s, med, mean, p90, within, _ in rows:
        lines.append(f"| {label} | {s['mean_quad_iou']:.4f} | {med:.4f} | {mean:.4f} | {p90:.4f} | {within:.1%} | "
                     f"{s['mean_iou']:.4f} | {s['missed']} | {s.get('false_receipts')} |")
    lines += ["", "Targets (issue 12 §2): median corner error <= 0.5% of the diagonal, quad IoU >= 0.97. The mask "
              "IoU is the network's own mask (unchanged by the refinement)."]
    fileio.report_section(lines, "experiments/results/real_receipts.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
