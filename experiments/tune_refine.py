"""Choose the corner refinement's settings on synthetic photos (true corners known), never on real ones.

Generates `--n` synthetic receipts (`fcn synth`, a seed no model trained on), runs the shipped model
once per photo, then scores the coarse corners and the refined corners for each candidate setting:
median and 90th percentile of the worst corner's error (share of the photo diagonal) and mean quad IoU.
`--scale` upsamples the photos (bicubic, plus sensor-like noise) to test phone resolutions. Writes a
Markdown table (appended to `--output`).

    python experiments/tune_refine.py --n 150 --seed 21 -o experiments/results/refine_tuning.md
"""
from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--scale", type=int, default=1, help="upsample the 600x800 photos by this factor")
    ap.add_argument("--grid", default="default", choices=["default", "small"])
    ap.add_argument("-o", "--output", default=None)
    args = ap.parse_args(argv)

    from PIL import Image

    from fcnlib import data, metrics, postprocess, synth
    from fcnlib.predict import load_pretrained

    predictor = load_pretrained()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        synth.generate(Path(tmp) / "s", n=args.n, seed=args.seed, negatives=0.0, progress=False)
        cases = []
        for i in range(args.n):
            name = f"synth_{i:05d}"
            true = json.loads((Path(tmp) / "s" / "corners" / f"{name}.json").read_text())["corners"]
            path = Path(tmp) / "s" / "original" / f"{name}.jpg"
            if args.scale > 1:
                im = Image.open(path)
                big = im.resize((im.width * args.scale, im.height * args.scale), Image.Resampling.BICUBIC)
                noisy = np.asarray(big, np.int16) + np.random.default_rng(i).normal(0, 2.5, (big.height, big.width, 1)).astype(np.int16)
                path = Path(tmp) / f"{name}_big.jpg"
                Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(path, quality=90)
            # synth corners have pixel edges on integers; fcnlib uses pixel centres
            true = (np.asarray(true, float) * args.scale) - 0.5
            h, w = 800 * args.scale, 600 * args.scale
            if ((true >= 0) & (true <= [w - 1, h - 1])).all():  # as the real set: receipts inside the photo
                cases.append((path, true))
        print(f"{len(cases)} of {args.n} receipts lie wholly inside their photo", flush=True)
        sides = [1000, 1500] if args.scale > 1 else [800]
        coarse = {}
        for side in sides:
            for path, true in cases:
                photo = data.read_image_reduced(path, side)
                (prob, placement), = predictor.model_outputs([photo.image])
                import dataclasses

                full = dataclasses.replace(placement, original=tuple(photo.size))
                found = predictor.extract_from(prob, full, min_score=0.0)
                cell = max(photo.size[1] / placement.width, photo.size[0] / placement.height)
                coarse.setdefault(side, []).append((photo, found.corners, cell, true))

        def score(label, fn, side):
            errs, ious, ms = [], [], []
            for photo, corners, cell, true in coarse[side]:
                diag = float(np.hypot(*photo.size))
                if corners is None:
                    errs.append(np.inf)
                    ious.append(0.0)
                    continue
                t = time.perf_counter()
                c = fn(photo, corners, cell)
                ms.append((time.perf_counter() - t) * 1000)
                errs.append(metrics.corner_error(c, true, diag).max)
                ious.append(metrics.quad_iou(c, true, photo.size))
            errs = np.array(errs)
            rows.append((label, side, float(np.median(errs)), float(np.percentile(errs, 90)),
                         float(np.mean(ious)), float(np.median(ms))))
            print(f"{label:60s} side {side}: corner error median {rows[-1][2]:.4f} p90 {rows[-1][3]:.4f} "
                  f"quad IoU {rows[-1][4]:.4f} ({rows[-1][5]:.1f} ms)", flush=True)

        for side in sides:
            score("coarse (no refinement)", lambda p, c, cell: c, side)
            cells = [2.0, 4.0] if args.grid == "small" else [2.0, 3.0, 4.0, 6.0]
            priors = [0.5] if args.grid == "small" else [0.35, 0.5, 1.0]
            contrasts = [6.0] if args.grid == "small" else [3.0, 6.0, 12.0]
            for sc, pr, mc in itertools.product(cells, priors, contrasts):
                cfg = postprocess.RefineSettings(min_contrast=mc, prior=pr)
                score(f"search {sc} cells, prior {pr}, min_contrast {mc}",
                      lambda p, c, cell, sc=sc, cfg=cfg: postprocess.refine_in_photo(p, c, cell, sc, cfg), side)
            if args.grid == "default":
                for smooth, samples, inl in [(0.5, 48, 0.4), (3.0, 48, 0.4), (1.5, 24, 0.4), (1.5, 96, 0.4),
                                             (1.5, 48, 0.25), (1.5, 48, 0.6)]:
                    cfg = postprocess.RefineSettings(smooth=smooth, samples=samples, min_inliers=inl)
                    score(f"search 4 cells, smooth {smooth}, samples {samples}, min_inliers {inl}",
                          lambda p, c, cell, cfg=cfg: postprocess.refine_in_photo(p, c, cell, 4.0, cfg), side)
    lines = [f"## Synthetic receipts: seed {args.seed}, {args.n} photos, 600x800 x {args.scale}",
             "", f"`python experiments/tune_refine.py --n {args.n} --seed {args.seed} --scale {args.scale}`"
             f" on {time.strftime('%Y-%m-%d')}. Corner error: worst corner per photo, share of the diagonal.", "",
             "| setting | refine long side | corner error median | corner error p90 | quad IoU | refine ms (median) |",
             "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r[0]} | {r[1]} | {r[2]:.4f} | {r[3]:.4f} | {r[4]:.4f} | {r[5]:.1f} |" for r in rows]
    text = "\n".join(lines) + "\n"
    if args.output:
        with open(args.output, "a") as f:
            f.write("\n" + text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
