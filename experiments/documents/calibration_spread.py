"""How much the calibrated min_score moves with the number of empty photos it is calibrated on.

The landscape procedure's seeds calibrated min_score (1% cap on false documents, `fcn calibrate
--max-false-rate 0.01`) at 0.588, 0.653 and 0.760 on 449 empty photos, and their false documents on 400
empty scenes ran from 3 to 13. This separates the calibration's own sampling spread from the networks':
with one model (default: the shipped `document` preset), it scores the validation photos of the landscape
split plus a pool of empty synthetic scenes (`--landscape 0.3`; seed 108 by default, on which nothing was
trained or calibrated until the `document` preset's "confident" min_score was calibrated on it: for that
preset use `--pool-seed 109`), then calibrates on bootstrap resamples of N empty photos (with the validation documents) and
reports the spread of min_score and of the share of the whole pool at or above it. Synthetic data only;
nothing is chosen here.

    python experiments/documents/calibration_spread.py [--preset document] [--pool 2000] [--sizes 449 2049]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="document")
    ap.add_argument("--val", default="data/synth_land/val.txt", help="validation pairs (landscape.sh's split)")
    ap.add_argument("--pool", type=int, default=2000, help="empty scenes in the pool")
    ap.add_argument("--pool-seed", type=int, default=108, help="the pool's generator seed")
    ap.add_argument("--sizes", type=int, nargs="+", default=[449, 2049], help="empty photos per calibration")
    ap.add_argument("--resamples", type=int, default=300)
    ap.add_argument("--cap", type=float, default=0.01)
    ap.add_argument("--work", default="data/calibration-spread")
    ap.add_argument("-o", "--output", default=None, help="append the table to this Markdown file")
    args = ap.parse_args(argv)

    from fcnlib import data, fileio, synth
    from fcnlib.evaluate import choose_min_score, extraction_scores
    from fcnlib.predict import Predictor

    pool_dir = Path(args.work) / f"empty_s{args.pool_seed}_n{args.pool}"
    if not (pool_dir / "pairs.txt").exists():
        synth.generate(pool_dir, n=args.pool, seed=args.pool_seed, negatives=1.0, landscape=0.3, progress=False)
    predictor = Predictor.load(args.preset)
    t = time.perf_counter()
    val_scores, val_has = (np.array(v) for v in extraction_scores(predictor, data.read_pairs(args.val)))
    pool_scores = np.array(extraction_scores(predictor, data.read_pairs(pool_dir / "pairs.txt"))[0])
    print(f"scored {len(val_scores)} + {len(pool_scores)} photos in {time.perf_counter() - t:.0f} s", flush=True)
    docs = val_scores[val_has]
    empties = np.concatenate([val_scores[~val_has], pool_scores])
    rng = np.random.default_rng(0)
    lines = [f"## How far the calibrated min_score moves with the number of empty photos, {time.strftime('%Y-%m-%d')}", "",
             f"`python experiments/documents/calibration_spread.py --preset {args.preset} --pool {args.pool} --pool-seed {args.pool_seed} --sizes "
             f"{' '.join(map(str, args.sizes))}`: one model (`{args.preset}`), its extraction scores on the {len(docs)} "
             f"documents of `{args.val}` and on {len(empties)} empty photos (that split's {int((~val_has).sum())} and "
             f"{args.pool} synthetic scenes, seed {args.pool_seed}, `--landscape 0.3`), scored by the model's score method "
             f"(`{predictor.spec.score_method}`). Each row calibrates "
             f"(`evaluate.choose_min_score`, cap {args.cap:.0%}) on {args.resamples} bootstrap resamples of N empty photos "
             "with all the documents; \"pool at or above\" is the share of all the empty photos the resample's "
             "min_score lets through. Synthetic data only; nothing was chosen with it.", "",
             "| empty photos N | min_score median | 5th-95th percentile | pool at or above it, median | 5th-95th percentile | documents below it, median |",
             "| --- | --- | --- | --- | --- | --- |"]
    for n in args.sizes:
        cuts, rates, missed = [], [], []
        for _ in range(args.resamples):
            sample = rng.choice(empties, size=n, replace=True)
            chosen = choose_min_score(np.concatenate([docs, sample]),
                                      np.concatenate([np.ones(len(docs), bool), np.zeros(n, bool)]), args.cap)
            cuts.append(chosen["min_score"])
            rates.append(float((empties >= chosen["min_score"]).mean()))
            missed.append(int((docs < chosen["min_score"]).sum()))
        c, r = np.array(cuts), np.array(rates)
        lines.append(f"| {n} | {np.median(c):.3f} | {np.percentile(c, 5):.3f}-{np.percentile(c, 95):.3f} | "
                     f"{np.median(r):.2%} | {np.percentile(r, 5):.2%}-{np.percentile(r, 95):.2%} | {int(np.median(missed))} of {len(docs)} |")
        print(lines[-1], flush=True)
    own = predictor.min_score
    if own is not None:
        lines += ["", f"At the `{args.preset}` model's own min_score, {own:.4f}: {(empties >= own).mean():.2%} of the "
                  f"{len(empties)} empty photos at or above it, {int((docs < own).sum())} of {len(docs)} documents below it."]
        print(lines[-1], flush=True)
    fileio.report_section(lines, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
