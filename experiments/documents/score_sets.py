"""Versions of the document model side by side on the ship-rule sets of the earlier candidates (reporting).

Each photo of the seven synthetic sets of `landscape.sh` (portrait and landscape pages and receipts,
receipts of the receipt model's generator, 400 empty scenes portrait and 400 landscape) is run through
each model version, which answers by its own file's rule (`score_method` and `min_score`); a photo with
paper that is not answered counts IoU 0. A version is a preset name, a `.keras` path, or `git:REV:PATH`,
a model file as it was at commit REV. Versions with the same weights give the same masks, so the score
change of 2026-12-02 (same weights, "fit" under 0.6525 before, "confident" under 0.5856 after) is the
default comparison; the seed change that followed is

    python experiments/documents/score_sets.py --versions seed0=git:97d710d:fcnlib/weights/document_unet.keras seed2=document

    python experiments/documents/score_sets.py [--versions NAME=VERSION ...] [--sets data/landscape-rule/sets] [-o FILE]
"""
from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import numpy as np

SETS = ("pages", "pages_landscape", "receipts", "receipts_landscape", "receipts_old", "empty", "empty_landscape")
WEIGHTS = "fcnlib/weights/document_unet.keras"
# the score change: the preset file just before it, and the first commit holding it under the field's final name
DEFAULT_VERSIONS = (f"fit=git:0c192df~1:{WEIGHTS}", f"confident=git:97d710d:{WEIGHTS}")


def load_version(version: str, work: Path):
    """A `Predictor` for a preset name, a `.keras` path or `git:REV:PATH` (written under `work` first)."""
    from fcnlib.predict import Predictor

    if version.startswith("git:"):
        _, rev, path = version.split(":", 2)
        blob = subprocess.run(["git", "show", f"{rev}:{path}"], check=True, capture_output=True).stdout
        target = work / f"{rev.replace('~', '_').replace('/', '_')}_{Path(path).name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob)
        version = str(target)
    return Predictor.load(version)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--versions", nargs="+", default=list(DEFAULT_VERSIONS), metavar="NAME=VERSION")
    ap.add_argument("--sets", default="data/landscape-rule/sets")
    ap.add_argument("--work", default="data/score-sets")
    ap.add_argument("-o", "--output", default=None)
    args = ap.parse_args(argv)

    from fcnlib import data, fileio, metrics

    versions = dict(v.split("=", 1) for v in args.versions)
    predictors = {name: load_version(v, Path(args.work)) for name, v in versions.items()}
    t = time.perf_counter()
    rows = []
    for name in SETS:
        pairs = Path(args.sets) / name / "pairs.txt"
        if not pairs.is_file():
            raise SystemExit(f"score_sets: {pairs} is missing: run experiments/documents/landscape.sh first")
        cells = []
        for predictor in predictors.values():
            iou, has, answered = [], [], []
            for photo_path, mask_path in data.read_pairs(pairs):
                (small, placement), = predictor.model_outputs([data.read_image(photo_path)])
                truth = data.read_mask(mask_path) > 0
                found = predictor.extract_from(small, placement)  # the file's own score method and min_score
                answered.append(found.corners is not None)
                iou.append(metrics.mask_iou(truth, found.mask if found.corners is not None else np.zeros_like(truth)))
                has.append(bool(truth.any()))
            iou, has, answered = np.array(iou), np.array(has), np.array(answered)
            cells.append(f"{iou[has].mean():.3f} / {int((has & ~answered).sum())} / {int((~has & answered).sum())}"
                         if has.any() else f"- / - / {int(answered.sum())}")
        rows.append(f"| {name} | {len(has)} ({int(has.sum())} with paper) | " + " | ".join(cells) + " |")
    described = "; ".join(f"{n}: `{versions[n]}`, score \"{p.spec.score_method}\" under {p.min_score}"
                          for n, p in predictors.items())
    lines = [f"## Document model versions on the earlier rule sets (reporting), {time.strftime('%Y-%m-%d')}", "",
             f"`python experiments/documents/score_sets.py --versions {' '.join(args.versions)}` "
             f"({time.perf_counter() - t:.0f} s). {described}. The synthetic sets of `landscape.sh` (`{args.sets}`). "
             "Each cell: mean mask IoU over the photos with paper (one not answered counts 0) / photos with paper "
             "not answered / empty photos answered. Reporting only.", "",
             "| set | photos | " + " | ".join(predictors) + " |", "| --- | --- |" + " --- |" * len(predictors), *rows]
    fileio.report_section(lines, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
