"""Where the paper's colour step lies relative to an outline: annotated, coarse and refined corners.

A check of the reference itself, made to report, not to choose: corner error against hand-clicked
corners can only go as low as the clicks sit on the paper's edge. Across each side of an outline,
`--samples` profiles of +-`--search` pixels locate the strongest colour step (the search of
`fcnlib.postprocess.refine_corners`, with a flat prior: every position in the strip counts alike);
the step's signed distance from the side (outward +) is recorded per profile. Per outline the table
gives the median over photos of the median |distance| and the share of profiles whose step lies within
1.5 px of the side. Synthetic receipts, whose corners are exact, show what the measure reads on an
outline that is right.

    python experiments/corners/outline_contrast.py --real ../shared/data/receipts --synthetic 150 \
        -o experiments/results/corners_reference.md
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def step_offsets(img: np.ndarray, quad: np.ndarray, search: float, samples: int) -> np.ndarray:
    """Signed outward distance (pixels) of the strongest colour step from each side of `quad` (TL, TR,
    BR, BL), per profile with a step of at least 6 grey levels per pixel inside the photo: (M,)."""
    from fcnlib import postprocess

    cfg = postprocess.RefineSettings(search=search, samples=samples, prior=1e6)
    img = np.ascontiguousarray(img if img.ndim == 3 else img[..., None])
    centre = quad.mean(axis=0)
    out = []
    for s in range(4):
        p0, p1 = quad[s], quad[(s + 1) % 4]
        length = float(np.hypot(*(p1 - p0)))
        u = (p1 - p0) / max(length, 1e-9)
        outward = np.array([u[1], -u[0]])
        if np.dot(outward, (p0 + p1) / 2 - centre) < 0:
            outward = -outward
        _, off, ok = postprocess._edge_offsets(img, p0, u, outward, length, cfg)
        out.append(off[ok])
    return np.concatenate(out)


def summarise(per_photo: list[np.ndarray]) -> tuple[float, float, float, int]:
    """(median over photos of the median |offset|, median of the median signed offset, mean share of
    profiles within 1.5 px, photos)."""
    per_photo = [o for o in per_photo if len(o)]
    return (float(np.median([np.median(np.abs(o)) for o in per_photo])),
            float(np.median([np.median(o) for o in per_photo])),
            float(np.mean([np.mean(np.abs(o) <= 1.5) for o in per_photo])), len(per_photo))


def outlines_real(folder: Path, predictor, name: str):
    """(photo, {outline name: quad}) for every receipt photo of a `../shared/data/receipts`-style folder."""
    from PIL import Image

    from fcnlib import data

    for path in sorted((folder / "images").glob("*.jpg")):
        img = np.asarray(Image.open(path).convert("RGB"))
        annotated = data.read_corners(folder / "corners" / f"{path.stem}.txt")  # TL, TR, BR, BL
        yield img, {"annotated (hand-clicked)": annotated, **model_outlines(img, predictor, name)}


def outlines_synthetic(n: int, seed: int, work: Path, predictor, name: str):
    from PIL import Image

    from fcnlib import data, synth

    folder = work / f"synth_receipts_s{seed}_n{n}"
    if not (folder / "pairs.txt").exists():
        synth.generate(folder, n=n, seed=seed, negatives=0.0, documents=0.0, progress=False)
    for i in range(n):
        name = f"synth_{i:05d}"
        true = data.read_corners(folder / "corners" / f"{name}.json") - 0.5  # pixel edges -> centres
        img = np.asarray(Image.open(folder / "original" / f"{name}.jpg").convert("RGB"))
        yield img, {"true (generator)": true, **model_outlines(img, predictor, name)}


def model_outlines(img, predictor, name: str) -> dict:
    """The predictor's coarse and refined outlines of `img` ({} when it finds none), named after `name`."""
    from fcnlib import postprocess

    (prob, placement), = predictor.model_outputs([img])
    found = predictor.extract_from(prob, placement, min_score=0.0)
    if found.corners is None:
        return {}
    cell = max(img.shape[1] / placement.width, img.shape[0] / placement.height)
    return {f"`{name}` model, coarse": found.corners,
            f"`{name}` model, refined": postprocess.refine_in_photo(img, found.corners, cell)}


def table(title: str, cases, search: float, samples: int) -> list[str]:
    offsets: dict[str, list[np.ndarray]] = {}
    for img, quads in cases:
        for name, quad in quads.items():
            offsets.setdefault(name, []).append(step_offsets(img, np.asarray(quad, float), search, samples))
    lines = [f"### {title}", "", "| outline | photos | strongest step from the side, median of |distance| (px) | "
             "median signed distance (px, outward +) | profiles with the step within 1.5 px |", "| --- | --- | --- | --- | --- |"]
    for name, per_photo in offsets.items():
        med_abs, med_signed, within, n = summarise(per_photo)
        lines.append(f"| {name} | {n} | {med_abs:.2f} | {med_signed:+.2f} | {within:.1%} |")
        print(lines[-1], flush=True)
    return lines + [""]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", default="../shared/data/receipts", help="folder with images/ and corners/")
    ap.add_argument("--synthetic", type=int, default=150, help="synthetic receipts (seed --seed), 0: none")
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--search", type=float, default=8.0, help="half-width of each profile, pixels")
    ap.add_argument("--samples", type=int, default=48, help="profiles per side")
    ap.add_argument("--work", default="data/corners")
    ap.add_argument("--preset", default=None, help="the shipped model whose outlines are checked (default: the default preset)")
    ap.add_argument("-o", "--output", default=None, help="append the tables to this Markdown file")
    args = ap.parse_args(argv)

    from fcnlib import fileio
    from fcnlib import presets
    from fcnlib.predict import Predictor

    name = args.preset or presets.DEFAULT_PRESET
    predictor = Predictor.load(name)
    lines = [f"## Where the colour step lies relative to each outline, {time.strftime('%Y-%m-%d')}", "",
             f"`python experiments/corners/outline_contrast.py --preset {name} --synthetic {args.synthetic} --seed {args.seed} "
             f"--search {args.search} --samples {args.samples}`. Profiles of +-{args.search:g} px across each side, "
             "the strongest colour step in each (flat prior; steps under 6 grey levels per pixel are not counted).", ""]
    if args.synthetic:
        work = Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
        lines += table(f"Synthetic receipts, seed {args.seed} (exact corners)",
                       outlines_synthetic(args.synthetic, args.seed, work, predictor, name), args.search, args.samples)
    real = Path(args.real)
    if (real / "corners").is_dir():
        lines += table(f"Real receipts ({real})", outlines_real(real, predictor, name), args.search, args.samples)
    else:
        print(f"{real}: no corners/ folder, real photos skipped")
    fileio.report_section(lines, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
