"""Choose the corner refinement's settings on synthetic photos (true corners known), never on real ones.

Generates `--n` synthetic receipts (`fcn synth`, a seed no model trained on) in `--work`, runs the
shipped model once per photo (cached in `--work`), then scores the coarse corners and the refined
corners for each candidate setting: median and 90th percentile of the worst corner's error (share of
the photo diagonal) and mean quad IoU. `--scale` upsamples the photos (bicubic, plus sensor-like noise)
to test phone resolutions. Appends a Markdown table to `--output`.

    python experiments/tune_refine.py --n 150 --seed 21 -o experiments/results/refine_tuning.md
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np


def coarse_cases(work: Path, n: int, seed: int, scale: int, long_side: int, preset: str = "receipt",
                 documents: float = 0.0) -> list[dict]:
    """Synthetic photos and a shipped model's coarse corners (cached in `work`)."""
    tag = "" if documents == 0.0 else f"_docs{documents}"
    cache = work / f"coarse_{preset}_s{seed}_n{n}{tag}_x{scale}_side{long_side}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    from PIL import Image

    from fcnlib import data, synth
    from fcnlib.predict import Predictor

    folder = work / f"synth_s{seed}_n{n}{tag}"
    if not (folder / "pairs.txt").exists():
        synth.generate(folder, n=n, seed=seed, negatives=0.0, documents=documents, progress=False)
    predictor = Predictor.load(preset)
    cases = []
    for i in range(n):
        name = f"synth_{i:05d}"
        true = np.asarray(json.loads((folder / "corners" / f"{name}.json").read_text())["corners"], float)
        path = folder / "original" / f"{name}.jpg"
        if scale > 1:
            big_path = work / f"x{scale}" / f"{name}.jpg"
            if not big_path.exists():
                big_path.parent.mkdir(parents=True, exist_ok=True)
                im = Image.open(path)
                big = im.resize((im.width * scale, im.height * scale), Image.Resampling.BICUBIC)
                noise = np.random.default_rng(i).normal(0, 2.0, (big.height, big.width, 1))
                Image.fromarray(np.clip(np.asarray(big) + noise, 0, 255).astype(np.uint8)).save(big_path, quality=90)
            path = big_path
        # synth corners put pixel edges on integers; fcnlib puts pixel centres there
        true = true * scale
        photo = data.read_image_reduced(path, long_side)
        (prob, placement), = predictor.model_outputs([photo.image])
        full = dataclasses.replace(placement, original=tuple(photo.size))
        found = predictor.extract_from(prob, full, min_score=0.0)
        cell = max(photo.size[1] / placement.width, photo.size[0] / placement.height)
        cases.append({"path": str(path), "true": (true - 0.5).tolist(), "size": list(photo.size), "cell": cell,
                      "coarse": None if found.corners is None else found.corners.tolist()})
    cache.write_text(json.dumps(cases))
    return cases


def second_look(predictor, photo, corners, margin: float):
    """The network run again on a crop around the coarse quad (the quad's box, grown by `margin` of its
    longer side, widened to the photo's aspect and kept inside it): (corners in full-photo pixels, cell
    size of the crop's map in full-photo pixels), or (None, None) when it finds no quad there."""
    img, s = photo.image, photo.scale
    h, w = img.shape[:2]
    q = (np.asarray(corners, float) + 0.5) / s - 0.5
    (x0, y0), (x1, y1) = q.min(axis=0), q.max(axis=0)
    pad = margin * max(x1 - x0, y1 - y0)
    bw, bh = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
    bw, bh = (bh * w / h, bh) if bw / bh < w / h else (bw, bw * h / w)
    bw, bh = min(bw, w), min(bh, h)
    left = int(round(min(max((x0 + x1 - bw) / 2, 0), w - bw)))
    top = int(round(min(max((y0 + y1 - bh) / 2, 0), h - bh)))
    crop = img[top:top + int(round(bh)), left:left + int(round(bw))]
    (prob, placement), = predictor.model_outputs([crop])
    found = predictor.extract_from(prob, dataclasses.replace(placement, original=crop.shape[:2]), min_score=0.0)
    if found.corners is None:
        return None, None
    cell = max(crop.shape[1] / placement.width, crop.shape[0] / placement.height) * s
    return (found.corners + np.array([left, top]) + 0.5) * s - 0.5, cell


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--scale", type=int, default=1, help="upsample the 600x800 photos by this factor")
    ap.add_argument("--long-side", type=int, default=1000, help="refine on the photo decoded at least this large")
    ap.add_argument("--work", default="data/tune_refine")
    ap.add_argument("--preset", default="receipt", help="the shipped model whose corners are refined")
    ap.add_argument("--documents", type=float, default=0.0, help="share of pages among the photos (fcn synth)")
    ap.add_argument("--grid", default="search", choices=["search", "detail", "one", "zoom"],
                    help="zoom: a second look of the network on a crop around the coarse quad")
    ap.add_argument("-o", "--output", default=None)
    args = ap.parse_args(argv)

    from fcnlib import data, fileio, metrics, postprocess

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    cases = coarse_cases(work, args.n, args.seed, args.scale, args.long_side, args.preset, args.documents)
    photos = [data.read_image_reduced(c["path"], args.long_side) for c in cases]
    base = postprocess.RefineSettings()
    if args.grid == "search":
        grid = [(f"search {sc} cells, prior {pr}, {cv}", sc, dataclasses.replace(base, prior=pr, curve=cv))
                for cv, sc, pr in (("line", 2.5, 0.5), ("quadratic", 1.5, 0.5), ("quadratic", 4.0, 0.5),
                                   ("quadratic", 4.0, 1.0))]
    elif args.grid == "detail":
        sc = postprocess.REFINE_SEARCH_CELLS
        grid = [(f"search {sc} cells, {k} {v}", sc, dataclasses.replace(base, **{k: v}))
                for k, vals in [("min_contrast", (3.0, 12.0)), ("second_pass", (0.0, 1.5, 6.0)),
                                ("inlier_px", (0.6, 1.5)), ("min_inliers", (0.25, 0.6)),
                                ("smooth", (0.5, 3.0)), ("samples", (24, 96))] for v in vals]
    elif args.grid == "zoom":
        grid = [(f"second look, margin {m}" + (", then refined" if then else ""), ("zoom", m, then), base)
                for m, then in ((0.05, False), (0.1, False), (0.2, False), (0.1, True))]
    else:
        grid = []
    predictor = None
    if args.grid == "zoom":
        from fcnlib.predict import Predictor

        predictor = Predictor.load(args.preset)
    grid = [("coarse (no refinement)", None, None),
            (f"defaults: search {postprocess.REFINE_SEARCH_CELLS} cells, {base}", postprocess.REFINE_SEARCH_CELLS, base)] + grid
    rows = []
    for label, sc, cfg in grid:
        errs, ious, ms, each = [], [], [], []
        for case, photo in zip(cases, photos):
            true = np.asarray(case["true"])
            if case["coarse"] is None:
                errs.append(np.inf)
                ious.append(0.0)
                continue
            t = time.perf_counter()
            c = np.asarray(case["coarse"])
            if isinstance(sc, tuple):  # second look, then (optionally) refined at the crop's cell size
                looked, cell = second_look(predictor, photo, c, sc[1])
                if looked is not None:
                    c = postprocess.refine_in_photo(photo, looked, cell, postprocess.REFINE_SEARCH_CELLS, cfg) if sc[2] else looked
            elif sc is not None:
                c = postprocess.refine_in_photo(photo, c, case["cell"], sc, cfg)
            ms.append((time.perf_counter() - t) * 1000)
            e = metrics.corner_error(c, true, float(np.hypot(*case["size"])))
            errs.append(e.max)
            each.append(e.mean)
            ious.append(metrics.quad_iou(c, true, tuple(case["size"])))
        errs = np.array(errs)
        rows.append((label, float(np.median(errs)), float(np.percentile(errs, 90)), float(np.mean(ious)),
                     float(np.median(ms)), float(np.median(each)), float(np.mean(errs <= 0.005))))
        print(f"{label[:90]:90s} median {rows[-1][1]:.4f} p90 {rows[-1][2]:.4f} quad IoU {rows[-1][3]:.4f} "
              f"mean-corner median {rows[-1][5]:.4f} within 0.5% {rows[-1][6]:.3f} ({rows[-1][4]:.1f} ms)", flush=True)
    h, w = cases[0]["size"]
    what = "receipts" if args.documents == 0 else f"receipts and pages (documents {args.documents})"
    lines = [f"## Synthetic {what}, seed {args.seed}: {len(cases)} photos of {w}x{h}, preset `{args.preset}`, refined at long side >= {args.long_side}",
             "", f"`python experiments/tune_refine.py --preset {args.preset} --documents {args.documents} --n {args.n} --seed {args.seed} --scale {args.scale} "
             f"--long-side {args.long_side} --grid {args.grid}` on {time.strftime('%Y-%m-%d')} (machine shared with "
             "other jobs: the ms column is indicative only). Corner error: the worst corner of each photo, share of "
             "its diagonal; mean corner error: the mean of its four corners.", "",
             "| setting | worst corner error, median | p90 | photos with worst corner <= 0.5% | mean corner error, median | quad IoU | refinement ms (median) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r[0]} | {r[1]:.4f} | {r[2]:.4f} | {r[6]:.3f} | {r[5]:.4f} | {r[3]:.4f} | {r[4]:.1f} |" for r in rows]
    fileio.report_section(lines, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
