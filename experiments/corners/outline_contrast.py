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
        stem = f"synth_{i:05d}"
        true = data.read_corners(folder / "corners" / f"{stem}.json") - 0.5  # pixel edges -> centres
        img = np.asarray(Image.open(folder / "original" / f"{stem}.jpg").convert("RGB"))
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


def _outward_normals(quad: np.ndarray) -> np.ndarray:
    """(4, 2) unit normals of the sides quad[s] -> quad[s + 1], pointing away from the quad's centre."""
    edges = np.roll(quad, -1, axis=0) - quad
    normals = np.stack([edges[:, 1], -edges[:, 0]], axis=1) / np.hypot(*edges.T)[:, None]
    mids = (quad + np.roll(quad, -1, axis=0)) / 2
    return normals * np.sign(((mids - quad.mean(axis=0)) * normals).sum(axis=1))[:, None]


def side_offsets(reference: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How `quad` departs from `reference` (both (4, 2)), its corners matched to the reference's by the
    cyclic shift closest overall: (corner distances (4,), signed offsets of its sides from the reference's
    sides at the corners (8,: each corner's error along the outward normals of the two reference sides
    meeting there), signed offsets at the middles of the sides (4,)), in pixels, outward +."""
    shifts = [np.roll(quad, -k, axis=0) for k in range(4)]
    quad = min(shifts, key=lambda q: float(np.hypot(*(q - reference).T).sum()))
    normals = _outward_normals(reference)
    err = quad - reference
    at_corners = np.concatenate([(err * normals).sum(axis=1), (err * np.roll(normals, 1, axis=0)).sum(axis=1)])
    mids = (quad + np.roll(quad, -1, axis=0)) / 2 - (reference + np.roll(reference, -1, axis=0)) / 2
    return np.hypot(*err.T), at_corners, (mids * normals).sum(axis=1)


def parts_table(title: str, cases) -> list[str]:
    """Corner error split into the sides' offsets at the corners and at their middles, per model outline,
    against the first outline of each case (the annotated or the true one)."""
    rows: dict[str, list] = {}
    for _, quads in cases:
        (_, reference), *others = quads.items()
        for name, quad in others:
            rows.setdefault(name, []).append(side_offsets(np.asarray(reference, float), np.asarray(quad, float)))
    lines = [f"### {title}: corner error split along the sides", "",
             "| outline | photos | corner distance, median (px) | sides' offset at the corners, median abs (px) | "
             "at their middles, median abs (px) | mean signed offset (px, outward +) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, parts in rows.items():
        dist, corners, mids = (np.concatenate([p[k] for p in parts]) for k in range(3))
        # the mean signed offset is the same at the corners and at the middles (both are linear in the errors)
        lines.append(f"| {name} | {len(parts)} | {np.median(dist):.2f} | {np.median(np.abs(corners)):.2f} | "
                     f"{np.median(np.abs(mids)):.2f} | {mids.mean():+.2f} |")
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
    ap.add_argument("--parts", action="store_true",
                    help="instead of the colour steps: the corner error split into the sides' offsets at the "
                         "corners and at their middles, against the annotated (or true) corners")
    ap.add_argument("-o", "--output", default=None, help="append the tables to this Markdown file")
    args = ap.parse_args(argv)

    from fcnlib import fileio
    from fcnlib import presets
    from fcnlib.predict import Predictor

    name = args.preset or presets.DEFAULT_PRESET
    predictor = Predictor.load(name)
    command = (f"`python experiments/corners/outline_contrast.py --preset {name} --synthetic {args.synthetic} "
               f"--seed {args.seed}" + (" --parts`" if args.parts else f" --search {args.search} --samples {args.samples}`"))
    if args.parts:
        lines = [f"## Corner error split along the sides, {time.strftime('%Y-%m-%d')}", "",
                 f"{command}. Each model corner (matched to the reference's by the closest cyclic order) is "
                 "compared with the reference corner: its distance, and its error along the outward normals of "
                 "the two reference sides that meet there (how far each side sits out or in at its ends); the "
                 "offset of the middle of each model side along the reference side's normal. Reporting only.", ""]
    else:
        lines = [f"## Where the colour step lies relative to each outline, {time.strftime('%Y-%m-%d')}", "",
                 f"{command}. Profiles of +-{args.search:g} px across each side, the strongest colour step in each "
                 "(flat prior; steps under 6 grey levels per pixel are not counted).", ""]
    if args.synthetic:
        work = Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
        cases = outlines_synthetic(args.synthetic, args.seed, work, predictor, name)
        title = f"Synthetic receipts, seed {args.seed} (exact corners)"
        lines += parts_table(title, cases) if args.parts else table(title, cases, args.search, args.samples)
    real = Path(args.real)
    if (real / "corners").is_dir():
        cases = outlines_real(real, predictor, name)
        title = f"Real receipts ({real})"
        lines += parts_table(title, cases) if args.parts else table(title, cases, args.search, args.samples)
    else:
        print(f"{real}: no corners/ folder, real photos skipped")
    fileio.report_section(lines, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
